/* Shared by run.c and trainer.c. */
#ifndef NEUROP_RUN_INTERNAL_H
#define NEUROP_RUN_INTERNAL_H
#include "train/train.h"

/* run_init for a run whose every parameter a checkpoint is about to replace (load_checkpoint): no
 * parameter is drawn and the θ head is not calibrated. to_train: the run will train on (resume);
 * otherwise it is only scored or solved, and its task is task_get_to_score's. */
int run_init_to_load(Run *r, const TrainConfig *c, int to_train, Err *e);

/* Flat buffers for a batch of B intents with N examples each. */
typedef struct BatchBuf {
    int B, N;
    float *feat, *x, *y;
    int *itok, *tok, *lab;
    int *demo;    /* demonstration tasks: [B, demo_pairs * seq_len], each program's examples */
    Examples *ex; /* per intent, N examples each */
} BatchBuf;
void batch_alloc(Run *r, int B, int N, BatchBuf *bb);
void batch_free(BatchBuf *bb);
void batch_pack(Run *r, BatchBuf *bb, const Intent *us);
Tensor *batch_forward(Graph *g, Run *r, const BatchBuf *bb, Tensor **theta); /* theta: NULL, or gets θ */
Tensor *batch_loss(Graph *g, Run *r, const BatchBuf *bb, Tensor *pred);
/* theta_l2/2 × max(0, ms − theta_ms), ms a program's mean square over θ's weight-matrix entries
 * (embeddings included; biases and gains excluded), averaged over the programs: [1]. */
Tensor *theta_penalty(Graph *g, const Run *r, Tensor *theta, float theta_l2, float theta_ms);
/* The config's interp pair for this step: neighbouring trained intents a < b (hold's held ones are
 * not trained) and s in [0, 1), drawn from a fork of r->data_rng (left unchanged). */
void interp_draw(const Run *r, double *a, double *b, double *s);
/* interp × mean square of θ(x) − ((1 − s)·θ(a) + s·θ(b)), x = a + s(b − a), over all of θ: [1]. */
Tensor *interp_penalty(Graph *g, Run *r, double a, double b, double s);
/* The training objective of one batch: batch_loss, plus theta_penalty and interp_penalty when the
 * config asks; pred (NULL, or) gets the batch's predictions. */
Tensor *batch_train_loss(Graph *g, Run *r, const BatchBuf *bb, Tensor **pred);

/* focus.c: with cfg.focus > 0, a share of the steps drawn where the training batches still fail. */
void focus_alloc(Run *r); /* r->focus_err, every intent at 1; nothing when focus is 0 */
/* A step's intent, as an index into r->task.train: ∝ the batches' error with probability focus,
 * else task_draw_intent(cdf). */
int focus_draw(const Run *r, const double *cdf, Rng *rng);
/* After a step's forward: each drawn intent's error average takes in the exact match of its rows
 * in pred (this rank's bb->B intents, from global index b0; drawn: all cfg.B intents' indices). */
void focus_update(Run *r, const BatchBuf *bb, const Tensor *pred, const int *drawn, int b0);
/* focus_err as checkpoint metadata (malloc'd; NULL when focus is off) and back. */
char *focus_format(const Run *r);
int focus_parse(Run *r, const char *text, const char *path, Err *e);

#endif
