/* Tensor allocation, the tape, and reverse-mode differentiation over it. */
#include "engine/tape.h"
#include <cblas.h>
#include <string.h>
#include <time.h>

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

void graph_init(Graph *g, Arena *a) {
    memset(g, 0, sizeof *g);
    g->arena = a;
    /* OpenMP owns the parallelism: OpenBLAS runs single-threaded inside our parallel regions,
     * which keeps results independent of OpenBLAS's own thread pool. */
    openblas_set_num_threads(1);
}

void graph_reset(Graph *g) {
    g->n_nodes = 0;
    arena_reset(g->arena);
}
void graph_free(Graph *g) {
    free(g->nodes);
    g->nodes = NULL;
    g->n_nodes = g->cap_nodes = 0;
}

long shape_numel(int ndim, const int *shape) {
    long n = 1;
    for (int i = 0; i < ndim; i++) n *= shape[i];
    return n;
}

int tensor_same_shape(const Tensor *a, const Tensor *b) {
    if (a->ndim != b->ndim) return 0;
    for (int i = 0; i < a->ndim; i++)
        if (a->shape[i] != b->shape[i]) return 0;
    return 1;
}

static Tensor *header(Graph *g, int ndim, const int *shape) {
    NP_ASSERT(ndim >= 1 && ndim <= NT_MAXDIM, "tensor with %d dims (1..%d supported)", ndim, NT_MAXDIM);
    Tensor *t = arena_alloc(g->arena, sizeof *t);
    memset(t, 0, sizeof *t);
    t->ndim = ndim;
    for (int i = 0; i < ndim; i++) {
        NP_ASSERT(shape[i] >= 0, "negative dim");
        t->shape[i] = shape[i];
    }
    t->numel = shape_numel(ndim, shape);
    return t;
}

Tensor *tensor_new(Graph *g, int ndim, const int *shape) {
    Tensor *t = header(g, ndim, shape);
    size_t bytes = (size_t)t->numel * sizeof(float);
    t->owned = bytes;
    t->data = g->no_grad ? arena_reuse(g->arena, bytes, &t->owned) : NULL; /* owns the whole block */
    if (!t->data) t->data = arena_alloc(g->arena, bytes);
    return t;
}

void tensor_release(Graph *g, Tensor *t) {
    if (g->no_grad && t && t->owned) arena_give_back(g->arena, t->data, t->owned);
}

Tensor *tensor_zeros(Graph *g, int ndim, const int *shape) {
    Tensor *t = header(g, ndim, shape);
    t->owned = (size_t)t->numel * sizeof(float);
    t->data = arena_alloc(g->arena, t->owned);
    memset(t->data, 0, t->numel * sizeof(float));
    return t;
}

Tensor *tensor_from(Graph *g, int ndim, const int *shape, const float *src) {
    Tensor *t = tensor_new(g, ndim, shape);
    memcpy(t->data, src, t->numel * sizeof(float));
    return t;
}

Tensor *tensor_wrap(Graph *g, float *data, float *grad, int ndim, const int *shape) {
    Tensor *t = header(g, ndim, shape);
    t->data = data;
    t->grad = g->no_grad ? NULL : grad;
    return t;
}

void tensor_require_grad(Graph *g, Tensor *t) {
    if (!t->grad && !g->no_grad) t->grad = arena_calloc(g->arena, t->numel * sizeof(float));
}

Tensor *op_reshape(Graph *g, Tensor *a, int ndim, const int *shape) {
    Tensor *t = header(g, ndim, shape);
    NP_ASSERT(t->numel == a->numel, "reshape: %ld elements into %ld", a->numel, t->numel);
    t->data = a->data;
    t->grad = a->grad;
    t->node = a->node;
    t->owned = a->owned;
    return t;
}

Tensor *op_rows(Graph *g, Tensor *a, int r0, int n) {
    NP_ASSERT(a->ndim >= 1 && r0 >= 0 && n >= 0 && r0 + n <= a->shape[0], "rows %d..%d of %d", r0, r0 + n,
              a->ndim ? a->shape[0] : 0);
    int shape[NT_MAXDIM];
    memcpy(shape, a->shape, sizeof shape);
    shape[0] = n;
    Tensor *t = header(g, a->ndim, shape);
    long row = a->shape[0] ? a->numel / a->shape[0] : 0;
    t->data = a->data + r0 * row;
    t->grad = a->grad ? a->grad + r0 * row : NULL;
    t->node = a->node;
    return t;
}

