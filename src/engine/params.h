/* All trainable parameters of a model in one contiguous buffer with named views (llm.c style),
 * with matching buffers for gradients and the two AdamW moments. Declare every view with
 * params_add, then params_finalize allocates the four buffers (zeroed) at once. */
#ifndef NEUROP_PARAMS_H
#define NEUROP_PARAMS_H
#include "engine/rng.h"
#include "engine/tensor.h"

typedef struct ParamView {
    char name[96];
    int ndim, shape[NT_MAXDIM];
    long off, numel;
    int decay; /* AdamW weight decay applies: views named *.weight (matrices), not
                  biases, gains or output scales */
} ParamView;

typedef struct ParamSet {
    float *data, *grad, *m, *v; /* n floats each */
    long n;
    ParamView *views;
    int count, cap;
    int finalized;
} ParamSet;

void params_init(ParamSet *ps);
/* Declares a view; returns its index. decay defaults to: the name ends in ".weight". */
int params_add(ParamSet *ps, const char *name, int ndim, const int *shape);
void params_finalize(ParamSet *ps);
void params_free(ParamSet *ps);
int params_find(const ParamSet *ps, const char *name); /* -1 if absent */
float *params_data(const ParamSet *ps, int i);
/* A Tensor over view i whose grad points into ps->grad (so backward accumulates there). */
Tensor *params_tensor(Graph *g, const ParamSet *ps, int i);
void params_zero_grad(ParamSet *ps);
/* view i ~ N(0, std²) from r; r NULL leaves it as it is (zero), for a checkpoint to fill */
void params_fill_normal(ParamSet *ps, int i, Rng *r, float std);
void params_fill(ParamSet *ps, int i, float value);

#endif
