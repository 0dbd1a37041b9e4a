/* Internal to the engine: the tape entry and the op table interface. */
#ifndef NEUROP_TAPE_H
#define NEUROP_TAPE_H
#include "engine/tensor.h"

struct Node {
    int op; /* index into OPS[] */
    Tensor *out;
    Tensor *in[3]; /* inputs (in[k] may be NULL); concat uses ins/nin */
    Tensor **ins;
    int nin;
    /* The arguments, set by the op's constructor and never changed (tape_apply checks ia and fa): */
    int ia[8];      /* integer arguments (axis, transposes, sizes...) */
    float fa[2];    /* float arguments (scale, eps) */
    const int *idx; /* index argument (gather/scatter/labels/segments), arena copy */
    /* The state forward saves for backward: */
    float *aux;     /* values or an op's own struct (thread count, partial sums, ...), in the arena */
    int grad_ready; /* out->grad holds a value: zeroed before its first writer, or written by one that assigns */
    unsigned fresh; /* backward only: bit k set = input k's grad buffer is this op's to assign (=),
                       not to add to: nothing was written there yet and the op writes all of it */
};

typedef struct OpDef {
    const char *name;
    void (*shape)(const Node *n, int *ndim, int *shape); /* output shape; validates inputs */
    void (*forward)(Graph *g, Node *n);
    void (*backward)(Node *n); /* accumulates into in[k]->grad */
} OpDef;

extern const OpDef OPS[];
/* 1 when n's backward writes every element of input k's gradient exactly once, so that it can
 * assign instead of adding when it is the first writer (Node.fresh). */
int op_assigns(const Node *n, int k);
/* How many ReLUs n applies (0 where it keeps no pattern); with signs (that many bytes), whether
 * each one's input is > 0. */
long op_relu_signs(const Node *n, unsigned char *signs);
/* Runs op n->op: computes the output shape, allocates the output (with a grad buffer when any
 * input has one and the graph records; graph_backward zeroes it just before its first writer),
 * runs forward and records n on the tape. */
Tensor *tape_apply(Graph *g, Node *n);

#endif
