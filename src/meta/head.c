/* The θ output head every meta-learner ends with: raw decoder outputs -> the program's weights
 * (scale per tensor; centred, double-centred or normalized per meta_internal.h), and its
 * calibration so that the first program has a standard initialization's size (times cfg.gain). */
#include "meta/meta_internal.h"
#include <math.h>
#include <string.h>

#define RMS_EPS 1e-4f /* head 3: a tensor whose entries are all ~0 stays ~0 */

/* A tensor as the head sees it: a matrix of R rows and C columns, or a vector as one row of numel
 * columns (its row and its column are the whole vector). Returns 1 for a matrix. */
static int rows_cols(const TplTensor *tt, int *R, int *C) {
    int mat = tt->ndim == 2;
    *R = mat ? tt->shape[0] : 1;
    *C = mat ? tt->shape[1] : (int)tt->numel;
    return mat;
}

void theta_head_add(ThetaHead *h, ParamSet *ps, const Template *t, int centred, int base, int n_feat) {
    h->scale = params_add(ps, "head.scale", SHAPE(t->n_tensors, 1));
    h->base = base ? params_add(ps, "head.base", SHAPE(1, t->n_theta)) : -1; /* zero: the first θ as without */
    h->centred = centred;
    if (centred) { /* zero at init: the first θ is the centred, scaled raw output */
        h->mean_w = params_add(ps, "head.mean.w", SHAPE(t->n_tensors, n_feat));
        h->mean_b = params_add(ps, "head.mean.b", SHAPE(t->n_tensors, 1));
    }
    /* the per-slot tables share one block, tensor_of first (what theta_head_free frees): 740 kB at
     * the template's 37,098 weights, in huge pages (huge_alloc, err.h), where apart they took 180
     * page faults */
    size_t T = (size_t)t->n_theta, n_tables = 2 + 2 * (centred >= 2) + (centred == 3);
    h->tensor_of = xhuge_alloc(n_tables * T * sizeof(int));
    h->offset = (float *)(void *)(h->tensor_of + T);
    float *next = h->offset + T;
    h->row_of = h->col_of = NULL;
    h->lin_mask = NULL;
    if (centred >= 2) { /* ids: every row of every matrix, then one per vector; columns alike */
        h->row_of = (int *)(void *)next;
        h->col_of = h->row_of + T;
        next += 2 * T;
        h->n_rows = h->n_cols = 0;
        for (int k = 0; k < t->n_tensors; k++) {
            int R, C, mat = rows_cols(&t->tensors[k], &R, &C);
            long j = t->tensors[k].off;
            for (int r = 0; r < R; r++)
                for (int c = 0; c < C; c++, j++) {
                    h->row_of[j] = h->n_rows + r;
                    h->col_of[j] = h->n_cols + (mat ? c : 0);
                }
            h->n_rows += R;
            h->n_cols += mat ? C : 1;
        }
    }
    if (centred == 3) {
        h->lin_mask = next;
        for (int k = 0; k < t->n_tensors; k++)
            for (long j = 0; j < t->tensors[k].numel; j++)
                h->lin_mask[t->tensors[k].off + j] = t->tensors[k].ndim == 2 ? 0.0f : 1.0f;
    }
    for (int k = 0; k < t->n_tensors; k++)
        for (long j = 0; j < t->tensors[k].numel; j++) {
            h->tensor_of[t->tensors[k].off + j] = k;
            h->offset[t->tensors[k].off + j] = t->tensors[k].init == TPL_INIT_GAIN ? 1.0f : 0.0f;
        }
}

void theta_head_free(ThetaHead *h) {
    free(h->tensor_of); /* and the other tables: theta_head_add */
    h->tensor_of = h->row_of = h->col_of = NULL;
    h->offset = h->lin_mask = NULL;
}

/* x - means[id[j]] per row j of x [n, B] */
static Tensor *minus_means(Graph *g, Tensor *x, Tensor *means, const int *id, int n) {
    return op_sub(g, x, op_gather(g, means, id, n));
}

