/* The numerical core: float32 tensors, an arena, a tape, and the ops that record on it.
 *
 * Every op takes a Graph (arena + tape), allocates its output from the arena and, when any input
 * carries a gradient buffer, records itself on the tape; graph_backward() walks the tape in
 * reverse and accumulates into every input's grad. Gradients therefore reach any tensor that has
 * a grad buffer: parameters (grad points into their ParamSet), and tensors made by other ops
 * (e.g. generated weights), which get a zeroed grad buffer automatically when they depend on one.
 *
 * Shapes are written innermost-last, as in PyTorch. Shape errors are programmer errors: they
 * abort with a message naming the op (see the shape rule of each op in ops.c). */
#ifndef NEUROP_TENSOR_H
#define NEUROP_TENSOR_H
#include "engine/err.h"
#include <stddef.h>
#include <stdint.h>

#define NT_MAXDIM 4

typedef struct Tensor {
    float *data; /* numel floats, row-major */
    float *grad; /* numel floats, or NULL: no gradient flows here */
    int ndim;
    int shape[NT_MAXDIM];
    long numel;
    int node;     /* 1 + the tape entry whose output grad buffer this grad is (or
                 is a view of); 0: none (parameters, leaves) */
    size_t owned; /* bytes of arena that data heads (tensor_new, tensor_zeros, a reshape of one):
                     what tensor_release gives back; 0 for views and wrapped memory */
} Tensor;

/* Bump allocator reset once per step. After the first step it holds one block big enough for
 * a whole step, so the hot loop does not call malloc. */
typedef struct ArenaBlock ArenaBlock;
#define ARENA_SPARES 8
typedef struct Arena {
    ArenaBlock *head;
    size_t used_total, peak;
    void *spare[ARENA_SPARES]; /* memory given back (tensor_release), until reused or the reset */
    size_t spare_bytes[ARENA_SPARES];
    int n_spare;
} Arena;
void arena_init(Arena *a, size_t initial_bytes);
void *arena_alloc(Arena *a, size_t bytes);  /* 64-byte aligned, uninitialized */
void *arena_calloc(Arena *a, size_t bytes); /* zeroed */
void arena_reset(Arena *a);                 /* frees nothing once warm; merges blocks */
/* p (bytes long, from arena_alloc) will not be read again: a later arena_reuse may hand it out. */
void arena_give_back(Arena *a, void *p, size_t bytes);
/* The smallest block given back that holds bytes and is at most twice that (taken off the list;
 * *got = its whole size, which a later give-back returns), or NULL. */
void *arena_reuse(Arena *a, size_t bytes, size_t *got);
void arena_free(Arena *a);

typedef struct Node Node;
typedef struct Graph {
    Arena *arena;
    Node *nodes;
    int n_nodes, cap_nodes; /* the tape */
    int no_grad;            /* 1: record nothing, allocate no grads (inference) */
    double flops;           /* dense-product FLOPs of the ops run so far, including
                               those their backward will do (for neurop info) */
    struct OpProfile *prof; /* NULL, or where each op's time is summed (op_profile_*) */
} Graph;
/* Seconds spent per op kind, forward and backward, and zero-filling gradient buffers (and the
 * floats zeroed): set g->prof to a zeroed OpProfile and the tape sums into it as it runs (make
 * bench --profile). */
typedef struct OpProfile {
    double fwd[64], bwd[64], zero;
    long calls[64], zeroed;
} OpProfile;
const char *op_name(int op); /* NULL past the last op */
void graph_init(Graph *g, Arena *a);
void graph_reset(Graph *g); /* clears the tape and resets the arena */
void graph_free(Graph *g);
/* Seeds d(loss)/d(loss) = 1 (loss must have numel 1) and runs the tape backward. */
void graph_backward(Graph *g, Tensor *loss);

/* ---- making tensors (arena-owned unless stated) ---- */
Tensor *tensor_new(Graph *g, int ndim, const int *shape); /* uninitialized data, no grad */
/* In a no-grad graph: t's data will not be read again, and a later tensor of about its size takes
 * its memory instead of new memory (a synthesis then touches half the memory: fresh pages cost the
 * kernel's zeroing). Only memory t owns goes back (an op's output or a reshape of one): on a view
 * (op_rows of part) or wrapped memory it does nothing. Does nothing in a graph that records:
 * backward reads every tensor. */
