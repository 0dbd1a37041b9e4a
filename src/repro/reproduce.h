/* neurop reproduce: every method on every task over S seeds, trained, evaluated and summarized.
 *
 * The plan is the product tasks × methods × seeds, one run folder each: OUT/runs/TASK-METHOD-sSEED,
 * then the runs of two studies on SUMFIRST (OUT/runs/scale-..., OUT/runs/ablate-...): the target's
 * width ×1..×8 for Meta-gMLP and Meta-GNN, and Meta-GNN with one of its parts changed.
 * A run is trained with repro_config (the defaults table, scaled down in quick and tiny modes),
 * then its best checkpoint (chosen on IID validation) is evaluated on the IID test split, every
 * OOD intent and, for arc, the real 1D-ARC files; the numbers go to OUT/runs/NAME/eval.json.
 *
 * Resuming is by files: a run whose eval.json exists is done and skipped; one with
 * last.safetensors continues training from it; any other starts afresh. A run folder made with a
 * different configuration (another mode, a changed defaults table) is refused, never mixed in.
 *
 * The report is built from the eval.json and metrics.csv files alone, so it is the same whether
 * the runs were made in one invocation or many: OUT/results.md, OUT/results.json and, when
 * gnuplot is installed, OUT/plots/ (PNG files with their gnuplot scripts and data). Every file
 * is written atomically. docs/reproduce.md describes the modes and the files. */
#ifndef NEUROP_REPRODUCE_H
#define NEUROP_REPRODUCE_H
#include "train/config.h"

typedef enum { REPRO_FULL, REPRO_QUICK, REPRO_TINY } ReproMode;

#define REPRO_N_TASKS 3   /* sumfirst, addmod, arc: bit i of a task mask */
#define REPRO_N_STUDIES 2 /* scale, ablate: bit i of a study mask */

typedef struct ReproOptions {
    ReproMode mode;
    int seeds;            /* seeds 0..seeds-1; 0: the mode's default (full 10, quick 3, tiny 1) */
    unsigned tasks;       /* bit mask over sumfirst, addmod, arc; 0: all */
    unsigned methods;     /* bit mask over MethodKind; 0: all */
    unsigned studies;     /* bit mask over scale, ablate; 0: both (tasks and methods do not filter them) */
    int no_studies;       /* the main table only */
    const char *out;      /* output folder; NULL: "results" */
    const char *real_dir; /* real 1D-ARC files; NULL: data_dir("1d-arc") (src/tasks/task.h) */
    int no_real;          /* skip the real 1D-ARC test */
    int no_plots;         /* skip gnuplot */
    int jobs;             /* runs trained at once (worker processes); 0 or 1: in this process */
    int verbose;          /* 0: silent; 1: one line per finished run (plus the trainer's live
                             line on a terminal); 2: also the trainer's log lines */
    const char *command;  /* the command line, recorded in the report (may be NULL) */
} ReproOptions;

typedef struct ReproSummary {
    int total;       /* runs in the plan */
    int skipped;     /* already evaluated before this invocation */
    int trained;     /* trained from scratch in this invocation */
    int resumed;     /* continued from last.safetensors */
    int failed;      /* stopped with an error (recorded in their eval.json) */
    int interrupted; /* 1 when Ctrl-C stopped the reproduction (the report is partial) */
    int plots;       /* PNG files written */
    double wall_seconds;
} ReproSummary;

const char *repro_mode_name(ReproMode m); /* "full" "quick" "tiny" */
/* Comma-separated names ("sumfirst,arc", "mlp,gnn") to a bit mask; "all" is every one. */
int repro_parse_tasks(const char *csv, unsigned *mask, Err *e);
int repro_parse_methods(const char *csv, unsigned *mask, Err *e);
int repro_parse_studies(const char *csv, unsigned *mask, Err *e); /* "scale,ablate" */
/* The configuration of one run of the plan: config_defaults(task, method) with the seed, reduced
 * in quick and tiny modes (docs/reproduce.md lists what each changes). */
int repro_config(const char *task, MethodKind m, ReproMode mode, unsigned long seed, TrainConfig *c, Err *e);

/* Runs the plan and writes the report. Returns 0 (also when some runs failed: s->failed says
 * so, the report lists them), 1 when interrupted by Ctrl-C (the report is written, marked
 * partial), -1 with a message in e when it could not go on (an unwritable folder, a run folder
 * made with a different configuration). */
int reproduce(const ReproOptions *o, ReproSummary *s, Err *e);

#endif