Tensor *theta_head(Graph *g, const ParamSet *ps, const ThetaHead *h, const Template *t, Tensor *raw, Tensor *u) {
    int n = (int)t->n_theta;
    Tensor *off = tensor_wrap(g, h->offset, NULL, SHAPE(1, n));
    if (h->base >= 0) off = op_add(g, off, params_tensor(g, ps, h->base)); /* θ₀ + offset, [1, n] */
    if (!h->centred) {
        Tensor *s = op_gather(g, params_tensor(g, ps, h->scale), h->tensor_of, n); /* [n, 1] */
        return op_add(g, op_mul(g, raw, op_reshape(g, s, SHAPE(1, n))), off);
    }
    Tensor *lin =
        op_add(g, op_matmul(g, params_tensor(g, ps, h->mean_w), u, 0, 1), params_tensor(g, ps, h->mean_b)); /* [T, B] */
    Tensor *mask = h->centred == 3 ? tensor_wrap(g, h->lin_mask, NULL, SHAPE(n, 1)) : NULL;
    if (g->no_grad) { /* a synthesis: the arithmetic below in one pass per tensor, tensors in parallel */
        int *layout = arena_alloc(g->arena, (size_t)(t->n_tensors > 0 ? t->n_tensors : 1) * 4 * sizeof(int));
        for (int k = 0; k < t->n_tensors; k++) {
            layout[4 * k] = (int)t->tensors[k].off;
            layout[4 * k + 3] = rows_cols(&t->tensors[k], &layout[4 * k + 1], &layout[4 * k + 2]);
        }
        return op_theta_head(g, raw, params_tensor(g, ps, h->scale), lin, off, mask, layout, t->n_tensors, h->centred,
                             RMS_EPS);
    }
    Tensor *s = op_gather(g, params_tensor(g, ps, h->scale), h->tensor_of, n); /* [n, 1] */
    Tensor *r = op_permute(g, raw, (int[]){1, 0});                             /* [n, B] */
    Tensor *c = minus_means(g, r, op_segment_mean(g, r, h->tensor_of, t->n_tensors), h->tensor_of, n);
    if (h->centred >= 2) { /* a vector's row and column are the whole vector: its mean is already 0 */
        c = minus_means(g, c, op_segment_mean(g, c, h->row_of, h->n_rows), h->row_of, n);
        c = minus_means(g, c, op_segment_mean(g, c, h->col_of, h->n_cols), h->col_of, n);
    }
    /* head 3: each tensor of each program at unit RMS, so that s_T alone sets its size: the
     * generator chooses directions, and no drift of its outputs can grow a weight matrix */
    Tensor *common = op_gather(g, lin, h->tensor_of, n); /* [n, B] */
    if (mask) {
        c = op_segment_rmsnorm(g, c, h->tensor_of, t->n_tensors, RMS_EPS);
        common = op_mul(g, common, mask);
    }
    Tensor *th = op_add(g, op_mul(g, c, s), common);
    return op_add(g, op_permute(g, th, (int[]){1, 0}), off);
}

/* The spread a standard initialization gives each kind of tensor (the decoders start there). */
static float target_std(const TplTensor *tt) {
    switch (tt->init) {
    case TPL_INIT_WEIGHT: return 1.0f / sqrtf((float)tt->fan_in);
    case TPL_INIT_BIAS: return 1.0f / sqrtf(3.0f * (float)tt->fan_in);
    case TPL_INIT_GAIN: return 0.1f; /* gains centred on 1 */
    default: return 1.0f;            /* embeddings: N(0, 1) as torch.nn.Embedding */
    }
}

/* The centred head calibrates weight matrices and embeddings by their operator norm. */
static int by_operator_norm(const ThetaHead *h, const TplTensor *tt) {
    return h->centred && tt->ndim == 2 && (tt->init == TPL_INIT_WEIGHT || tt->init == TPL_INIT_EMBED);
}