void tensor_release(Graph *g, Tensor *t);
Tensor *tensor_zeros(Graph *g, int ndim, const int *shape);
Tensor *tensor_from(Graph *g, int ndim, const int *shape, const float *src); /* copies src */
/* Wraps caller-owned memory (e.g. a parameter view); grad may be NULL. */
Tensor *tensor_wrap(Graph *g, float *data, float *grad, int ndim, const int *shape);
void tensor_require_grad(Graph *g, Tensor *t); /* gives t a zeroed grad buffer */
/* A view with another shape over the same data and grad (no copy, no tape entry). */
Tensor *op_reshape(Graph *g, Tensor *a, int ndim, const int *shape);
/* Rows r0 .. r0+n of a (its first axis) as a view: same data and grad, no copy, no tape entry. */
Tensor *op_rows(Graph *g, Tensor *a, int r0, int n);
long shape_numel(int ndim, const int *shape);
int tensor_same_shape(const Tensor *a, const Tensor *b);

/* Convenience for literal shapes: SHAPE(2, 3) -> 2, (int[]){2, 3} */
#define SHAPE(...) \
    (int)(sizeof((int[]){__VA_ARGS__}) / sizeof(int)), (int[]) { __VA_ARGS__ }

/* ---- the ops (table in ops.c: forward, backward and shape rule side by side) ---- */
/* a [M, K] (or [*, K], leading dims flattened into M; [K, M] when ta, 2-D only)
 * b [K, N] ([N, K] when tb)  ->  [*, N] */
Tensor *op_matmul(Graph *g, Tensor *a, Tensor *b, int ta, int tb);
/* Each batch element has its own right-hand matrix:
 * a [B, M, K] ([B, K, M] when ta), b [B, K, N] ([B, N, K] when tb) -> [B, M, N]. */
Tensor *op_bmm(Graph *g, Tensor *a, Tensor *b, int ta, int tb);
/* op_bmm plus bias[i] (Bt x N values, e.g. [Bt, 1, N]) on every row of batch element i. */
Tensor *op_bmm_bias(Graph *g, Tensor *a, Tensor *b, Tensor *bias, int ta, int tb);
/* Rows split into contiguous segments seg[0]=0 <= seg[1] <= ... <= seg[G]=M; segment s uses its own
 * matrix: x [M, K], w [G, K, N] -> [M, N]. The group-tied linear map of the meta-learners. */
Tensor *op_segmm(Graph *g, Tensor *x, Tensor *w, const int *seg, int G);
/* The same plus a bias per group: bias [G, N] (segment s adds bias[s] to each of its rows). */
Tensor *op_segmm_bias(Graph *g, Tensor *x, Tensor *w, Tensor *bias, const int *seg, int G);
/* relu(op_segmm_bias(...)) in one op (no separate pre-activation kept: the output's sign is the mask). */
Tensor *op_segmm_bias_relu(Graph *g, Tensor *x, Tensor *w, Tensor *bias, const int *seg, int G);
/* Elementwise with NumPy broadcasting (shapes aligned on the right, size-1 dims stretch). */
Tensor *op_add(Graph *g, Tensor *a, Tensor *b);
Tensor *op_sub(Graph *g, Tensor *a, Tensor *b);
Tensor *op_mul(Graph *g, Tensor *a, Tensor *b);
Tensor *op_scale(Graph *g, Tensor *a, float s);
Tensor *op_add_scalar(Graph *g, Tensor *a, float s);
/* Concatenate n tensors along axis (all other dims equal). */
Tensor *op_concat(Graph *g, Tensor **xs, int n, int axis);
/* [..., start:start+len, ...] along axis (a copy). */
Tensor *op_slice(Graph *g, Tensor *a, int axis, int start, int len);
/* Reorders axes: out.shape[i] = a.shape[perm[i]]. */
Tensor *op_permute(Graph *g, Tensor *a, const int *perm);
Tensor *op_relu(Graph *g, Tensor *a);
Tensor *op_gelu(Graph *g, Tensor *a); /* exact erf form, as torch.nn.GELU() */
Tensor *op_silu(Graph *g, Tensor *a);
Tensor *op_tanh(Graph *g, Tensor *a);
Tensor *op_sigmoid(Graph *g, Tensor *a);
/* Softmax over the last axis. mask (optional, no grad) has the shape of a's trailing dims
 * (e.g. [T, T] for a [B, H, T, T]) and broadcasts over the leading ones; mask 0 = excluded. */
Tensor *op_softmax(Graph *g, Tensor *a, const Tensor *mask);
/* LayerNorm over the last axis D; gain, bias: NULL, [D], or x's shape with its trailing leading
 * dims set to 1 (e.g. [B, 1, D] per-program generated parameters for x [B, T, D]). */
