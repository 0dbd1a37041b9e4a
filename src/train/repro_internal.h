/* Shared by reproduce.c (the plan and its bookkeeping) and repro_report.c (the report). */
#ifndef NEUROP_REPRO_INTERNAL_H
#define NEUROP_REPRO_INTERNAL_H
#include "train/reproduce.h"
#include "train/train.h"
#include <cJSON.h>

extern const char *const rp_tasks[REPRO_N_TASKS];        /* "sumfirst" "addmod" "arc" */
extern const char *const rp_task_titles[REPRO_N_TASKS];  /* as the paper names them */
extern const double rp_paper_ood[REPRO_N_TASKS][METHOD_COUNT][2];   /* spec §2: low, high */

typedef struct PlanItem {
    int task;                 /* index into rp_tasks */
    MethodKind method;
    unsigned long seed;
    char name[64];            /* TASK-METHOD-sSEED */
    char dir[1024];
    TrainConfig cfg;
    char cfgtext[1024];
} PlanItem;

typedef struct Ctx {
    const ReproOptions *o;
    char out[900];
    const char *real_dir;     /* NULL: no real 1D-ARC test */
    char real_note[256];      /* why not, for the report */
    int seeds;
    PlanItem *items;
    int n;
    int verbose, tty;
} Ctx;

/* A growing text buffer. */
typedef struct Buf { char *s; size_t n, cap; } Buf;
void rp_printf(Buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

double rp_now(void);
int    rp_file_exists(const char *path);
int    rp_mkdir_p(const char *dir, Err *e);
int    rp_write_text(const char *path, const char *text, Err *e);   /* atomic */
int    rp_write_json(const char *path, const cJSON *j, Err *e);     /* atomic */
cJSON *rp_read_json(const char *path, Err *e);
double rp_num(const cJSON *o, const char *key, double dflt);
const char *rp_str(const cJSON *o, const char *key);
void   rp_dur(double s, char *buf, size_t n);                        /* 42s, 3m05s, 1h02m */
void   rp_path(char *buf, size_t n, const PlanItem *it, const char *file);
void   rp_strip(char *s);                                            /* trailing newline and spaces */
/* Reads every run folder of the plan back and writes results.md, results.json and the plots. */
int    rp_report(const Ctx *x, ReproSummary *s, double t0, Err *e);

#endif
