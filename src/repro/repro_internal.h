/* Shared by reproduce.c (the plan and its bookkeeping), repro_report.c (the report) and
 * repro_studies.c (the scaling study and the Meta-GNN ablation: their runs and their report). */
#ifndef NEUROP_REPRO_INTERNAL_H
#define NEUROP_REPRO_INTERNAL_H
#include "io/gnuplot.h"
#include "repro/reproduce.h"
#include "train/train.h"
#include <cJSON.h>

extern const char *const rp_tasks[REPRO_N_TASKS];                 /* "sumfirst" "addmod" "arc" */
extern const char *const rp_task_titles[REPRO_N_TASKS];           /* as the paper names them */
extern const double rp_paper_ood[REPRO_N_TASKS][METHOD_COUNT][2]; /* the paper's: low, high */

/* What a run of the plan belongs to: the main table (tasks × methods × seeds) or a study. */
enum { RP_MAIN = 0, RP_STUDY_SCALE = 1, RP_STUDY_ABLATE = 2 };

typedef struct PlanItem {
    int task; /* index into rp_tasks */
    MethodKind method;
    unsigned long seed;
    int study;     /* RP_MAIN or RP_STUDY_* */
    int variant;   /* a study's variant (index into its table in repro_studies.c) */
    int cost_key;  /* ETA: runs of one key cost about the same (task × method, or a study variant) */
    char name[64]; /* TASK-METHOD-sSEED, scale-x4-gnn-sSEED, ablate-rounds0-sSEED */
    char dir[1024];
    TrainConfig cfg;
    char cfgtext[1024];
} PlanItem;

typedef struct Ctx {
    const ReproOptions *o;
    char out[900];
    const char *real_dir; /* NULL: no real 1D-ARC test */
    char real_note[256];  /* why not, for the report */
    int seeds;
    PlanItem *items;
    int n; /* runs: the main table's first (n_main of them), then the studies' */
    int n_main;
    int study_seeds; /* seeds of each study variant (0: no studies) */
    int verbose, tty;
} Ctx;

/* A growing text buffer. */
typedef struct Buf {
    char *s;
    size_t n, cap;
} Buf;
void rp_printf(Buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

double rp_now(void);
int rp_mkdir_p(const char *dir, Err *e);
int rp_write_text(const char *path, const char *text, Err *e); /* atomic */
cJSON *rp_read_json(const char *path, Err *e);
double rp_num(const cJSON *o, const char *key, double dflt);
const char *rp_str(const cJSON *o, const char *key);
void rp_dur(double s, char *buf, size_t n); /* 42s, 3m05s, 1h02m */
void rp_path(char *buf, size_t n, const PlanItem *it, const char *file);
/* Reads every run folder of the plan back and writes results.md, results.json and the plots. */
int rp_report(const Ctx *x, ReproSummary *s, double t0, Err *e);

/* ---- repro_report.c: pieces the studies' report shares ---- */
#define MAX_INTENTS 64
#define MAX_REAL 16
typedef struct RunResult {
    int present, ok; /* eval.json read; it has numbers */
    char error[512];
    char machine[320]; /* the machine that trained it (eval.json's; empty when not recorded) */
    double iid, ood, val, train_s, eval_s;
    double iid_pooled, ood_ordinal; /* eval.json's; the plain means when it has none (older runs) */
    double held;                    /* test exact match on the train intents held out of training */
    int n_held;                     /* how many (0: none, and iid covers every train intent) */
    long params, best_step, steps;
    int n_int;
    struct {
        char intent[32], family[16];
        int ood;
        double exact;
    } in[MAX_INTENTS];
    int n_real;
    struct {
        char family[64], intent[32];
        int ood, n;
        double exact;
    } real[MAX_REAL];
} RunResult;
void rp_load_result(const PlanItem *it, RunResult *r); /* from its eval.json */
/* Mean and sample standard deviation (0 for one value). */
typedef struct Stat {
    int n;
    double mean, std, min, max;
} Stat;
Stat rp_stat_of(const double *v, int n);
cJSON *rp_stat_json(Stat s, const double *v, const int *seeds); /* with per_seed when v */
void rp_md_stat(Buf *b, Stat s);                                /* " 0.912 ± 0.010 |" */

/* ---- repro_studies.c ---- */
/* Appends the studies' runs to the plan (after the main table's), as o->studies says. */
int rp_studies_plan(Ctx *x, Err *e);
/* The studies' results, read back from their run folders. */
typedef struct Studies Studies;
Studies *rp_studies_load(const Ctx *x);
void rp_studies_free(Studies *st);
/* study runs that have an eval.json (failed ones included) */
int rp_studies_complete(const Studies *st);
/* plots/scaling.{dat,gp}, and the PNG when run: returns PNG files made (0 or 1), -1 when a file
 * cannot be written; names a script gnuplot failed on in failed. */
int rp_studies_plot(const Ctx *x, const Studies *st, const char *plots, int run, Buf *failed, Err *e);
void rp_studies_md(const Ctx *x, const Studies *st, Buf *md);    /* the sections of results.md */
void rp_studies_json(const Ctx *x, const Studies *st, cJSON *j); /* "scaling" and "ablation" */

/* ---- repro_clock.c ---- */
/* The ADDMOD clock analysis of each generating method's best-validation ADDMOD run; figures in
 * plots/clock-METHOD/ (PNG when render; *pngs counts them). Failures are recorded, not fatal. */
typedef struct ClockSet ClockSet;
ClockSet *rp_clock_run(const Ctx *x, const char *plots, int render, int *pngs);
void rp_clock_free(ClockSet *cs);
void rp_clock_md(const ClockSet *cs, Buf *md);
void rp_clock_json(const ClockSet *cs, cJSON *j); /* "clock" */

#endif