Tensor *tape_apply(Graph *g, Node *n) {
    int ndim, shape[NT_MAXDIM];
    OPS[n->op].shape(n, &ndim, shape);
    int needs_grad = 0;
    if (!g->no_grad) {
        for (int k = 0; k < 3; k++)
            if (n->in[k] && n->in[k]->grad) needs_grad = 1;
        for (int k = 0; k < n->nin; k++)
            if (n->ins[k]->grad) needs_grad = 1;
    }
    NP_ASSERT(!needs_grad || OPS[n->op].backward, "%s: forward only, in a no-grad graph", OPS[n->op].name);
    n->out = tensor_new(g, ndim, shape);
    if (needs_grad) { /* zeroed in graph_backward, just before its first writer, while it is in cache */
        n->out->grad = arena_alloc(g->arena, n->out->numel * sizeof(float));
        n->out->node = g->n_nodes + 1;
        n->grad_ready = 0;
    }
    int ia[8];
    float fa[2];
    memcpy(ia, n->ia, sizeof ia);
    memcpy(fa, n->fa, sizeof fa);
    double t1 = g->prof ? now_s() : 0;
    OPS[n->op].forward(g, n);
    if (g->prof) {
        g->prof->fwd[n->op] += now_s() - t1;
        g->prof->calls[n->op]++;
    }
    NP_ASSERT(!memcmp(ia, n->ia, sizeof ia) && !memcmp(fa, n->fa, sizeof fa),
              "%s: forward changed its arguments (what it saves for backward belongs in aux)", OPS[n->op].name);
    if (needs_grad) {
        if (g->n_nodes == g->cap_nodes) {
            g->cap_nodes = g->cap_nodes ? 2 * g->cap_nodes : 256;
            g->nodes = xrealloc(g->nodes, g->cap_nodes * sizeof *g->nodes);
        }
        g->nodes[g->n_nodes++] = *n;
    }
    return n->out;
}

/* Zeroes node p's output gradient once, before anything adds to it, except the elements
 * [skip0, skip1) that the first writer assigns (none when skip0 == skip1). */
static void grad_zero_except(Graph *g, Node *p, long skip0, long skip1) {
    if (p->grad_ready) return;
    double t0 = g->prof ? now_s() : 0;
    float *gr = p->out->grad;
    long N = p->out->numel;
    for (int part = 0; part < 2; part++) { /* [0, skip0), then [skip1, N) */
        long a = part ? skip1 : 0, b = part ? N : skip0;
#pragma omp parallel for schedule(static) if (b - a > (1L << 17))
        for (long i = a; i < b; i++) gr[i] = 0.0f;
    }
    p->grad_ready = 1;
    if (g->prof) {
        g->prof->zero += now_s() - t0;
        g->prof->zeroed += N - (skip1 - skip0);
    }
}
static void grad_zero(Graph *g, Node *p) { grad_zero_except(g, p, 0, 0); }

/* Walks the tape backward. An output gradient is zeroed just before its first writer (the last of
 * its consumers) adds to it, so the buffer is written once in cache instead of zero-filled at
 * forward time and read back from memory. A node whose output gradient nobody wrote has nothing
 * to pass on and is skipped (its buffer is zeroed, for whoever reads it after). */
void graph_backward(Graph *g, Tensor *loss) {
    NP_ASSERT(loss->numel == 1, "backward from a tensor of %ld elements (want a scalar loss)", loss->numel);
    if (!loss->grad) return; /* nothing upstream needs a gradient */
    if (loss->node) grad_zero(g, &g->nodes[loss->node - 1]);
    loss->grad[0] = 1.0f;
    for (int i = g->n_nodes - 1; i >= 0; i--) {
        Node *n = &g->nodes[i];
        if (!n->grad_ready) {
            grad_zero(g, n);
            continue;
        }
        int nin = n->nin ? n->nin : 3;
        Tensor **in = n->nin ? n->ins : n->in;
        n->fresh = 0;
        for (int k = 0; k < nin; k++) {
            if (!in[k] || !in[k]->grad || !in[k]->node) continue;
            Node *p = &g->nodes[in[k]->node - 1];
            if (p->grad_ready) continue;
            /* the first writer may assign instead of adding when it writes the whole of what it
             * reads (the buffer, or a row range of it: op_rows, op_reshape), and no other input of
             * this op shares the buffer; the rest of a buffer is zeroed for its other consumers */
            long off = in[k]->grad - p->out->grad;
            int alone = op_assigns(n, k) && off >= 0 && off + in[k]->numel <= p->out->numel;
            for (int q = 0; q < nin && alone; q++)
                if (q != k && in[q] && in[q]->node == in[k]->node) alone = 0;
            if (alone) {
                grad_zero_except(g, p, off, off + in[k]->numel);
                n->fresh |= 1u << k;
            } else grad_zero(g, p);
        }
        double t0 = g->prof ? now_s() : 0;
        OPS[n->op].backward(n);
        if (g->prof) g->prof->bwd[n->op] += now_s() - t0;
    }
}
