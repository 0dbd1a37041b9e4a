/* Shared by run.c and trainer.c. */
#ifndef NEUROP_RUN_INTERNAL_H
#define NEUROP_RUN_INTERNAL_H
#include "train/train.h"

/* Flat buffers for a batch of B intents with N examples each. */
typedef struct BatchBuf {
    int B, N;
    float *feat, *x, *y;
    int *itok, *tok, *lab;
    Examples *ex; /* per intent, N examples each */
} BatchBuf;
void batch_alloc(Run *r, int B, int N, BatchBuf *bb);
void batch_free(BatchBuf *bb);
void batch_pack(Run *r, BatchBuf *bb, const Intent *us);
Tensor *batch_forward(Graph *g, Run *r, const BatchBuf *bb);
Tensor *batch_loss(Graph *g, Run *r, const BatchBuf *bb, Tensor *pred);

#endif