/* The largest singular value of the R×C matrix v (power iteration from a fixed start). */
static double spectral_norm(const double *v, int R, int C) {
    double *x = xmalloc(C * sizeof *x), *y = xmalloc(R * sizeof *y), nx = 0;
    for (int j = 0; j < C; j++) x[j] = 1.0 + 0.01 * j;
    for (int it = 0; it < 100; it++) {
        for (int i = 0; i < R; i++) {
            y[i] = 0;
            for (int j = 0; j < C; j++) y[i] += v[(long)i * C + j] * x[j];
        }
        nx = 0;
        for (int j = 0; j < C; j++) {
            x[j] = 0;
            for (int i = 0; i < R; i++) x[j] += v[(long)i * C + j] * y[i];
            nx += x[j] * x[j];
        }
        nx = sqrt(nx);
        if (nx < 1e-30) break;
        for (int j = 0; j < C; j++) x[j] /= nx;
    }
    free(x);
    free(y);
    return sqrt(nx); /* ‖MᵀM x‖ → σ² for the unit top singular vector x */
}

void theta_head_calibrate(Method *m, ThetaHead *h, const float *calib, int n_calib) {
    const Template *t = &m->tpl;
    float *scale = params_data(&m->ps, h->scale);
    for (int k = 0; k < t->n_tensors; k++) scale[k] = 1.0f;
    double *s2 = xcalloc(t->n_tensors, sizeof(double)), *buf = xmalloc(t->n_theta * sizeof(double));
    Arena a;
    Graph g;
    arena_init(&a, 1 << 20);
    graph_init(&g, &a);
    g.no_grad = 1;
    for (int b = 0; b < n_calib; b++) { /* one intent at a time: the memory of one forward pass */
        Tensor *u = tensor_wrap(&g, (float *)calib + (long)b * m->n_feat, NULL, SHAPE(1, m->n_feat));
        Tensor *theta = method_generate(&g, m, u); /* scale 1: raw outputs */
        for (int k = 0; k < t->n_tensors; k++) {
            const TplTensor *tt = &t->tensors[k];
            double m1 = 0, m2 = 0, *v = buf + tt->off;
            for (long j = 0; j < tt->numel; j++) {
                v[j] = theta->data[tt->off + j] - h->offset[tt->off + j];
                m1 += v[j];
                m2 += v[j] * v[j];
            }
            if (!h->centred) {
                s2[k] += m2;
                continue;
            }
            /* centred head: this intent's spread about its mean; for a matrix, its largest singular
             * value squared, which the calibration matches (below) */
            for (long j = 0; j < tt->numel; j++) v[j] -= m1 / tt->numel;
            if (by_operator_norm(h, tt)) {
                double sn = spectral_norm(v, tt->shape[0], tt->shape[1]);
                s2[k] += sn * sn;
            } else s2[k] += m2 - m1 * m1 / tt->numel;
        }
        graph_reset(&g);
    }
    for (int k = 0; k < t->n_tensors; k++) {
        const TplTensor *tt = &t->tensors[k];
        /* Plain head: the root mean square, not the std: outputs that agree across slots (a large
         * common mean) must come out small too, or the first θ would be far from a standard init.
         * Operator norm: generated matrices are far from random (low rank, correlated rows), so
         * matching the entry spread left the first program's activations growing ~√width per
         * layer (initial ADDMOD loss 150-400); a standard init's norm is about std·(√rows + √cols). */
        int op = by_operator_norm(h, tt);
        double ms = s2[k] / (op ? (double)n_calib : (double)tt->numel * n_calib), want = target_std(tt);
        if (op) want *= sqrt((double)tt->shape[0]) + sqrt((double)tt->shape[1]);
        scale[k] = (float)(m->cfg.gain * want / sqrt(ms > 1e-8 ? ms : 1e-8));
    }
    free(s2);
    free(buf);
    graph_free(&g);
    arena_free(&a);
}