Tensor *op_layernorm(Graph *g, Tensor *x, Tensor *gain, Tensor *bias, float eps);
/* out[i, :] = table[idx[i], :]; table [V, D] (or [*, D]), idx n ints in [0, V) -> [n, D]. */
Tensor *op_gather(Graph *g, Tensor *table, const int *idx, int n);
/* out[i] = table[pairs[2i]] ⊙ table[pairs[2i+1]] for n rows: two rows gathered and multiplied. */
Tensor *op_gather_product(Graph *g, Tensor *table, const int *pairs, int n);
/* out[idx[i], :] += src[i, :]; src [n, D] -> [n_out, D]. Repeated indices accumulate. */
Tensor *op_scatter_add(Graph *g, Tensor *src, const int *idx, int n_out);
/* Mean of the rows sent to each output row (rows that receive none are 0). */
Tensor *op_segment_mean(Graph *g, Tensor *src, const int *idx, int n_out);
/* Rows grouped by idx (n ints < G), each group's column scaled to unit root mean square:
 * y[i, c] = x[i, c] / sqrt(mean over i's group of x[., c]² + eps). */
Tensor *op_segment_rmsnorm(Graph *g, Tensor *x, const int *idx, int G, float eps);
/* One message-passing round over edge rows (the Meta-GNN's, metagnn.c), fused: with
 * x = relu(he W[g] + b[g] + xs[src] + xt[dst]) = [u | m+ | m-] (he [M, d], xs and xt [Rn, 3d],
 * w [G, d, 3d], b [G, 3d], seg the G+1 edge-row segments) returns [M + 2 Rn, d]: rows 0..M are
 * LN(he + u) (no gain or bias), then Rn rows of the mean of m+ over each node row's in-rows
 * (dst = v) and Rn rows of the mean of m- over its out-rows (src = v). Take them with op_rows.
 * inv [2, Rn], without a gradient: the means' weights, as edge_inv_degrees makes them from the
 * same src and dst (a graph's, made once for all its rounds). */
Tensor *op_edge_round(Graph *g, Tensor *he, Tensor *xs, Tensor *xt, Tensor *w, Tensor *b, Tensor *inv, const int *src,
                      const int *dst, const int *seg, int G, float eps);
/* inv[v] = 1 / (rows i < M with dst[i] = v) and inv[Rn + v] = 1 / (rows with src[i] = v), 0 for none */
void edge_inv_degrees(const int *src, const int *dst, int M, int Rn, float *inv);
/* LN(relu(s[src] + sb[g] + t[dst]) W[g] + b[g]) for M rows (the Meta-GNN encoder, metagnn.c), fused:
 * s [Rs, C], sb [G, C] or NULL (none), t [Rt, C], w [G, C, N], b [G, N], seg the G+1 row segments (g
 * is a row's segment); the LayerNorm has no gain or bias (eps 1e-5). The hidden rows are never
 * stored. src must be non-decreasing and no run of equal src may cross a segment boundary (a slot's
 * rows are consecutive and in one group). -> [M, N] */
Tensor *op_pair_encode(Graph *g, Tensor *s, const int *src, Tensor *sb, Tensor *t, const int *dst, Tensor *w, Tensor *b,
                       const int *seg, int G, int M);
/* The θ head of a synthesis (meta/head.c) in one pass per tensor, bit for bit what theta_head's
 * composition of ops gives, forward only (no-grad graphs): raw [B, n], scale [T], lin [T, B], off [n],
 * mask [n] or NULL, layout 4 ints per tensor (first slot, rows, columns, 1 for a matrix) -> [B, n]. */
Tensor *op_theta_head(Graph *g, Tensor *raw, Tensor *scale, Tensor *lin, Tensor *off, Tensor *mask, const int *layout,
                      int T, int centred, float eps);
Tensor *op_sum(Graph *g, Tensor *a);  /* all elements -> [1] */
Tensor *op_mean(Graph *g, Tensor *a); /* all elements -> [1] */
/* Sum over axis, keeping it as size 1 (so the result broadcasts back against a). */
Tensor *op_sum_axis(Graph *g, Tensor *a, int axis);
/* mean((pred - target)^2) over all elements; target has no grad. -> [1] */
Tensor *op_mse(Graph *g, Tensor *pred, const Tensor *target);
/* Mean over rows with label >= 0 of -log softmax(logits[i])[label[i]]; logits [N, C]
 * (or [*, C] flattened); labels N ints, -1 = ignore. -> [1] */
Tensor *op_cross_entropy(Graph *g, Tensor *logits, const int *labels);

#endif
