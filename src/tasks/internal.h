/* Shared by the files of src/tasks/ only; the public API is task.h. */
#ifndef NEUROP_TASKS_INTERNAL_H
#define NEUROP_TASKS_INTERNAL_H
#include "tasks/task.h"

/* Input-content hashing for the splits: a fixed function of the input alone, so an input lands
 * in the same split in every run. The salt keeps the three tasks' assignments unrelated. */
uint64_t task_hash_mix(uint64_t h, uint64_t v);
uint64_t task_hash_ints(uint64_t salt, const int *v, int n);
/* 80/10/10: buckets 0..7 train, 8 val, 9 test. */
Split split_from_hash(uint64_t h);

/* SUMFIRST-n (sumfirst.c): one example into x[10], *y. */
void sumfirst_draw(Intent u, Split s, Rng *r, float *x, float *y);
Split sumfirst_split_of(const float *x);

/* ADDMOD-p (addmod.c): one example into tok[3], lab[1]. */
void addmod_draw(Intent u, Split s, Rng *r, int *tok, int *lab);
Split addmod_split_of(int p, int a, int b);
long addmod_train_size(int p);
int addmod_eval_set(const Task *t, Intent u, Split s, int max_n, uint64_t seed, Examples *ex);

/* 1D-ARC (arc1d.c): one generated pair; returns the row length (<= ARC_MAX_LEN). */
int arc_generate(Intent u, Rng *r, int *in, int *out);
void arc_draw(const Task *t, Intent u, Split s, Rng *r, int *tok, int *lab);
/* arc-demo (arcdemo.c): rows i0..i0+n-1 of ex from new tasks of family u in split s: n == 1 a new
 * task's test pair; else the pairs of one new task in order, cycling. Each row gets its task's
 * examples as demonstrations. */
void arcdemo_draw(const Task *t, Intent u, Split s, Rng *r, Examples *ex, int i0, int n);
Split arcdemo_split_of(const Task *t, const Examples *ex, int i);
int arcdemo_load_excluded(Task *t, Err *e); /* every real input row, from the shipped files */
int arcdemo_intent_parse(const Task *t, const char *s, const char *raw, Intent *u, Err *e);
/* The per-task values of a 1D-ARC demonstration task (arcdemo.c), shared by its four rows. */
typedef struct ArcTaskVals {
    int marker; /* 1d_move_dp, 1d_move_2p_dp, 1d_scale_dp: the marker's colour, 1..9 */
    int cin;    /* 1d_recolor_*: the colour of every input bar */
    int col[3]; /* 1d_recolor_cmp: {longest}; _cnt: {size 1, 2, 3}; _oe: {odd, even} */
    int maxlen; /* 1d_recolor_cmp: this row's longest bar */
} ArcTaskVals;
/* One row of demonstration family fam (ARCD_*, arcdemo.h) into in/out (ARC_DEMO_MAX_LEN cells
 * each, background beyond the row); returns the row length. The seven families of the mixed task
 * come from arc_generate unchanged. */
int arc_generate_demo_row(int fam, const ArcTaskVals *v, Rng *r, int *in, int *out);
Split arc_split_of(const int *tok, int seq_len);

/* A task file (taskfile.c): task_get loads it into t (t->file owns everything). */
int taskfile_load(const char *path, Task *t, Err *e);
void taskfile_free(TaskFile *f);
void taskfile_features(const Task *t, Intent u, float *feat);
long taskfile_train_size(const Task *t, Intent u);
int taskfile_intent_parse(const Task *t, const char *text, Intent *u, Err *e);
void taskfile_intent_format(const Task *t, Intent u, char *buf, size_t len);
void taskfile_draw(const Task *t, Intent u, Split s, Rng *r, Examples *ex, int i);
int taskfile_eval_set(const Task *t, Intent u, Split s, int max_n, uint64_t seed, Examples *ex);
Split taskfile_split_of(const Task *t, Intent u, const Examples *ex, int i);
float taskfile_tolerance(const Task *t); /* |pred - y| allowed per output (regression) */

#endif
