/* Engine tests: every op's gradient against central finite differences (with a float64 reference
 * where float32 differences are too noisy), forward values against known answers, output shapes,
 * broadcasting and index ops with repeated indices, a directional-derivative check over all
 * parameters of a small composed model, gradients into generated weights, and determinism of the
 * OpenMP paths.
 *
 * The gradient check: loss = sum(f(inputs) * R) for a fixed random R (built with op_mul + op_sum, so
 * those two are checked on every call too); analytic gradients from graph_backward are compared to
 * central differences of that loss, element by element, for every input that takes a gradient. */
#include "test.h"
#include "cli.h"
#include "engine/cpu.h"
#include "engine/gemm.h"
#include "engine/params.h"
#include "engine/rng.h"
#include "engine/tensor.h"
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <xmmintrin.h>
#ifdef _OPENMP
#include <omp.h>
#endif

/* ================================ the generic gradient checker ================================ */

#define GC_MAXIN 6
typedef Tensor *(*GcFn)(Graph *g, Tensor **in, void *ctx);
/* The same function in float64, for a low-noise numerical derivative: writes f's output to out. */
typedef void (*GcRef)(double *const *in, double *out, void *ctx);

typedef struct GcIn {
    int ndim, shape[NT_MAXDIM];
    float lo, hi;      /* uniform init range; lo == hi == 0 means [-1, 1] */
    float gap;         /* keep values at least this far from 0 (kinks of relu) */
    const float *init; /* explicit values instead (numel floats) */
    int no_grad;       /* passed without a grad buffer (masks, targets): not checked */
} GcIn;
#define SH(...) .ndim = (int)(sizeof((int[]){__VA_ARGS__}) / sizeof(int)), .shape = {__VA_ARGS__}

typedef struct GcOpt {
    GcRef ref;            /* NULL: central differences of the float32 forward */
    double h, atol, rtol; /* 0: defaults (float32: h 1e-3, atol 1e-3, rtol 1e-2; float64: 1e-6, 1e-5, 1e-4) */
    int stride;           /* compare every stride-th element only (large inputs); 0 = all */
    int corrupt;          /* self-test only: perturbs one analytic gradient */
} GcOpt;

typedef struct GcRes {
    double worst;   /* max over elements of |analytic - numeric| / (atol + rtol * max(|a|, |n|)) */
    double fwd_err; /* with ref: max |f - ref| / (1e-5 + 1e-5 |ref|) over the outputs */
    int checked;    /* number of gradient elements compared */
    char where[200];
} GcRes;

/* The loss at perturbed inputs. Runs on one thread: the analytic pass exercises the parallel paths,
 * and thousands of small parallel regions would crawl on a loaded machine. */
static double gc_forward(Graph *g, GcFn f, void *ctx, int nin, const GcIn *spec, float **data, const float *R) {
#ifdef _OPENMP
    int nt = omp_get_max_threads();
    omp_set_num_threads(1);
#endif
    graph_reset(g);
    g->no_grad = 1;
    Tensor *x[GC_MAXIN];
    for (int i = 0; i < nin; i++) x[i] = tensor_wrap(g, data[i], NULL, spec[i].ndim, spec[i].shape);
    Tensor *out = f(g, x, ctx);
    double s = 0;
    for (long k = 0; k < out->numel; k++) s += (double)out->data[k] * R[k];
    g->no_grad = 0;
#ifdef _OPENMP
    omp_set_num_threads(nt);
#endif
    return s;
}

static double ref_loss(GcRef ref, void *ctx, double *const *dd, double *out, const float *R, long nout) {
    ref(dd, out, ctx);
    double s = 0;
    for (long k = 0; k < nout; k++) s += out[k] * R[k];
    return s;
}

static GcRes gradcheck_run(GcFn f, void *ctx, int nin, const GcIn *spec, const GcOpt *opt, uint64_t seed) {
    GcRes res = {0};
    Arena arena;
    arena_init(&arena, 1 << 16);
    Graph g;
    graph_init(&g, &arena);
    Rng rng;
    rng_seed(&rng, seed);
    float *data[GC_MAXIN], *grad[GC_MAXIN];
    long numel[GC_MAXIN];
    NP_ASSERT(nin <= GC_MAXIN, "gradcheck: too many inputs");
    for (int i = 0; i < nin; i++) {
        numel[i] = shape_numel(spec[i].ndim, spec[i].shape);
        data[i] = xmalloc((numel[i] + 1) * sizeof(float));
        grad[i] = xcalloc(numel[i] + 1, sizeof(float));
        float lo = spec[i].lo, hi = spec[i].hi;
        if (lo == 0 && hi == 0) {
            lo = -1;
            hi = 1;
        }
        for (long k = 0; k < numel[i]; k++) {
            float v = spec[i].init ? spec[i].init[k] : lo + (hi - lo) * (float)rng_uniform(&rng);
            if (spec[i].gap > 0 && fabsf(v) < spec[i].gap) v += v < 0 ? -spec[i].gap : spec[i].gap;
            data[i][k] = v;
        }
    }
    /* analytic */
    Tensor *x[GC_MAXIN];
    for (int i = 0; i < nin; i++)
        x[i] = tensor_wrap(&g, data[i], spec[i].no_grad ? NULL : grad[i], spec[i].ndim, spec[i].shape);
    Tensor *out = f(&g, x, ctx);
    long nout = out->numel;
    float *R = xmalloc((nout + 1) * sizeof(float)), *outf = xmalloc((nout + 1) * sizeof(float));
    for (long k = 0; k < nout; k++) R[k] = (float)(2 * rng_uniform(&rng) - 1);
    memcpy(outf, out->data, nout * sizeof(float));
    Tensor *Rt = tensor_from(&g, out->ndim, out->shape, R);
    Tensor *loss = op_sum(&g, op_mul(&g, out, Rt));
    graph_backward(&g, loss);
    if (opt->corrupt) grad[0][numel[0] / 2] += 0.05f + 0.05f * fabsf(grad[0][numel[0] / 2]);

    /* numerical */
    /* float32 differences carry ~1e-4 noise; the float64 reference only the float32 gradient error */
    double atol = opt->atol > 0 ? opt->atol
                  : opt->ref    ? 1e-5
                                : 1e-3,
           rtol = opt->rtol > 0 ? opt->rtol
                  : opt->ref    ? 1e-4
                                : 1e-2;
    double *dd[GC_MAXIN] = {0}, *dout = NULL;
    if (opt->ref) {
        for (int i = 0; i < nin; i++) {
            dd[i] = xmalloc((numel[i] + 1) * sizeof(double));
            for (long k = 0; k < numel[i]; k++) dd[i][k] = data[i][k];
        }
        dout = xmalloc((nout + 1) * sizeof(double));
        opt->ref(dd, dout, ctx);
        for (long k = 0; k < nout; k++) {
            double e = fabs(outf[k] - dout[k]) / (1e-5 + 1e-5 * fabs(dout[k]));
            if (e > res.fwd_err) res.fwd_err = e;
        }
    }
    res.where[0] = 0;
    for (int i = 0; i < nin; i++) {
        if (spec[i].no_grad) continue;
        long stride = opt->stride > 0 ? opt->stride : 1;
        for (long k = (i * 7) % stride; k < numel[i]; k += stride) {
            double num;
            if (opt->ref) {
                double h = opt->h > 0 ? opt->h : 1e-6, x0 = dd[i][k];
                dd[i][k] = x0 + h;
                double lp = ref_loss(opt->ref, ctx, dd, dout, R, nout);
                dd[i][k] = x0 - h;
                double lm = ref_loss(opt->ref, ctx, dd, dout, R, nout);
                dd[i][k] = x0;
                num = (lp - lm) / (2 * h);
            } else {
                float h = opt->h > 0 ? (float)opt->h : 1e-3f, x0 = data[i][k];
                float xp = x0 + h, xm = x0 - h; /* the actual float step is used below */
                data[i][k] = xp;
                double lp = gc_forward(&g, f, ctx, nin, spec, data, R);
                data[i][k] = xm;
                double lm = gc_forward(&g, f, ctx, nin, spec, data, R);
                data[i][k] = x0;
                num = (lp - lm) / ((double)xp - (double)xm);
            }
            double a = grad[i][k], err = fabs(a - num), bound = atol + rtol * fmax(fabs(a), fabs(num));
            res.checked++;
            if (err / bound > res.worst) {
                res.worst = err / bound;
                snprintf(res.where, sizeof res.where, "input %d element %ld: analytic %.7g, numeric %.7g", i, k, a,
                         num);
            }
        }
    }
    for (int i = 0; i < nin; i++) {
        free(data[i]);
        free(grad[i]);
        free(dd[i]);
    }
    free(R);
    free(outf);
    free(dout);
    graph_free(&g);
    arena_free(&arena);
    return res;
}

static uint64_t name_seed(const char *s) {
    uint64_t h = 1469598103934665603ULL;
    while (*s) h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
    return h;
}

/* Checks every input of f; the spec array's length gives the number of inputs. Optional GcOpt fields. */
#define GRADCHECK(name, f, ctx, spec, ...)                                                                          \
    do {                                                                                                            \
        GcOpt o_ = {__VA_ARGS__};                                                                                   \
        GcRes r_ = gradcheck_run(f, ctx, (int)(sizeof(spec) / sizeof *(spec)), spec, &o_, name_seed(name));         \
        if (getenv("NEUROP_GC_VERBOSE"))                                                                            \
            printf("    %-48s %5d elements, worst error/tol %.3g, forward %.3g\n", name, r_.checked, r_.worst,      \
                   r_.fwd_err);                                                                                     \
        CHECK(r_.checked > 0, "%s: no gradient compared", name);                                                    \
        CHECK(r_.worst <= 1.0, "%s: gradient mismatch at %s (error/tolerance %.3g)", name, r_.where, r_.worst);     \
        if (o_.ref)                                                                                                 \
            CHECK(r_.fwd_err <= 1.0, "%s: forward differs from the float64 reference (error/tolerance %.3g)", name, \
                  r_.fwd_err);                                                                                      \
    } while (0)

/* ================================ op wrappers ================================ */

typedef struct {
    int ta, tb;
} MmCtx;
static Tensor *f_matmul(Graph *g, Tensor **x, void *c) {
    MmCtx *m = c;
    return op_matmul(g, x[0], x[1], m->ta, m->tb);
}
static Tensor *f_bmm(Graph *g, Tensor **x, void *c) {
    MmCtx *m = c;
    return op_bmm(g, x[0], x[1], m->ta, m->tb);
}

typedef struct {
    const int *seg;
    int G;
} SegCtx;
static Tensor *f_segmm(Graph *g, Tensor **x, void *c) {
    SegCtx *s = c;
    return op_segmm(g, x[0], x[1], s->seg, s->G);
}
static Tensor *f_segmm_bias(Graph *g, Tensor **x, void *c) {
    SegCtx *s = c;
    return op_segmm_bias(g, x[0], x[1], x[2], s->seg, s->G);
}

enum { BIN_ADD, BIN_SUB, BIN_MUL };
static Tensor *f_binary(Graph *g, Tensor **x, void *c) {
    int op = *(int *)c;
    return op == BIN_ADD ? op_add(g, x[0], x[1]) : op == BIN_SUB ? op_sub(g, x[0], x[1]) : op_mul(g, x[0], x[1]);
}
static Tensor *f_scale(Graph *g, Tensor **x, void *c) { return op_scale(g, x[0], *(float *)c); }
static Tensor *f_add_scalar(Graph *g, Tensor **x, void *c) { return op_add_scalar(g, x[0], *(float *)c); }
static Tensor *f_concat3(Graph *g, Tensor **x, void *c) { return op_concat(g, x, 3, *(int *)c); }
static Tensor *f_concat_dup(Graph *g, Tensor **x, void *c) {
    return op_concat(g, (Tensor *[]){x[0], x[1], x[0]}, 3, 1);
}
typedef struct {
    int axis, start, len;
} SliceCtx;
static Tensor *f_slice(Graph *g, Tensor **x, void *c) {
    SliceCtx *s = c;
    return op_slice(g, x[0], s->axis, s->start, s->len);
}
static Tensor *f_permute(Graph *g, Tensor **x, void *c) { return op_permute(g, x[0], (const int *)c); }
static Tensor *f_relu(Graph *g, Tensor **x, void *c) { return op_relu(g, x[0]); }
static Tensor *f_gelu(Graph *g, Tensor **x, void *c) { return op_gelu(g, x[0]); }
static Tensor *f_silu(Graph *g, Tensor **x, void *c) { return op_silu(g, x[0]); }
static Tensor *f_tanh(Graph *g, Tensor **x, void *c) { return op_tanh(g, x[0]); }
static Tensor *f_sigmoid(Graph *g, Tensor **x, void *c) { return op_sigmoid(g, x[0]); }
static Tensor *f_sum(Graph *g, Tensor **x, void *c) { return op_sum(g, x[0]); }
static Tensor *f_mean(Graph *g, Tensor **x, void *c) { return op_mean(g, x[0]); }
static Tensor *f_sum_axis(Graph *g, Tensor **x, void *c) { return op_sum_axis(g, x[0], *(int *)c); }
static Tensor *f_mse(Graph *g, Tensor **x, void *c) { return op_mse(g, x[0], x[1]); }

typedef struct {
    const int *idx;
    int n, n_out;
} IdxCtx;
static Tensor *f_gather(Graph *g, Tensor **x, void *c) {
    IdxCtx *k = c;
    return op_gather(g, x[0], k->idx, k->n);
}
static Tensor *f_scatter_add(Graph *g, Tensor **x, void *c) {
    IdxCtx *k = c;
    return op_scatter_add(g, x[0], k->idx, k->n_out);
}
static Tensor *f_segment_mean(Graph *g, Tensor **x, void *c) {
    IdxCtx *k = c;
    return op_segment_mean(g, x[0], k->idx, k->n_out);
}

/* float64 references */
static void ref_gelu(double *const *in, double *out, void *c) {
    long n = *(long *)c;
    for (long i = 0; i < n; i++) {
        double x = in[0][i];
        out[i] = 0.5 * x * (1 + erf(x / sqrt(2.0)));
    }
}

/* softmax over the last axis C of R rows; mask (R_m rows, repeated) may be NULL */
typedef struct {
    long R;
    int C;
    const float *mask;
    long mrows;
} SmCtx;
static Tensor *f_softmax(Graph *g, Tensor **x, void *c) {
    SmCtx *s = c;
    Tensor *m = s->mask ? tensor_from(g, SHAPE((int)s->mrows, s->C), s->mask) : NULL;
    return op_softmax(g, x[0], m);
}
static void ref_softmax(double *const *in, double *out, void *c) {
    SmCtx *s = c;
    for (long r = 0; r < s->R; r++) {
        const double *x = in[0] + r * s->C;
        double *y = out + r * s->C;
        const float *mk = s->mask ? s->mask + (r % s->mrows) * s->C : NULL;
        double mx = -INFINITY, z = 0;
        for (int k = 0; k < s->C; k++)
            if ((!mk || mk[k] != 0) && x[k] > mx) mx = x[k];
        for (int k = 0; k < s->C; k++) {
            y[k] = (!mk || mk[k] != 0) ? exp(x[k] - mx) : 0;
            z += y[k];
        }
        for (int k = 0; k < s->C; k++) y[k] = z > 0 ? y[k] / z : 0;
    }
}

/* layernorm of R rows of D; gain/bias rows: gr/br rows (0 = absent), row r uses row r / (R / gr) */
typedef struct {
    long R;
    int D;
    long gr, br;
    float eps;
} LnCtx;
static Tensor *f_layernorm(Graph *g, Tensor **x, void *c) {
    LnCtx *l = c;
    return op_layernorm(g, x[0], l->gr ? x[1] : NULL, l->br ? x[l->gr ? 2 : 1] : NULL, l->eps);
}
static void ref_layernorm(double *const *in, double *out, void *c) {
    LnCtx *l = c;
    const double *gain = l->gr ? in[1] : NULL, *bias = l->br ? in[l->gr ? 2 : 1] : NULL;
    for (long r = 0; r < l->R; r++) {
        const double *x = in[0] + r * l->D;
        double mu = 0, var = 0;
        for (int d = 0; d < l->D; d++) mu += x[d];
        mu /= l->D;
        for (int d = 0; d < l->D; d++) var += (x[d] - mu) * (x[d] - mu);
        var /= l->D;
        double rs = 1 / sqrt(var + l->eps);
        for (int d = 0; d < l->D; d++) {
            double y = (x[d] - mu) * rs;
            if (gain) y *= gain[(r / (l->R / l->gr)) * l->D + d];
            if (bias) y += bias[(r / (l->R / l->br)) * l->D + d];
            out[r * l->D + d] = y;
        }
    }
}

typedef struct {
    long R;
    int C;
    const int *labels;
} CeCtx;
static Tensor *f_ce(Graph *g, Tensor **x, void *c) { return op_cross_entropy(g, x[0], ((CeCtx *)c)->labels); }
static void ref_ce(double *const *in, double *out, void *c) {
    CeCtx *e = c;
    double s = 0;
    int cnt = 0;
    for (long r = 0; r < e->R; r++) {
        if (e->labels[r] < 0) continue;
        const double *x = in[0] + r * e->C;
        double mx = x[0], z = 0;
        for (int k = 1; k < e->C; k++)
            if (x[k] > mx) mx = x[k];
        for (int k = 0; k < e->C; k++) z += exp(x[k] - mx);
        s += mx + log(z) - x[e->labels[r]];
        cnt++;
    }
    out[0] = cnt ? s / cnt : 0;
}

/* ================================ the checker checks itself ================================ */

TEST(gradcheck_detects_a_wrong_gradient) {
    MmCtx c = {0, 0};
    GcIn in[] = {{SH(3, 4)}, {SH(4, 5)}};
    GcOpt good = {0}, bad = {.corrupt = 1};
    GcRes r1 = gradcheck_run(f_matmul, &c, 2, in, &good, 1), r2 = gradcheck_run(f_matmul, &c, 2, in, &bad, 1);
    CHECK(r1.worst <= 1.0, "clean matmul flagged: %s (%.3g)", r1.where, r1.worst);
    CHECK(r1.checked == 12 + 20, "checked %d elements", r1.checked);
    CHECK(r2.worst > 1.0, "a corrupted gradient went unnoticed (%.3g)", r2.worst);
}

/* ================================ gradients of every op ================================ */

TEST(grad_matmul_all_transposes) {
    static const char *names[] = {"matmul nn", "matmul nt", "matmul tn", "matmul tt"};
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            MmCtx c = {ta, tb};
            GcIn in[] = {{.ndim = 2, .shape = {ta ? 4 : 3, ta ? 3 : 4}},
                         {.ndim = 2, .shape = {tb ? 5 : 4, tb ? 4 : 5}}};
            GRADCHECK(names[ta * 2 + tb], f_matmul, &c, in);
        }
    /* a 3-D left operand (leading dims flattened), with and without transposed b */
    MmCtx c0 = {0, 0}, c1 = {0, 1};
    GcIn in0[] = {{SH(2, 3, 4)}, {SH(4, 5)}}, in1[] = {{SH(2, 3, 4)}, {SH(5, 4)}};
    GRADCHECK("matmul 3-D a", f_matmul, &c0, in0);
    GRADCHECK("matmul 3-D a, tb", f_matmul, &c1, in1);
    /* large enough for the row-parallel sgemm path (2*M*N*K >= 2^21) */
    GcIn big[] = {{SH(256, 64)}, {SH(64, 72)}}, bigt[] = {{SH(256, 64)}, {SH(72, 64)}};
    GRADCHECK("matmul parallel rows", f_matmul, &c0, big, .stride = 97, .atol = 3e-3);
    GRADCHECK("matmul parallel rows, tb", f_matmul, &c1, bigt, .stride = 97, .atol = 3e-3);
}

TEST(grad_bmm_all_transposes) {
    static const char *names[] = {"bmm nn", "bmm nt", "bmm tn", "bmm tt"};
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            MmCtx c = {ta, tb};
            GcIn in[] = {{.ndim = 3, .shape = {3, ta ? 4 : 2, ta ? 2 : 4}},
                         {.ndim = 3, .shape = {3, tb ? 3 : 4, tb ? 4 : 3}}};
            GRADCHECK(names[ta * 2 + tb], f_bmm, &c, in);
        }
    /* the parallel path: B * M * N * K > 32768 */
    MmCtx c = {0, 1};
    GcIn big[] = {{SH(8, 16, 24)}, {SH(8, 20, 24)}};
    GRADCHECK("bmm parallel", f_bmm, &c, big, .stride = 13, .atol = 3e-3);
}

TEST(grad_segmm_with_empty_segment) {
    static const int seg[] = {0, 2, 2, 5, 7};
    SegCtx c = {seg, 4};
    GcIn in[] = {{SH(7, 3)}, {SH(4, 3, 2)}};
    GRADCHECK("segmm", f_segmm, &c, in);
    GcIn inb[] = {{SH(7, 3)}, {SH(4, 3, 2)}, {SH(4, 2)}};
    GRADCHECK("segmm_bias", f_segmm_bias, &c, inb);
    /* segments big enough for the row-parallel sgemm inside each (2*m*N*K >= 2^21) */
    static const int bseg[] = {0, 0, 300, 600};
    SegCtx bc = {bseg, 3};
    GcIn bin[] = {{SH(600, 48)}, {SH(3, 48, 40)}};
    GRADCHECK("segmm parallel", f_segmm, &bc, bin, .stride = 61, .atol = 3e-3);
    GcIn binb[] = {{SH(600, 48)}, {SH(3, 48, 40)}, {SH(3, 40)}};
    GRADCHECK("segmm_bias parallel", f_segmm_bias, &bc, binb, .stride = 61, .atol = 3e-3);
    /* the empty segment's matrix gets exactly zero gradient */
    Arena a;
    arena_init(&a, 0);
    Graph g;
    graph_init(&g, &a);
    float w[24], x[21], gw[24] = {0};
    for (int i = 0; i < 24; i++) w[i] = 0.1f * i;
    for (int i = 0; i < 21; i++) x[i] = 1.0f - 0.05f * i;
    Tensor *W = tensor_wrap(&g, w, gw, SHAPE(4, 3, 2));
    Tensor *y = op_segmm(&g, tensor_from(&g, SHAPE(7, 3), x), W, seg, 4);
    graph_backward(&g, op_sum(&g, y));
    for (int k = 6; k < 12; k++) CHECK(gw[k] == 0.0f, "empty segment grad w[1] elem %d = %g", k - 6, gw[k]);
    for (int k = 0; k < 6; k++) CHECK(gw[k] != 0.0f, "segment 0 grad elem %d is 0", k);
    /* forward: row 2 (segment 2) = x[2] . w[2] */
    for (int n = 0; n < 2; n++) {
        double want = 0;
        for (int k = 0; k < 3; k++) want += x[2 * 3 + k] * w[2 * 6 + k * 2 + n];
        CHECK_NEAR(y->data[2 * 2 + n], want, 1e-5);
    }
    /* with a bias [G, N]: row r of segment s gets bias[s]; the empty segment's bias gets no gradient */
    graph_reset(&g);
    float bias[8] = {1, 2, 3, 4, 5, 6, 7, 8}, gb[8] = {0};
    Tensor *Bt = tensor_wrap(&g, bias, gb, SHAPE(4, 2));
    Tensor *yb = op_segmm_bias(&g, tensor_from(&g, SHAPE(7, 3), x), tensor_from(&g, SHAPE(4, 3, 2), w), Bt, seg, 4);
    graph_backward(&g, op_sum(&g, yb));
    for (int n = 0; n < 2; n++) {
        double want = bias[2 * 2 + n];
        for (int k = 0; k < 3; k++) want += x[2 * 3 + k] * w[2 * 6 + k * 2 + n];
        CHECK_NEAR(yb->data[2 * 2 + n], want, 1e-5);
    }
    static const float gbw[8] = {2, 2, 0, 0, 3, 3, 2, 2}; /* rows per segment: 2, 0, 3, 2 */
    for (int k = 0; k < 8; k++) CHECK(gb[k] == gbw[k], "segmm bias grad[%d] = %g, want %g", k, gb[k], gbw[k]);
    graph_free(&g);
    arena_free(&a);
}

TEST(graph_counts_product_flops) {
    /* 2MNK forward, plus 2MNK for each operand whose gradient backward will compute */
    Arena a;
    arena_init(&a, 0);
    Graph g;
    graph_init(&g, &a);
    float w[20] = {0}, gw[20] = {0};
    Tensor *x = tensor_zeros(&g, SHAPE(3, 4));
    double f0 = g.flops;
    op_matmul(&g, x, tensor_zeros(&g, SHAPE(4, 5)), 0, 0);
    CHECK_NEAR(g.flops - f0, 2.0 * 3 * 5 * 4, 0);
    f0 = g.flops;
    op_matmul(&g, x, tensor_wrap(&g, w, gw, SHAPE(4, 5)), 0, 0);
    CHECK_NEAR(g.flops - f0, 2 * 2.0 * 3 * 5 * 4, 0);
    f0 = g.flops;
    Tensor *xb = tensor_zeros(&g, SHAPE(2, 3, 4));
    tensor_require_grad(&g, xb);
    Tensor *wb = tensor_zeros(&g, SHAPE(2, 4, 5));
    tensor_require_grad(&g, wb);
    op_bmm(&g, xb, wb, 0, 0);
    CHECK_NEAR(g.flops - f0, 3 * 2.0 * 2 * 3 * 5 * 4, 0);
    graph_free(&g);
    arena_free(&a);
}

TEST(released_memory_is_reused_as_a_whole_block) {
    /* a no-grad graph: a tensor that takes a larger released block owns all of it and gives all of
     * it back, so the larger tensor after it fits again (the Meta-GNN's edge states take turns so) */
    Arena a;
    arena_init(&a, 0);
    Graph g;
    graph_init(&g, &a);
    g.no_grad = 1;
    int big = 3 * (int)(HUGE_PAGE / sizeof(float)) / 64, small = 2 * (int)(HUGE_PAGE / sizeof(float)) / 64;
    Tensor *t1 = tensor_new(&g, SHAPE(big, 64));
    tensor_release(&g, t1);
    Tensor *t2 = tensor_new(&g, SHAPE(small, 64));
    CHECK(t2->data == t1->data, "a 4 MiB tensor did not take the released 6 MiB block");
    CHECK(t2->owned == t1->owned, "it owns %zu bytes of the %zu-byte block", t2->owned, t1->owned);
    tensor_release(&g, t2);
    Tensor *t3 = tensor_new(&g, SHAPE(big, 64));
    CHECK(t3->data == t1->data, "the 6 MiB tensor after it took new memory");
    tensor_release(&g, t3);
    Tensor *t4 = tensor_new(&g, SHAPE(small / 4, 64)); /* under half the block: new memory */
    CHECK(t4->data != t1->data, "a tensor of a twelfth of the block took it");
    graph_free(&g);
    arena_free(&a);
}

TEST(grad_add_sub_mul_broadcasting) {
    static const struct {
        const char *name;
        int nda, sa[4], ndb, sb[4];
    } cases[] = {
        {"[2,3,4] op [4]", 3, {2, 3, 4}, 1, {4}}, {"[2,3,4] op [2,1,4]", 3, {2, 3, 4}, 3, {2, 1, 4}},
        {"[3,1] op [1,4]", 2, {3, 1}, 2, {1, 4}}, {"same shape [3,4]", 2, {3, 4}, 2, {3, 4}},
        {"[4] op [2,3,4]", 1, {4}, 3, {2, 3, 4}}, {"[2,1,3,1] op [4,1,5]", 4, {2, 1, 3, 1}, 3, {4, 1, 5}},
    };
    static const char *opn[] = {"add", "sub", "mul"};
    for (int op = 0; op < 3; op++)
        for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
            GcIn in[2] = {{.ndim = cases[k].nda}, {.ndim = cases[k].ndb}};
            memcpy(in[0].shape, cases[k].sa, sizeof cases[k].sa);
            memcpy(in[1].shape, cases[k].sb, sizeof cases[k].sb);
            char name[96];
            snprintf(name, sizeof name, "%s %s", opn[op], cases[k].name);
            int opc = op;
            GRADCHECK(name, f_binary, &opc, in);
        }
    /* one operand without a gradient */
    int opc = BIN_MUL;
    GcIn in[] = {{SH(2, 3, 4)}, {SH(4), .no_grad = 1}};
    GRADCHECK("mul, b without grad", f_binary, &opc, in);
    /* the same-shape parallel path */
    GcIn big[] = {{SH(200, 200)}, {SH(200, 200)}};
    GRADCHECK("mul parallel", f_binary, &opc, big, .stride = 211);
}

TEST(grad_scale_add_scalar) {
    float s = -1.7f, c = 0.3f;
    GcIn in[] = {{SH(3, 5)}};
    GRADCHECK("scale", f_scale, &s, in);
    GRADCHECK("add_scalar", f_add_scalar, &c, in);
}

TEST(grad_concat_three_inputs) {
    int ax0 = 0, ax1 = 1, ax2 = 2;
    GcIn in0[] = {{SH(1, 3, 4)}, {SH(2, 3, 4)}, {SH(3, 3, 4)}};
    GcIn in1[] = {{SH(2, 1, 4)}, {SH(2, 2, 4)}, {SH(2, 3, 4)}};
    GcIn in2[] = {{SH(2, 3, 1)}, {SH(2, 3, 2)}, {SH(2, 3, 3)}};
    GcIn inm[] = {{SH(2, 3, 1)}, {SH(2, 3, 2), .no_grad = 1}, {SH(2, 3, 3)}};
    GRADCHECK("concat axis 0", f_concat3, &ax0, in0);
    GRADCHECK("concat axis 1", f_concat3, &ax1, in1);
    GRADCHECK("concat last axis", f_concat3, &ax2, in2);
    GRADCHECK("concat, middle input without grad", f_concat3, &ax2, inm);
    GcIn dup[] = {{SH(2, 3)}, {SH(2, 2)}};
    GRADCHECK("concat of [x, y, x] (x twice)", f_concat_dup, NULL, dup);
}

TEST(grad_slice) {
    SliceCtx c0 = {0, 1, 2}, c1 = {1, 1, 3}, c2 = {2, 3, 1};
    GcIn in[] = {{SH(3, 5, 4)}};
    GRADCHECK("slice axis 0", f_slice, &c0, in);
    GRADCHECK("slice axis 1", f_slice, &c1, in);
    GRADCHECK("slice axis 2", f_slice, &c2, in);
}

TEST(grad_permute) {
    static const int p3[] = {2, 0, 1}, p4a[] = {0, 2, 1, 3}, p4b[] = {3, 1, 0, 2}, p2[] = {1, 0};
    GcIn in3[] = {{SH(2, 3, 4)}}, in4[] = {{SH(2, 3, 4, 5)}}, in2[] = {{SH(3, 5)}};
    GRADCHECK("permute 3-D", f_permute, (void *)p3, in3);
    GRADCHECK("permute 4-D (0,2,1,3)", f_permute, (void *)p4a, in4);
    GRADCHECK("permute 4-D (3,1,0,2)", f_permute, (void *)p4b, in4);
    GRADCHECK("permute 2-D", f_permute, (void *)p2, in2);
}

TEST(grad_activations) {
    GcIn relu_in[] = {{SH(4, 6), .lo = -2, .hi = 2, .gap = 0.05f}};
    GcIn in[] = {{SH(4, 6), .lo = -3, .hi = 3}};
    GRADCHECK("relu", f_relu, NULL, relu_in);
    GRADCHECK("gelu", f_gelu, NULL, in);
    long n = 24;
    GRADCHECK("gelu float64", f_gelu, &n, in, .ref = ref_gelu);
    GRADCHECK("silu", f_silu, NULL, in);
    GRADCHECK("tanh", f_tanh, NULL, in);
    GRADCHECK("sigmoid", f_sigmoid, NULL, in);
    /* the parallel paths (> 32768 elements), on a strided subset of the elements */
    GcIn big[] = {{SH(40000), .lo = -3, .hi = 3, .gap = 0.05f}};
    GRADCHECK("gelu parallel", f_gelu, NULL, big, .stride = 97);
    GRADCHECK("relu parallel", f_relu, NULL, big, .stride = 97);
}

TEST(grad_softmax_with_and_without_mask) {
    SmCtx plain = {6, 5, NULL, 1};
    GcIn in[] = {{SH(2, 3, 5), .lo = -2, .hi = 2}};
    GRADCHECK("softmax", f_softmax, &plain, in);
    GRADCHECK("softmax float64", f_softmax, &plain, in, .ref = ref_softmax);
    /* mask [3, 5] over a [2, 3, 5]: row 1 fully masked, row 2 keeps one entry */
    static const float mask[] = {1, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0};
    SmCtx masked = {6, 5, mask, 3};
    GRADCHECK("softmax masked", f_softmax, &masked, in);
    GRADCHECK("softmax masked float64", f_softmax, &masked, in, .ref = ref_softmax);
    /* parallel path */
    SmCtx big = {4096, 10, NULL, 1};
    GcIn bin[] = {{SH(4096, 10), .lo = -2, .hi = 2}};
    GRADCHECK("softmax parallel float64", f_softmax, &big, bin, .ref = ref_softmax, .stride = 97);
}

/* Softmax and cross-entropy compute their exponentials with a polynomial (exp_nonpos, not expf):
 * every probability within 2.5e-7 relative of float64 over logits spread across [-110, 30], rows
 * whose smallest entries underflow to exactly 0, and the cross-entropy's loss and gradient alike;
 * a NaN logit makes its row NaN. */
TEST(softmax_and_cross_entropy_values_match_float64) {
    enum { R = 64, C = 37 };
    static float x[R * C], gx[R * C];
    int lab[R];
    Rng rng;
    rng_seed(&rng, 3);
    for (int i = 0; i < R * C; i++) x[i] = -110.0f + 140.0f * rng_uniform(&rng);
    for (int r = 0; r < R; r++) lab[r] = r % 5 == 4 ? -1 : (int)(rng_uniform(&rng) * C) % C;
    Arena a;
    arena_init(&a, 0);
    Graph g;
    graph_init(&g, &a);
    Tensor *p = op_softmax(&g, tensor_from(&g, SHAPE(R, C), x), NULL);
    Tensor *X = tensor_wrap(&g, x, gx, SHAPE(R, C));
    Tensor *loss = op_cross_entropy(&g, X, lab);
    graph_backward(&g, loss);
    double worst = 0, lsum = 0, zeros = 0;
    int cnt = 0;
    for (int r = 0; r < R; r++) {
        float mx = -1e30f; /* x - max rounds in float, in any implementation: the reference does too */
        double z = 0;
        for (int c = 0; c < C; c++) mx = fmaxf(mx, x[r * C + c]);
        for (int c = 0; c < C; c++) z += exp((double)(x[r * C + c] - mx));
        for (int c = 0; c < C; c++) {
            double want = exp((double)(x[r * C + c] - mx)) / z;
            float got = p->data[r * C + c];
            if (want < 1e-37) zeros += got == 0.0f;
            else worst = fmax(worst, fabs(got - want) / want);
        }
        if (lab[r] >= 0) {
            lsum += mx + log(z) - x[r * C + lab[r]];
            cnt++;
        }
    }
    CHECK(worst < 2.5e-7, "softmax: worst relative error %.3g", worst);
    CHECK(zeros > 100, "softmax: only %.0f underflowed entries are exactly 0", zeros);
    CHECK_NEAR(loss->data[0], lsum / cnt, 1e-6 * fabs(lsum / cnt));
    double gworst = 0; /* d loss / d x = (softmax - onehot) / count on labelled rows, 0 elsewhere; the
                        * float log-sum-exp (|x| up to 110) bounds its relative precision near 1e-6 */
    for (int r = 0; r < R; r++)
        for (int c = 0; c < C; c++) {
            double want = lab[r] < 0 ? 0 : ((double)p->data[r * C + c] - (c == lab[r])) / cnt;
            gworst = fmax(gworst, fabs(gx[r * C + c] - want));
        }
    CHECK(gworst * cnt < 4e-6, "cross-entropy gradient: worst error %.3g of 1/count", gworst * cnt);
    /* a NaN logit gives NaN probabilities, not a finite wrong row */
    graph_reset(&g);
    float nanrow[C];
    for (int c = 0; c < C; c++) nanrow[c] = c == 5 ? NAN : -1.0f * c;
    Tensor *pn = op_softmax(&g, tensor_from(&g, SHAPE(1, C), nanrow), NULL);
    int finite = 0;
    for (int c = 0; c < C; c++) finite += isfinite(pn->data[c]);
    CHECK(finite == 0, "softmax of a row with a NaN: %d finite probabilities", finite);
    graph_free(&g);
    arena_free(&a);
}

TEST(grad_layernorm) {
    LnCtx plain = {4, 6, 0, 0, 1e-5f};
    GcIn in0[] = {{SH(4, 6), .lo = -2, .hi = 2}};
    GRADCHECK("layernorm, no gain", f_layernorm, &plain, in0);
    GRADCHECK("layernorm, no gain float64", f_layernorm, &plain, in0, .ref = ref_layernorm);
    LnCtx gb = {6, 6, 1, 1, 1e-5f};
    GcIn in1[] = {{SH(2, 3, 6), .lo = -2, .hi = 2}, {SH(6), .lo = 0.5f, .hi = 1.5f}, {SH(6)}};
    GRADCHECK("layernorm, gain+bias [D]", f_layernorm, &gb, in1);
    GRADCHECK("layernorm, gain+bias [D] float64", f_layernorm, &gb, in1, .ref = ref_layernorm);
    LnCtx pp = {6, 6, 2, 2, 1e-5f};
    GcIn in2[] = {{SH(2, 3, 6), .lo = -2, .hi = 2}, {SH(2, 1, 6), .lo = 0.5f, .hi = 1.5f}, {SH(2, 1, 6)}};
    GRADCHECK("layernorm, per-program gain [B,1,D]", f_layernorm, &pp, in2);
    GRADCHECK("layernorm, per-program gain [B,1,D] float64", f_layernorm, &pp, in2, .ref = ref_layernorm);
    LnCtx full = {6, 6, 6, 0, 1e-5f}; /* a gain per row: [B, T, D] */
    GcIn in5[] = {{SH(2, 3, 6), .lo = -2, .hi = 2}, {SH(2, 3, 6), .lo = 0.5f, .hi = 1.5f}};
    GRADCHECK("layernorm, gain per row [B,T,D]", f_layernorm, &full, in5, .ref = ref_layernorm);
    LnCtx gonly = {6, 6, 2, 0, 1e-5f};
    GcIn in3[] = {{SH(2, 3, 6), .lo = -2, .hi = 2}, {SH(2, 1, 6), .lo = 0.5f, .hi = 1.5f}};
    GRADCHECK("layernorm, gain only", f_layernorm, &gonly, in3, .ref = ref_layernorm);
    /* parallel forward path */
    LnCtx big = {2048, 20, 1, 1, 1e-5f};
    GcIn in4[] = {{SH(2048, 20), .lo = -2, .hi = 2}, {SH(20), .lo = 0.5f, .hi = 1.5f}, {SH(20)}};
    GRADCHECK("layernorm parallel float64", f_layernorm, &big, in4, .ref = ref_layernorm, .stride = 97);
}

TEST(grad_gather_scatter_segment_mean_repeated_indices) {
    static const int gidx[] = {4, 0, 4, 2, 4, 1}; /* row 3 never read, row 4 three times */
    IdxCtx gc = {gidx, 6, 0};
    GcIn gin[] = {{SH(5, 3)}};
    GRADCHECK("gather", f_gather, &gc, gin);
    static const int sidx[] = {1, 3, 1, 1, 0, 3}; /* rows 2 and 4 receive nothing */
    IdxCtx sc = {sidx, 6, 5};
    GcIn sin_[] = {{SH(6, 3)}};
    GRADCHECK("scatter_add", f_scatter_add, &sc, sin_);
    GRADCHECK("segment_mean", f_segment_mean, &sc, sin_);
    /* parallel backward of scatter (N * D > 32768) */
    int *bidx = xmalloc(4096 * sizeof(int));
    for (int i = 0; i < 4096; i++) bidx[i] = (i * 7) % 1000;
    IdxCtx bc = {bidx, 4096, 1001};
    GcIn bin[] = {{SH(4096, 10)}};
    GRADCHECK("segment_mean parallel", f_segment_mean, &bc, bin, .stride = 97);
    free(bidx);
}

/* A run of one index is summed in a register (scatter_fwd): the bits must be those of adding one
 * row at a time into the output, in row order, or a synthesized θ would change with the op. */
TEST(scatter_runs_sum_in_row_order) {
    enum { N = 5000, D = 2, OUT = 700 };
    Arena a;
    Graph g;
    arena_init(&a, 1 << 20);
    graph_init(&g, &a);
    g.no_grad = 1;
    Rng r;
    rng_seed(&r, 7);
    int *idx = xmalloc(N * sizeof(int));
    float *src = xmalloc(N * D * sizeof(float)), *want = xcalloc(OUT * D, sizeof(float));
    float cnt[OUT] = {0};
    for (int i = 0; i < N; i++) /* runs of 1-40 rows; an index may come back in a later run */
        idx[i] = i && rng_uniform(&r) < 0.95 ? idx[i - 1] : (int)(rng_uniform(&r) * OUT);
    for (int i = 0; i < N * D; i++) src[i] = (float)rng_normal(&r) * 1e3f;
    for (int i = 0; i < N; i++) cnt[idx[i]] += 1.0f;
    for (int op = 0; op < 2; op++) {
        for (int i = 0; i < OUT * D; i++) want[i] = 0;
        for (int i = 0; i < N; i++) {
            float w = op ? 1.0f / cnt[idx[i]] : 1.0f;
            for (int d = 0; d < D; d++) want[idx[i] * D + d] += w * src[i * D + d];
        }
        Tensor *t = tensor_wrap(&g, src, NULL, SHAPE(N, D));
        Tensor *y = op ? op_segment_mean(&g, t, idx, OUT) : op_scatter_add(&g, t, idx, OUT);
        CHECK(!memcmp(y->data, want, OUT * D * sizeof(float)), "%s: not the bits of row-order addition",
              op ? "segment_mean" : "scatter_add");
    }
    free(idx);
    free(src);
    free(want);
    graph_free(&g);
    arena_free(&a);
}

TEST(grad_reductions_and_losses) {
    GcIn in[] = {{SH(3, 4)}};
    GRADCHECK("sum", f_sum, NULL, in);
    GRADCHECK("mean", f_mean, NULL, in);
    GcIn in3[] = {{SH(2, 3, 4)}};
    for (int ax = 0; ax < 3; ax++) {
        char name[32];
        snprintf(name, sizeof name, "sum_axis %d", ax);
        GRADCHECK(name, f_sum_axis, &ax, in3);
    }
    GcIn mse_in[] = {{SH(3, 4)}, {SH(3, 4), .no_grad = 1}};
    GRADCHECK("mse", f_mse, NULL, mse_in);
    static const int labels[] = {2, -1, 0, 3, -1};
    CeCtx ce = {5, 4, labels};
    GcIn ce_in[] = {{SH(5, 4), .lo = -3, .hi = 3}};
    GRADCHECK("cross_entropy", f_ce, &ce, ce_in);
    GRADCHECK("cross_entropy float64", f_ce, &ce, ce_in, .ref = ref_ce);
    static const int labels3[] = {1, 0, -1, 2, 2, 0}; /* [2, 3, C] logits flattened */
    CeCtx ce3 = {6, 3, labels3};
    GcIn ce3_in[] = {{SH(2, 3, 3), .lo = -3, .hi = 3}};
    GRADCHECK("cross_entropy 3-D logits float64", f_ce, &ce3, ce3_in, .ref = ref_ce);
}

/* Gradient into weights made by other ops: z [B,Z] -> matmul Wg [Z, K*N] + bg -> reshape [B,K,N]
 * -> used as bmm's per-batch right-hand matrix for x [B,M,K] -> gelu. */
static Tensor *f_generated(Graph *g, Tensor **x, void *c) {
    Tensor *w = op_add(g, op_matmul(g, x[0], x[1], 0, 0), x[2]);
    w = op_reshape(g, w, SHAPE(3, 4, 2));
    return op_gelu(g, op_bmm(g, x[3], w, 0, 0));
}

TEST(grad_generated_weights_chain) {
    GcIn in[] = {{SH(3, 5)}, {SH(5, 8), .lo = -0.5f, .hi = 0.5f}, {SH(8)}, {SH(3, 2, 4)}};
    GRADCHECK("generated weights", f_generated, NULL, in);
    /* the same chain with the generator's parameters in a ParamSet: the gradient lands in ps.grad,
     * and the intermediate W (made by ops, not a parameter) gets a grad buffer of its own */
    ParamSet ps;
    params_init(&ps);
    int iz = params_add(&ps, "z", SHAPE(3, 5)), iw = params_add(&ps, "gen.w", SHAPE(5, 8)),
        ib = params_add(&ps, "gen.b", SHAPE(8));
    params_finalize(&ps);
    Rng r;
    rng_seed(&r, 11);
    params_fill_normal(&ps, iz, &r, 1.0f);
    params_fill_normal(&ps, iw, &r, 0.3f);
    params_fill_normal(&ps, ib, &r, 0.3f);
    float x[24], R[12];
    for (int i = 0; i < 24; i++) x[i] = rng_normal(&r);
    for (int i = 0; i < 12; i++) R[i] = rng_normal(&r);
    Arena a;
    arena_init(&a, 0);
    Graph g;
    graph_init(&g, &a);
    double L0 = 0;
    for (int pass = 0; pass < 2; pass++) {
        graph_reset(&g);
        Tensor *in_t[4] = {params_tensor(&g, &ps, iz), params_tensor(&g, &ps, iw), params_tensor(&g, &ps, ib),
                           tensor_from(&g, SHAPE(3, 2, 4), x)};
        Tensor *w = op_add(&g, op_matmul(&g, in_t[0], in_t[1], 0, 0), in_t[2]);
        CHECK(w->grad != NULL, "generated weights got no grad buffer");
        Tensor *y = op_gelu(&g, op_bmm(&g, in_t[3], op_reshape(&g, w, SHAPE(3, 4, 2)), 0, 0));
        Tensor *L = op_sum(&g, op_mul(&g, y, tensor_from(&g, SHAPE(3, 2, 2), R)));
        if (pass == 0) {
            params_zero_grad(&ps);
            graph_backward(&g, L);
            L0 = L->data[0];
        } else CHECK(L->data[0] == (float)L0, "forward not repeatable");
    }
    /* finite differences over the whole flat parameter buffer */
    double worst = 0;
    long worst_k = -1;
    g.no_grad = 1;
    for (long k = 0; k < ps.n; k++) {
        float x0 = ps.data[k], h = 1e-3f;
        double l[2];
        for (int s = 0; s < 2; s++) {
            ps.data[k] = s ? x0 - h : x0 + h;
            graph_reset(&g);
            Tensor *w = op_add(&g, op_matmul(&g, params_tensor(&g, &ps, iz), params_tensor(&g, &ps, iw), 0, 0),
                               params_tensor(&g, &ps, ib));
            Tensor *y =
                op_gelu(&g, op_bmm(&g, tensor_from(&g, SHAPE(3, 2, 4), x), op_reshape(&g, w, SHAPE(3, 4, 2)), 0, 0));
            double s2 = 0;
            for (int i = 0; i < 12; i++) s2 += (double)y->data[i] * R[i];
            l[s] = s2;
        }
        float xp = x0 + h, xm = x0 - h;
        ps.data[k] = x0;
        double num = (l[0] - l[1]) / ((double)xp - xm), e = fabs(num - ps.grad[k]) / (1e-3 + 1e-2 * fabs(num));
        if (e > worst) {
            worst = e;
            worst_k = k;
        }
    }
    CHECK(worst <= 1.0, "ParamSet generated chain: worst at flat index %ld: analytic %g (error/tol %.3g)", worst_k,
          worst_k >= 0 ? ps.grad[worst_k] : 0.0, worst);
    graph_free(&g);
    arena_free(&a);
    params_free(&ps);
}

/* ================================ forward values ================================ */

TEST(forward_known_values) {
    Arena a;
    arena_init(&a, 0);
    Graph g;
    graph_init(&g, &a);
    /* softmax of [0, ln 2] = [1/3, 2/3] */
    Tensor *s = op_softmax(&g, tensor_from(&g, SHAPE(1, 2), (float[]){0.0f, (float)log(2.0)}), NULL);
    CHECK_NEAR(s->data[0], 1.0 / 3, 1e-6);
    CHECK_NEAR(s->data[1], 2.0 / 3, 1e-6);
    /* fully masked row -> zeros, not NaN; a one-entry row -> 1 there */
    Tensor *sm = op_softmax(&g, tensor_from(&g, SHAPE(2, 3), (float[]){5, -1, 2, 1, 2, 3}),
                            tensor_from(&g, SHAPE(2, 3), (float[]){0, 0, 0, 0, 1, 0}));
    for (int i = 0; i < 6; i++) CHECK(sm->data[i] == (i == 4 ? 1.0f : 0.0f), "masked softmax[%d] = %g", i, sm->data[i]);
    /* layernorm of [1, 2, 3] (eps 0): mean 2, var 2/3 -> [-sqrt(1.5), 0, sqrt(1.5)] */
    Tensor *ln = op_layernorm(&g, tensor_from(&g, SHAPE(1, 3), (float[]){1, 2, 3}), NULL, NULL, 0.0f);
    CHECK_NEAR(ln->data[0], -1.2247449, 1e-6);
    CHECK_NEAR(ln->data[1], 0.0, 1e-6);
    CHECK_NEAR(ln->data[2], 1.2247449, 1e-6);
    Tensor *ln2 = op_layernorm(&g, tensor_from(&g, SHAPE(1, 3), (float[]){1, 2, 3}),
                               tensor_from(&g, SHAPE(3), (float[]){2, 2, 2}),
                               tensor_from(&g, SHAPE(3), (float[]){1, 0, -1}), 0.0f);
    CHECK_NEAR(ln2->data[0], 1 - 2 * 1.2247449, 1e-5);
    CHECK_NEAR(ln2->data[1], 0.0, 1e-6);
    CHECK_NEAR(ln2->data[2], -1 + 2 * 1.2247449, 1e-5);
    /* cross-entropy: uniform logits -> ln C; [1,2,3] label 2 -> log(1 + e^-1 + e^-2); ignored rows drop out */
    Tensor *ce = op_cross_entropy(&g, tensor_from(&g, SHAPE(3, 4), (float[]){0, 0, 0, 0, 9, 9, 9, -9, 1, 2, 3, 0}),
                                  (int[]){1, -1, 2});
    double l2 = log(exp(1.0) + exp(2.0) + exp(3.0) + exp(0.0)) - 3;
    CHECK_NEAR(ce->data[0], (log(4.0) + l2) / 2, 1e-6);
    Tensor *ce1 = op_cross_entropy(&g, tensor_from(&g, SHAPE(1, 3), (float[]){1, 2, 3}), (int[]){2});
    CHECK_NEAR(ce1->data[0], 0.40760596, 1e-6);
    Tensor *ce0 = op_cross_entropy(&g, tensor_from(&g, SHAPE(2, 2), (float[]){1, 2, 3, 4}), (int[]){-1, -1});
    CHECK(ce0->data[0] == 0.0f, "all-ignored cross-entropy = %g", ce0->data[0]);
    /* large logits do not overflow */
    Tensor *ceb = op_cross_entropy(&g, tensor_from(&g, SHAPE(1, 2), (float[]){1000, 0}), (int[]){1});
    CHECK_NEAR(ceb->data[0], 1000.0, 1e-3);
    /* activations */
    Tensor *x = tensor_from(&g, SHAPE(4), (float[]){1, -1, 0, 0.5f});
    Tensor *ge = op_gelu(&g, x), *si = op_silu(&g, x), *th = op_tanh(&g, x), *sg = op_sigmoid(&g, x),
           *re = op_relu(&g, x);
    CHECK_NEAR(ge->data[0], 0.8413447, 1e-6);
    CHECK_NEAR(ge->data[1], -0.1586553, 1e-6);
    CHECK_NEAR(ge->data[2], 0.0, 0);
    CHECK_NEAR(si->data[0], 0.7310586, 1e-6);
    CHECK_NEAR(si->data[1], -0.2689414, 1e-6);
    CHECK_NEAR(th->data[3], 0.46211716, 1e-6);
    CHECK_NEAR(sg->data[2], 0.5, 0);
    CHECK_NEAR(sg->data[0], 0.7310586, 1e-6);
    CHECK(re->data[0] == 1 && re->data[1] == 0 && re->data[2] == 0 && re->data[3] == 0.5f, "relu");
    /* matmul [[1,2],[3,4]] [[5,6],[7,8]] = [[19,22],[43,50]], and with transposes */
    Tensor *A = tensor_from(&g, SHAPE(2, 2), (float[]){1, 2, 3, 4}),
           *B = tensor_from(&g, SHAPE(2, 2), (float[]){5, 6, 7, 8});
    static const float nn[] = {19, 22, 43, 50}, nt[] = {17, 23, 39, 53}, tn[] = {26, 30, 38, 44},
                       tt[] = {23, 31, 34, 46};
    const float *want[] = {nn, nt, tn, tt};
    for (int k = 0; k < 4; k++) {
        Tensor *C = op_matmul(&g, A, B, k / 2, k % 2);
        for (int i = 0; i < 4; i++)
            CHECK(C->data[i] == want[k][i], "matmul case %d [%d] = %g want %g", k, i, C->data[i], want[k][i]);
    }
    /* bmm: batch 1 uses its own right-hand matrix */
    Tensor *bm = op_bmm(&g, tensor_from(&g, SHAPE(2, 1, 2), (float[]){1, 2, 1, 2}),
                        tensor_from(&g, SHAPE(2, 2, 1), (float[]){1, 1, 10, 100}), 0, 0);
    CHECK(bm->data[0] == 3 && bm->data[1] == 210, "bmm = [%g, %g]", bm->data[0], bm->data[1]);
    /* broadcasting [3,1] * [1,4] = outer product; [2,3] - [3] */
    Tensor *o = op_mul(&g, tensor_from(&g, SHAPE(3, 1), (float[]){1, 2, 3}),
                       tensor_from(&g, SHAPE(1, 4), (float[]){1, 10, 100, 1000}));
    CHECK(o->ndim == 2 && o->shape[0] == 3 && o->shape[1] == 4, "outer shape");
    CHECK(o->data[0] == 1 && o->data[5] == 20 && o->data[11] == 3000, "outer values");
    Tensor *d = op_sub(&g, tensor_from(&g, SHAPE(2, 3), (float[]){1, 2, 3, 4, 5, 6}),
                       tensor_from(&g, SHAPE(3), (float[]){1, 1, 2}));
    static const float dw[] = {0, 1, 1, 3, 4, 4};
    for (int i = 0; i < 6; i++) CHECK(d->data[i] == dw[i], "sub bcast [%d] = %g", i, d->data[i]);
    /* scale, add_scalar */
    Tensor *sc = op_add_scalar(&g, op_scale(&g, tensor_from(&g, SHAPE(2), (float[]){1, -2}), 3), 0.5f);
    CHECK(sc->data[0] == 3.5f && sc->data[1] == -5.5f, "scale/add_scalar");
    /* reductions and mse */
    Tensor *m = tensor_from(&g, SHAPE(2, 3), (float[]){1, 2, 3, 4, 5, 6});
    CHECK(op_sum(&g, m)->data[0] == 21 && op_mean(&g, m)->data[0] == 3.5f, "sum/mean");
    Tensor *s0 = op_sum_axis(&g, m, 0), *s1 = op_sum_axis(&g, m, 1);
    CHECK(s0->ndim == 2 && s0->shape[0] == 1 && s0->shape[1] == 3 && s0->data[0] == 5 && s0->data[2] == 9,
          "sum_axis 0");
    CHECK(s1->ndim == 2 && s1->shape[0] == 2 && s1->shape[1] == 1 && s1->data[0] == 6 && s1->data[1] == 15,
          "sum_axis 1");
    Tensor *mse = op_mse(&g, m, tensor_from(&g, SHAPE(6), (float[]){1, 2, 3, 4, 5, 0}));
    CHECK_NEAR(mse->data[0], 6.0, 1e-6);
    graph_free(&g);
    arena_free(&a);
}

TEST(forward_index_and_layout_ops) {
    Arena a;
    arena_init(&a, 0);
    Graph g;
    graph_init(&g, &a);
    float v[12];
    for (int i = 0; i < 12; i++) v[i] = (float)i;
    Tensor *t = tensor_from(&g, SHAPE(4, 3), v);
    Tensor *ga = op_gather(&g, t, (int[]){3, 0, 3}, 3);
    CHECK(ga->ndim == 2 && ga->shape[0] == 3 && ga->shape[1] == 3, "gather shape");
    CHECK(ga->data[0] == 9 && ga->data[3] == 0 && ga->data[8] == 11, "gather values");
    /* gather from a 3-D table ([*, D] flattened) */
    Tensor *ga3 = op_gather(&g, op_reshape(&g, t, SHAPE(2, 2, 3)), (int[]){2}, 1);
    CHECK(ga3->data[0] == 6 && ga3->data[2] == 8, "gather 3-D table");
    Tensor *sa = op_scatter_add(&g, t, (int[]){2, 0, 2, 2}, 4);
    static const float saw[] = {3, 4, 5, 0, 0, 0, 0 + 6 + 9, 1 + 7 + 10, 2 + 8 + 11, 0, 0, 0};
    for (int i = 0; i < 12; i++) CHECK(sa->data[i] == saw[i], "scatter_add[%d] = %g want %g", i, sa->data[i], saw[i]);
    Tensor *sm = op_segment_mean(&g, t, (int[]){2, 0, 2, 2}, 4);
    static const float smw[] = {3, 4, 5, 0, 0, 0, 5, 6, 7, 0, 0, 0};
    for (int i = 0; i < 12; i++) CHECK_NEAR(sm->data[i], smw[i], 1e-6);
    /* concat / slice / permute layouts */
    Tensor *c = op_concat(&g,
                          (Tensor *[]){tensor_from(&g, SHAPE(2, 1), (float[]){1, 2}),
                                       tensor_from(&g, SHAPE(2, 2), (float[]){3, 4, 5, 6})},
                          2, 1);
    static const float cw[] = {1, 3, 4, 2, 5, 6};
    CHECK(c->shape[0] == 2 && c->shape[1] == 3, "concat shape");
    for (int i = 0; i < 6; i++) CHECK(c->data[i] == cw[i], "concat[%d] = %g", i, c->data[i]);
    Tensor *sl = op_slice(&g, t, 1, 1, 2);
    static const float slw[] = {1, 2, 4, 5, 7, 8, 10, 11};
    CHECK(sl->shape[0] == 4 && sl->shape[1] == 2, "slice shape");
    for (int i = 0; i < 8; i++) CHECK(sl->data[i] == slw[i], "slice[%d] = %g", i, sl->data[i]);
    Tensor *p = op_permute(&g, op_reshape(&g, t, SHAPE(2, 3, 2)), (int[]){2, 0, 1});
    CHECK(p->shape[0] == 2 && p->shape[1] == 2 && p->shape[2] == 3, "permute shape");
    /* p[i,j,k] = t3[j,k,i] = 6j + 2k + i */
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++)
            for (int k = 0; k < 3; k++)
                CHECK(p->data[(i * 2 + j) * 3 + k] == 6 * j + 2 * k + i, "permute[%d,%d,%d]", i, j, k);
    /* reshape is a view: same data and grad pointers, no tape entry */
    int before = g.n_nodes;
    Tensor *r = op_reshape(&g, t, SHAPE(12));
    CHECK(r->data == t->data && r->ndim == 1 && r->numel == 12 && g.n_nodes == before, "reshape view");
    graph_free(&g);
    arena_free(&a);
}

TEST(output_shapes) {
    Arena a;
    arena_init(&a, 0);
    Graph g;
    graph_init(&g, &a);
#define SHAPE_IS(t, ...)                                                                                           \
    do {                                                                                                           \
        int w_[] = {__VA_ARGS__};                                                                                  \
        int n_ = (int)(sizeof w_ / sizeof *w_);                                                                    \
        int ok_ = (t)->ndim == n_;                                                                                 \
        for (int i_ = 0; ok_ && i_ < n_; i_++) ok_ = (t)->shape[i_] == w_[i_];                                     \
        CHECK(ok_ && (t)->numel == shape_numel(n_, w_), "%s: wrong shape (ndim %d, [%d,%d,%d,%d])", #t, (t)->ndim, \
              (t)->shape[0], (t)->shape[1], (t)->shape[2], (t)->shape[3]);                                         \
    } while (0)
    Tensor *a3 = tensor_zeros(&g, SHAPE(2, 3, 4)), *b = tensor_zeros(&g, SHAPE(4, 5)),
           *bt = tensor_zeros(&g, SHAPE(5, 4));
    Tensor *mm = op_matmul(&g, a3, b, 0, 0), *mmt = op_matmul(&g, a3, bt, 0, 1);
    SHAPE_IS(mm, 2, 3, 5);
    SHAPE_IS(mmt, 2, 3, 5);
    Tensor *mta = op_matmul(&g, tensor_zeros(&g, SHAPE(4, 6)), b, 1, 0);
    SHAPE_IS(mta, 6, 5);
    Tensor *bmm = op_bmm(&g, a3, tensor_zeros(&g, SHAPE(2, 4, 7)), 0, 0),
           *bmmt = op_bmm(&g, a3, tensor_zeros(&g, SHAPE(2, 3, 7)), 1, 0);
    SHAPE_IS(bmm, 2, 3, 7);
    SHAPE_IS(bmmt, 2, 4, 7);
    Tensor *seg = op_segmm(&g, tensor_zeros(&g, SHAPE(5, 4)), tensor_zeros(&g, SHAPE(2, 4, 3)), (int[]){0, 3, 5}, 2);
    SHAPE_IS(seg, 5, 3);
    Tensor *bc = op_add(&g, tensor_zeros(&g, SHAPE(3, 1)), tensor_zeros(&g, SHAPE(2, 1, 4)));
    SHAPE_IS(bc, 2, 3, 4);
    Tensor *cc = op_concat(&g, (Tensor *[]){a3, a3, a3}, 3, 1);
    SHAPE_IS(cc, 2, 9, 4);
    Tensor *sl = op_slice(&g, a3, 2, 1, 0);
    SHAPE_IS(sl, 2, 3, 0);
    Tensor *pm = op_permute(&g, tensor_zeros(&g, SHAPE(2, 3, 4, 5)), (int[]){3, 1, 0, 2});
    SHAPE_IS(pm, 5, 3, 2, 4);
    Tensor *sa = op_sum_axis(&g, a3, 1);
    SHAPE_IS(sa, 2, 1, 4);
    Tensor *ga = op_gather(&g, a3, (int[]){0, 5, 5, 1, 2}, 5);
    SHAPE_IS(ga, 5, 4);
    Tensor *sc = op_scatter_add(&g, b, (int[]){0, 0, 0, 0}, 9);
    SHAPE_IS(sc, 9, 5);
    Tensor *su = op_sum(&g, a3), *ce = op_cross_entropy(&g, a3, (int[]){0, 1, 2, 3, -1, 0});
    SHAPE_IS(su, 1);
    SHAPE_IS(ce, 1);
    Tensor *ln = op_layernorm(&g, a3, NULL, NULL, 1e-5f);
    SHAPE_IS(ln, 2, 3, 4);
#undef SHAPE_IS
    /* nothing took a gradient, so nothing was recorded */
    CHECK(g.n_nodes == 0, "tape has %d nodes without any grad", g.n_nodes);
    CHECK(mm->grad == NULL, "output of grad-free inputs has a grad buffer");
    graph_free(&g);
    arena_free(&a);
}

TEST(tape_records_only_what_needs_grad) {
    Arena a;
    arena_init(&a, 0);
    Graph g;
    graph_init(&g, &a);
    float w[4] = {1, 2, 3, 4}, gw[4] = {0};
    Tensor *x = tensor_from(&g, SHAPE(1, 2), (float[]){1, 1});
    Tensor *c = op_scale(&g, x, 2); /* no grad anywhere: not recorded */
    CHECK(g.n_nodes == 0 && c->grad == NULL, "constant op recorded");
    Tensor *W = tensor_wrap(&g, w, gw, SHAPE(2, 2));
    Tensor *y = op_matmul(&g, c, W, 0, 0);
    CHECK(g.n_nodes == 1 && y->grad != NULL, "op on a parameter not recorded");
    graph_backward(&g, op_sum(&g, y));
    /* d sum(c W) / dW[k, n] = c[k] = 2 */
    for (int i = 0; i < 4; i++) CHECK(gw[i] == 2.0f, "gw[%d] = %g", i, gw[i]);
    /* gradients accumulate across two backward passes (the ParamSet is zeroed by the caller) */
    graph_reset(&g);
    W = tensor_wrap(&g, w, gw, SHAPE(2, 2));
    graph_backward(&g, op_sum(&g, op_matmul(&g, tensor_from(&g, SHAPE(1, 2), (float[]){1, 1}), W, 0, 0)));
    for (int i = 0; i < 4; i++) CHECK(gw[i] == 3.0f, "accumulated gw[%d] = %g", i, gw[i]);
    /* no_grad: nothing recorded, wrapped tensors lose their grad */
    graph_reset(&g);
    g.no_grad = 1;
    W = tensor_wrap(&g, w, gw, SHAPE(2, 2));
    Tensor *z = op_matmul(&g, x, W, 0, 0);
    CHECK(W->grad == NULL && z->grad == NULL && g.n_nodes == 0, "no_grad recorded something");
    g.no_grad = 0;
    /* tensor_require_grad on an intermediate constant makes gradient flow from there */
    graph_reset(&g);
    Tensor *u = tensor_from(&g, SHAPE(3), (float[]){1, 2, 3});
    tensor_require_grad(&g, u);
    Tensor *L = op_sum(&g, op_mul(&g, u, u));
    graph_backward(&g, L);
    CHECK(u->grad[0] == 2 && u->grad[1] == 4 && u->grad[2] == 6, "d sum(u^2) = [%g %g %g]", u->grad[0], u->grad[1],
          u->grad[2]);
    /* backward from a loss that needs no gradient is a no-op */
    graph_reset(&g);
    graph_backward(&g, op_sum(&g, tensor_from(&g, SHAPE(2), (float[]){1, 2})));
    graph_free(&g);
    arena_free(&a);
}

TEST(arena_alignment_reuse) {
    Arena a;
    arena_init(&a, 1024);
    char *ps[100];
    for (int i = 0; i < 100; i++) {
        ps[i] = arena_alloc(&a, 1 + 37 * i);
        CHECK(((uintptr_t)ps[i] & 63) == 0, "allocation %d not 64-byte aligned", i);
        memset(ps[i], i, 1 + 37 * i);
    }
    for (int i = 0; i < 100; i++)
        for (int k = 0; k < 1 + 37 * i; k++)
            if (ps[i][k] != (char)i) {
                CHECK(0, "allocation %d overwritten at %d", i, k);
                break;
            }
    size_t peak = a.peak;
    arena_reset(&a);
    CHECK(a.used_total == 0, "reset leaves %zu used", a.used_total);
    /* after a reset the same step fits in one block: all allocations are contiguous */
    char *first = arena_alloc(&a, 1), *prev = first;
    for (int i = 1; i < 100; i++) {
        char *p = arena_alloc(&a, 1 + 37 * i);
        CHECK(p > prev, "allocation %d not after the previous one (one block)", i);
        prev = p;
    }
    CHECK(a.peak == peak, "peak changed %zu -> %zu", peak, a.peak);
    float *z = arena_calloc(&a, 1000 * sizeof(float));
    int nz = 0;
    for (int i = 0; i < 1000; i++) nz += z[i] != 0;
    CHECK(nz == 0, "arena_calloc left %d non-zero", nz);
    arena_free(&a);
}

/* ================================ composed model: all parameters at once ================================ */

enum { CB = 2, CT = 4, CD = 6, CH = 8, CC = 5 };
typedef struct {
    ParamSet ps;
    int w1, g1, b1, wq, wo, bo;
    float x[CB * CT * CD];
    int labels[CB * CT];
    float mask[CT * CT];
} Composed;

static void composed_init(Composed *m, uint64_t seed) {
    params_init(&m->ps);
    m->w1 = params_add(&m->ps, "w1", SHAPE(CD, CH));
    m->g1 = params_add(&m->ps, "ln.gain", SHAPE(CH));
    m->b1 = params_add(&m->ps, "ln.bias", SHAPE(CH));
    m->wq = params_add(&m->ps, "wq", SHAPE(CB, CH, CH)); /* one matrix per batch element */
    m->wo = params_add(&m->ps, "wo", SHAPE(CH, CC));
    m->bo = params_add(&m->ps, "bo", SHAPE(CC));
    params_finalize(&m->ps);
    Rng r;
    rng_seed(&r, seed);
    params_fill_normal(&m->ps, m->w1, &r, 0.5f);
    for (int i = 0; i < CH; i++) {
        params_data(&m->ps, m->g1)[i] = 1 + 0.3f * rng_normal(&r);
        params_data(&m->ps, m->b1)[i] = 0.3f * rng_normal(&r);
    }
    params_fill_normal(&m->ps, m->wq, &r, 0.4f);
    params_fill_normal(&m->ps, m->wo, &r, 0.5f);
    params_fill_normal(&m->ps, m->bo, &r, 0.1f);
    for (int i = 0; i < CB * CT * CD; i++) m->x[i] = rng_normal(&r);
    for (int i = 0; i < CB * CT; i++) m->labels[i] = rng_int(&r, CC);
    m->labels[3] = -1;
    for (int i = 0; i < CT; i++)
        for (int j = 0; j < CT; j++) m->mask[i * CT + j] = j <= i; /* causal */
}

/* matmul -> layernorm -> gelu -> bmm (per-batch weights) -> attention softmax (masked) -> bmm ->
 * matmul + bias -> cross-entropy */
static Tensor *composed_loss(Graph *g, Composed *m) {
    const ParamSet *ps = &m->ps;
    Tensor *x = tensor_from(g, SHAPE(CB * CT, CD), m->x);
    Tensor *h = op_matmul(g, x, params_tensor(g, ps, m->w1), 0, 0);
    h = op_gelu(g, op_layernorm(g, h, params_tensor(g, ps, m->g1), params_tensor(g, ps, m->b1), 1e-5f));
    Tensor *h3 = op_reshape(g, h, SHAPE(CB, CT, CH));
    Tensor *q = op_bmm(g, h3, params_tensor(g, ps, m->wq), 0, 0);
    Tensor *s = op_scale(g, op_bmm(g, q, h3, 0, 1), 1.0f / sqrtf((float)CH));
    Tensor *att = op_softmax(g, s, tensor_from(g, SHAPE(CT, CT), m->mask));
    Tensor *ctx = op_reshape(g, op_bmm(g, att, h3, 0, 0), SHAPE(CB * CT, CH));
    Tensor *logits = op_add(g, op_matmul(g, ctx, params_tensor(g, ps, m->wo), 0, 0), params_tensor(g, ps, m->bo));
    return op_cross_entropy(g, logits, m->labels);
}

static double composed_eval(Graph *g, Composed *m) {
    graph_reset(g);
    g->no_grad = 1;
    double L = composed_loss(g, m)->data[0];
    g->no_grad = 0;
    return L;
}

TEST(directional_derivative_composed_model) {
    Composed m;
    composed_init(&m, 5);
    Arena a;
    arena_init(&a, 0);
    Graph g;
    graph_init(&g, &a);
    params_zero_grad(&m.ps);
    Tensor *L = composed_loss(&g, &m);
    graph_backward(&g, L);
    double L0 = L->data[0];
    CHECK(isfinite(L0) && L0 > 0, "loss %g", L0);
    /* every view received a gradient */
    for (int i = 0; i < m.ps.count; i++) {
        const ParamView *v = &m.ps.views[i];
        double n2 = 0;
        for (long k = 0; k < v->numel; k++) n2 += (double)m.ps.grad[v->off + k] * m.ps.grad[v->off + k];
        CHECK(n2 > 0, "no gradient reached %s", v->name);
    }
    float *theta = xmalloc(m.ps.n * sizeof(float)), *dir = xmalloc(m.ps.n * sizeof(float));
    memcpy(theta, m.ps.data, m.ps.n * sizeof(float));
    Rng r;
    rng_seed(&r, 99);
    for (int trial = 0; trial < 4; trial++) {
        double nrm = 0, gv = 0;
        for (long k = 0; k < m.ps.n; k++) {
            dir[k] = rng_normal(&r);
            nrm += (double)dir[k] * dir[k];
        }
        nrm = sqrt(nrm);
        for (long k = 0; k < m.ps.n; k++) {
            dir[k] /= (float)nrm;
            gv += (double)m.ps.grad[k] * dir[k];
        }
        const float h = 2e-3f;
        for (long k = 0; k < m.ps.n; k++) m.ps.data[k] = theta[k] + h * dir[k];
        double lp = composed_eval(&g, &m);
        for (long k = 0; k < m.ps.n; k++) m.ps.data[k] = theta[k] - h * dir[k];
        double lm = composed_eval(&g, &m);
        memcpy(m.ps.data, theta, m.ps.n * sizeof(float));
        double num = (lp - lm) / (2.0 * h);
        CHECK(fabs(num - gv) <= 1e-3 + 1e-2 * fabs(gv), "direction %d: (L(θ+hv)-L(θ-hv))/2h = %.7g, grad·v = %.7g",
              trial, num, gv);
    }
    /* and per element (the model is small): catches errors a random direction could average out */
    double worst = 0;
    long wk = -1;
    for (long k = 0; k < m.ps.n; k++) {
        const float h = 1e-3f;
        float x0 = theta[k];
        m.ps.data[k] = x0 + h;
        double lp = composed_eval(&g, &m);
        m.ps.data[k] = x0 - h;
        double lm = composed_eval(&g, &m);
        double step = (double)(x0 + h) - (double)(x0 - h);
        m.ps.data[k] = x0;
        double num = (lp - lm) / step, e = fabs(num - m.ps.grad[k]) / (2e-3 + 1e-2 * fabs(num));
        if (e > worst) {
            worst = e;
            wk = k;
        }
    }
    CHECK(worst <= 1.0, "composed model: worst element %ld analytic %g (error/tol %.3g)", wk,
          wk >= 0 ? m.ps.grad[wk] : 0.0, worst);
    free(theta);
    free(dir);
    graph_free(&g);
    arena_free(&a);
    params_free(&m.ps);
}

/* ================================ determinism of the parallel paths ================================ */

typedef struct {
    double loss;
    float *grad, *data;
    long n;
} DetOut;

/* A model whose every op runs its OpenMP path (> 32768 elements, sgemm rows split across threads),
 * then an AdamW-sized update of the parameters by hand (adamw has its own tests). */
static DetOut det_run(int threads) {
#ifdef _OPENMP
    int saved = omp_get_max_threads();
    omp_set_num_threads(threads);
#endif
    enum { B = 64, T = 32, D = 64, H = 128, Q = 64, C = 10, NOUT = 1024 };
    ParamSet ps;
    params_init(&ps);
    int w1 = params_add(&ps, "w1", SHAPE(D, H)), g1 = params_add(&ps, "g1", SHAPE(H)),
        b1 = params_add(&ps, "b1", SHAPE(H));
    int wb = params_add(&ps, "wb", SHAPE(B, H, Q)), wo = params_add(&ps, "wo", SHAPE(Q, C)),
        emb = params_add(&ps, "emb", SHAPE(NOUT, Q));
    params_finalize(&ps);
    Rng r;
    rng_seed(&r, 1234);
    params_fill_normal(&ps, w1, &r, 0.2f);
    params_fill(&ps, g1, 1.0f);
    params_fill_normal(&ps, b1, &r, 0.1f);
    params_fill_normal(&ps, wb, &r, 0.1f);
    params_fill_normal(&ps, wo, &r, 0.2f);
    params_fill_normal(&ps, emb, &r, 0.5f);
    float *x = xmalloc((long)B * T * D * sizeof(float));
    for (long i = 0; i < (long)B * T * D; i++) x[i] = rng_normal(&r);
    int *idx = xmalloc(B * T * sizeof(int)), *labels = xmalloc(NOUT * sizeof(int)),
        *gidx = xmalloc(B * T * sizeof(int));
    for (int i = 0; i < B * T; i++) {
        idx[i] = rng_int(&r, NOUT);
        gidx[i] = rng_int(&r, NOUT);
    }
    for (int i = 0; i < NOUT; i++) labels[i] = rng_int(&r, C);
    float *mask = xmalloc(T * T * sizeof(float));
    for (int i = 0; i < T; i++)
        for (int j = 0; j < T; j++) mask[i * T + j] = j <= i;

    Arena a;
    arena_init(&a, 0);
    Graph g;
    graph_init(&g, &a);
    Tensor *h = op_matmul(&g, tensor_from(&g, SHAPE(B * T, D), x), params_tensor(&g, &ps, w1), 0, 0);
    h = op_gelu(&g, op_layernorm(&g, h, params_tensor(&g, &ps, g1), params_tensor(&g, &ps, b1), 1e-5f));
    Tensor *q = op_bmm(&g, op_reshape(&g, h, SHAPE(B, T, H)), params_tensor(&g, &ps, wb), 0, 0); /* [B,T,Q] */
    Tensor *att = op_softmax(&g, op_scale(&g, op_bmm(&g, q, q, 0, 1), 0.125f), tensor_from(&g, SHAPE(T, T), mask));
    Tensor *ctx = op_reshape(&g, op_bmm(&g, att, q, 0, 0), SHAPE(B * T, Q));
    ctx = op_add(&g, ctx, op_gather(&g, params_tensor(&g, &ps, emb), gidx, B * T));
    Tensor *agg = op_segment_mean(&g, op_silu(&g, ctx), idx, NOUT); /* [NOUT, Q] */
    Tensor *L = op_cross_entropy(&g, op_matmul(&g, agg, params_tensor(&g, &ps, wo), 0, 0), labels);
    graph_backward(&g, L);
    DetOut o = {L->data[0], xmalloc(ps.n * sizeof(float)), xmalloc(ps.n * sizeof(float)), ps.n};
    memcpy(o.grad, ps.grad, ps.n * sizeof(float));
/* a plain parallel update so a bit-level difference in grads shows in the data too */
#pragma omp parallel for schedule(static)
    for (long k = 0; k < ps.n; k++) ps.data[k] -= 0.01f * ps.grad[k];
    memcpy(o.data, ps.data, ps.n * sizeof(float));
    graph_free(&g);
    arena_free(&a);
    params_free(&ps);
    free(x);
    free(idx);
    free(labels);
    free(gidx);
    free(mask);
#ifdef _OPENMP
    omp_set_num_threads(saved);
#endif
    return o;
}

TEST(determinism_bit_identical_with_threads) {
#ifndef _OPENMP
    SKIP("built without OpenMP");
#endif
    int counts[] = {2, 3};
    DetOut ref1 = det_run(1);
    for (int c = 0; c < 2; c++) {
        DetOut a = det_run(counts[c]), b = det_run(counts[c]);
        CHECK(memcmp(&a.loss, &b.loss, sizeof a.loss) == 0, "%d threads: loss %.17g vs %.17g", counts[c], a.loss,
              b.loss);
        CHECK(memcmp(a.grad, b.grad, a.n * sizeof(float)) == 0,
              "%d threads: gradients differ between two identical runs", counts[c]);
        CHECK(memcmp(a.data, b.data, a.n * sizeof(float)) == 0, "%d threads: updated parameters differ", counts[c]);
        /* across thread counts the results need not be bit-identical, but must agree closely */
        double worst = 0, gmax = 0;
        for (long k = 0; k < a.n; k++) {
            worst = fmax(worst, fabs(a.grad[k] - ref1.grad[k]));
            gmax = fmax(gmax, fabs(ref1.grad[k]));
        }
        CHECK(worst <= 1e-4 * gmax, "%d threads vs 1: max grad difference %g (max |grad| %g)", counts[c], worst, gmax);
        CHECK_REL(a.loss, ref1.loss, 1e-5);
        free(a.grad);
        free(a.data);
        free(b.grad);
        free(b.data);
    }
    free(ref1.grad);
    free(ref1.data);
}

/* ================================ shape errors abort, loudly ================================ */

/* Runs fn in a child process (stderr silenced); 1 when it aborted. */
static int aborts(void (*fn)(Graph *g)) {
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open("/dev/null", O_WRONLY);
        if (fd >= 0) dup2(fd, 2);
        Arena a;
        arena_init(&a, 0);
        Graph g;
        graph_init(&g, &a);
        fn(&g);
        _exit(0);
    }
    int st = 0;
    if (pid < 0 || waitpid(pid, &st, 0) != pid) return -1;
    return WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT;
}
static void d_matmul_inner(Graph *g) { op_matmul(g, tensor_zeros(g, SHAPE(2, 3)), tensor_zeros(g, SHAPE(4, 5)), 0, 0); }
static void d_bcast(Graph *g) { op_add(g, tensor_zeros(g, SHAPE(2, 3)), tensor_zeros(g, SHAPE(4))); }
static void d_bmm_batch(Graph *g) { op_bmm(g, tensor_zeros(g, SHAPE(2, 3, 4)), tensor_zeros(g, SHAPE(3, 4, 5)), 0, 0); }
static void d_gather(Graph *g) { op_gather(g, tensor_zeros(g, SHAPE(3, 2)), (int[]){0, 3}, 2); }
static void d_scatter(Graph *g) { op_scatter_add(g, tensor_zeros(g, SHAPE(2, 2)), (int[]){0, -1}, 4); }
static void d_ce_label(Graph *g) { op_cross_entropy(g, tensor_zeros(g, SHAPE(2, 3)), (int[]){0, 3}); }
static void d_concat(Graph *g) {
    op_concat(g, (Tensor *[]){tensor_zeros(g, SHAPE(2, 3)), tensor_zeros(g, SHAPE(3, 3))}, 2, 1);
}
static void d_slice(Graph *g) { op_slice(g, tensor_zeros(g, SHAPE(2, 3)), 1, 2, 2); }
static void d_permute(Graph *g) { op_permute(g, tensor_zeros(g, SHAPE(2, 3, 4)), (int[]){0, 1, 1}); }
static void d_segmm(Graph *g) {
    op_segmm(g, tensor_zeros(g, SHAPE(5, 2)), tensor_zeros(g, SHAPE(2, 2, 2)), (int[]){0, 3, 4}, 2);
}
static void d_reshape(Graph *g) { op_reshape(g, tensor_zeros(g, SHAPE(2, 3)), SHAPE(4, 2)); }
static void d_backward_vector(Graph *g) {
    Tensor *x = tensor_zeros(g, SHAPE(3));
    tensor_require_grad(g, x);
    graph_backward(g, op_scale(g, x, 2));
}
/* a [1, T, D] gain broadcasts per position in NumPy; the row-group rule would read it wrongly */
static void d_ln_gain_positional(Graph *g) {
    op_layernorm(g, tensor_zeros(g, SHAPE(2, 3, 4)), tensor_zeros(g, SHAPE(1, 3, 4)), NULL, 1e-5f);
}
static void d_ln_bias_rows(Graph *g) {
    op_layernorm(g, tensor_zeros(g, SHAPE(2, 3, 4)), NULL, tensor_zeros(g, SHAPE(3, 4)), 1e-5f);
}
static void ok_ln_program_gain(Graph *g) {
    op_layernorm(g, tensor_zeros(g, SHAPE(2, 3, 4)), tensor_zeros(g, SHAPE(2, 1, 4)), tensor_zeros(g, SHAPE(1, 1, 4)),
                 1e-5f);
}

TEST(shape_errors_abort) {
    static const struct {
        const char *name;
        void (*fn)(Graph *);
    } cases[] = {
        {"matmul inner dims", d_matmul_inner},
        {"broadcast mismatch", d_bcast},
        {"bmm batch", d_bmm_batch},
        {"gather index", d_gather},
        {"scatter index", d_scatter},
        {"cross-entropy label", d_ce_label},
        {"concat dims", d_concat},
        {"slice range", d_slice},
        {"permute not a permutation", d_permute},
        {"segmm segments", d_segmm},
        {"reshape numel", d_reshape},
        {"backward from a vector", d_backward_vector},
        {"layernorm [1,T,D] gain", d_ln_gain_positional},
        {"layernorm [T,D] bias", d_ln_bias_rows},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        CHECK(aborts(cases[i].fn) == 1, "%s: did not abort", cases[i].name);
    CHECK(aborts(ok_ln_program_gain) == 0, "layernorm [B,1,D] gain aborted");
}

/* segmm's weight and bias gradients over a long segment are reduced by several threads into
 * partial sums (segmm_wgrad): the result must agree with one thread, and be bit-identical run to
 * run at the same thread count. */
static void segmm_long_grads(int threads, float *dw, float *db) {
#ifdef _OPENMP
    omp_set_num_threads(threads);
#endif
    enum { M = 4096, K = 16, N = 32 };
    Arena a;
    Graph g;
    arena_init(&a, 1 << 20);
    graph_init(&g, &a);
    Rng r;
    rng_seed(&r, 17);
    Tensor *x = tensor_new(&g, SHAPE(M, K)), *w = tensor_new(&g, SHAPE(2, K, N)), *b = tensor_new(&g, SHAPE(2, N));
    Tensor *ts[3] = {x, w, b};
    for (int k = 0; k < 3; k++) {
        for (long i = 0; i < ts[k]->numel; i++) ts[k]->data[i] = rng_normal(&r);
        tensor_require_grad(&g, ts[k]);
    }
    int seg[3] = {0, 100, M}; /* a short segment (serial path) and a long one (split path) */
    Tensor *y = op_segmm_bias(&g, x, w, b, seg, 2);
    Tensor *R = tensor_new(&g, SHAPE(M, N));
    for (long i = 0; i < R->numel; i++) R->data[i] = rng_normal(&r);
    graph_backward(&g, op_sum(&g, op_mul(&g, y, R)));
    memcpy(dw, w->grad, w->numel * sizeof(float));
    memcpy(db, b->grad, b->numel * sizeof(float));
    graph_free(&g);
    arena_free(&a);
}
TEST(segmm_split_reduction_matches_and_is_deterministic) {
    static float w1[2 * 16 * 32], b1[64], w2[2 * 16 * 32], b2[64], w2b[2 * 16 * 32], b2b[64];
    segmm_long_grads(1, w1, b1);
    segmm_long_grads(2, w2, b2);
    segmm_long_grads(2, w2b, b2b);
#ifdef _OPENMP
    omp_set_num_threads(2);
#endif
    CHECK(!memcmp(w2, w2b, sizeof w2) && !memcmp(b2, b2b, sizeof b2), "two runs at 2 threads differ");
    double worst = 0;
    for (int i = 0; i < 2 * 16 * 32; i++) worst = fmax(worst, fabs(w1[i] - w2[i]) / fmax(1.0, fabs(w1[i])));
    for (int i = 0; i < 64; i++) worst = fmax(worst, fabs(b1[i] - b2[i]) / fmax(1.0, fabs(b1[i])));
    CHECK(worst < 1e-4, "1 vs 2 threads: worst relative difference %g", worst);
}

/* edge_round: the Meta-GNN's fused message-passing round (two groups, repeated and unused node rows,
 * one node row that receives no edge), then a size that takes the parallel tiles and the per-thread
 * weight-gradient partials. Its output is [h' ; a+ ; a-]: all three are checked. */
typedef struct {
    const int *src, *dst, *seg;
    int G;
} RoundCtx;
static Tensor *f_edge_round(Graph *g, Tensor **in, void *ctx) {
    RoundCtx *c = ctx;
    int M = c->seg[c->G], Rn = in[1]->shape[0];
    Tensor *inv = tensor_new(g, SHAPE(2, Rn));
    edge_inv_degrees(c->src, c->dst, M, Rn, inv->data);
    return op_edge_round(g, in[0], in[1], in[2], in[3], in[4], inv, c->src, c->dst, c->seg, c->G, 1e-5f);
}
TEST(grad_edge_round) {
    static const int src[] = {0, 2, 2, 1, 0, 2, 4}, dst[] = {1, 1, 0, 3, 3, 1, 0}, seg[] = {0, 4, 7};
    RoundCtx c = {src, dst, seg, 2};
    enum { d = 4 };
    GcIn in[] = {{SH(7, d)}, {SH(5, 3 * d)}, {SH(5, 3 * d)}, {SH(2, d, 3 * d)}, {SH(2, 3 * d)}};
    GRADCHECK("edge_round", f_edge_round, &c, in);
}

/* A fused op against the same computation written with the ops it replaces: random inputs
 * (spec: shapes), one backward of sum(y * w) for a fixed w through each, then the outputs must agree
 * to fwd_tol and every input gradient to 1e-3, relative (|a - b| / (1e-3 + |b|)); fwd_tol 0: the
 * same bits, forward and for every input gradient. */
static void fused_matches(TestCtx *t_, const char *what, GcFn fused, GcFn ref, void *ctx, int nin, const GcIn *spec,
                          double fwd_tol, uint64_t seed) {
    Rng r;
    rng_seed(&r, seed);
    float *data[GC_MAXIN], *ga[GC_MAXIN], *gb[GC_MAXIN], *out[2] = {0};
    long n[GC_MAXIN], ny = 0;
    for (int k = 0; k < nin; k++) {
        n[k] = shape_numel(spec[k].ndim, spec[k].shape);
        data[k] = xmalloc(n[k] * sizeof(float));
        ga[k] = xcalloc(n[k], sizeof(float));
        gb[k] = xcalloc(n[k], sizeof(float));
        for (long i = 0; i < n[k]; i++) data[k][i] = (float)(2 * rng_uniform(&r) - 1);
    }
    Arena a;
    arena_init(&a, 1 << 20);
    Graph g;
    graph_init(&g, &a);
    for (int v = 0; v < 2; v++) {
        Tensor *in[GC_MAXIN];
        for (int k = 0; k < nin; k++) in[k] = tensor_wrap(&g, data[k], v ? gb[k] : ga[k], spec[k].ndim, spec[k].shape);
        Tensor *y = v ? ref(&g, in, ctx) : fused(&g, in, ctx);
        Tensor *w = tensor_new(&g, y->ndim, y->shape);
        for (long i = 0; i < y->numel; i++) w->data[i] = (float)((i % 17) - 8) / 8.0f;
        graph_backward(&g, op_sum(&g, op_mul(&g, y, w)));
        CHECK(!v || y->numel == ny, "%s: output has %ld values, the reference %ld", what, ny, y->numel);
        ny = y->numel;
        out[v] = xmalloc(ny * sizeof(float));
        memcpy(out[v], y->data, ny * sizeof(float));
        graph_reset(&g);
    }
    double worst = 0;
    for (long i = 0; i < ny; i++) worst = fmax(worst, fabs(out[0][i] - out[1][i]) / (1e-3 + fabs(out[1][i])));
    CHECK(fwd_tol > 0 ? worst < fwd_tol : !memcmp(out[0], out[1], ny * sizeof(float)),
          "%s: outputs differ from the unfused ops: worst relative %g", what, worst);
    for (int k = 0; k < nin; k++) {
        double wk = 0;
        long at = 0;
        for (long i = 0; i < n[k]; i++) {
            double e = fabs(ga[k][i] - gb[k][i]) / (1e-3 + fabs(gb[k][i]));
            if (e > wk) {
                wk = e;
                at = i;
            }
        }
        CHECK(fwd_tol > 0 ? wk < 1e-3 : !memcmp(ga[k], gb[k], n[k] * sizeof(float)),
              "%s: input %d gradient differs: worst relative %g at %ld (fused %g, unfused %g)", what, k, wk, at,
              ga[k][at], gb[k][at]);
        free(data[k]);
        free(ga[k]);
        free(gb[k]);
    }
    free(out[0]);
    free(out[1]);
    graph_free(&g);
    arena_free(&a);
}

/* A fused op without gradients (synthesis: nothing kept for backward) must give the same bits as
 * with them, on random inputs of the given shapes. */
static void same_without_gradients(TestCtx *t_, const char *what, GcFn f, void *ctx, int nin, const GcIn *spec,
                                   uint64_t seed) {
    Rng r;
    rng_seed(&r, seed);
    float *data[GC_MAXIN], *grad[GC_MAXIN];
    for (int k = 0; k < nin; k++) {
        long n = shape_numel(spec[k].ndim, spec[k].shape);
        data[k] = xmalloc(n * sizeof(float));
        grad[k] = xcalloc(n, sizeof(float));
        for (long i = 0; i < n; i++) data[k][i] = (float)(2 * rng_uniform(&r) - 1);
    }
    Arena a;
    arena_init(&a, 1 << 20);
    Graph g;
    graph_init(&g, &a);
    Tensor *ti[2][GC_MAXIN];
    for (int v = 0; v < 2; v++)
        for (int k = 0; k < nin; k++)
            ti[v][k] = tensor_wrap(&g, data[k], v ? NULL : grad[k], spec[k].ndim, spec[k].shape);
    Tensor *with = f(&g, ti[0], ctx), *without = f(&g, ti[1], ctx);
    CHECK(with->grad && !without->grad && with->numel == without->numel, "%s: one output with a gradient, one without",
          what);
    CHECK(!memcmp(with->data, without->data, with->numel * sizeof(float)), "%s without gradients differs", what);
    graph_free(&g);
    arena_free(&a);
    for (int k = 0; k < nin; k++) {
        free(data[k]);
        free(grad[k]);
    }
}

/* pair_encode: the Meta-GNN encoder fused (relu of an endpoint sum, a group's linear map, LayerNorm):
 * a gradient check on two groups with runs of equal src (a slot's rows) and a t row never read, with
 * and without the per-group term sb; then against gathers, adds, relu, segmm_bias and layernorm at a
 * size that takes the parallel tiles, with runs longer than a tile and segments of unequal length
 * (with sb too, and with sb the same bits, forward and in every gradient, as an add before the
 * op); and without gradients (no rows kept) the same bits. */
typedef struct {
    const int *src, *dst, *seg, *grp; /* grp: each s row's group (the unfused reference's gather of sb) */
    int G, M, Rs, with_sb;
} EncCtx;
static Tensor *f_pair_encode(Graph *g, Tensor **in, void *ctx) {
    EncCtx *c = ctx;
    return op_pair_encode(g, in[0], c->src, c->with_sb ? in[4] : NULL, in[1], c->dst, in[2], in[3], c->seg, c->G, c->M);
}
static Tensor *f_pair_encode_unfused(Graph *g, Tensor **in, void *ctx) {
    EncCtx *c = ctx;
    Tensor *s = c->with_sb ? op_add(g, in[0], op_gather(g, in[4], c->grp, c->Rs)) : in[0];
    Tensor *z = op_relu(g, op_add(g, op_gather(g, s, c->src, c->M), op_gather(g, in[1], c->dst, c->M)));
    return op_layernorm(g, op_segmm_bias(g, z, in[2], in[3], c->seg, c->G), NULL, NULL, 1e-5f);
}
static Tensor *f_pair_encode_add_before(Graph *g, Tensor **in, void *ctx) {
    EncCtx *c = ctx;
    Tensor *s = op_add(g, in[0], op_gather(g, in[4], c->grp, c->Rs));
    return op_pair_encode(g, s, c->src, NULL, in[1], c->dst, in[2], in[3], c->seg, c->G, c->M);
}
TEST(grad_pair_encode) {
    static const int src[] = {0, 0, 1, 1, 2, 2, 3}, dst[] = {0, 1, 0, 1, 3, 2, 3}, seg[] = {0, 4, 7};
    EncCtx c = {src, dst, seg, NULL, 2, 7, 4, 0};
    GcIn in[] = {{SH(4, 5)}, {SH(5, 5)}, {SH(2, 5, 6)}, {SH(2, 6)}, {SH(2, 5)}}; /* t row 4 never read */
    GRADCHECK("pair_encode", f_pair_encode, &c, in);
    c.with_sb = 1;
    GRADCHECK("pair_encode with sb", f_pair_encode, &c, in);
}
TEST(pair_encode_matches_unfused_ops) {
    enum { SLOTS = 1500, B = 4, M = SLOTS * B, C = 16, N = 8, G = 3 };
    /* slot s has B rows (one per intent b); the last 40 slots' rows form one run of 160 > ROW_TILE
     * rows (every row of the last slot), to test a tile that must grow to the end of a run */
    int *src = xmalloc(M * sizeof(int)), *dst = xmalloc(M * sizeof(int)), seg[] = {0, 400 * B, 410 * B, M};
    int *grp = xmalloc(SLOTS * sizeof(int));
    for (int i = 0; i < M; i++) {
        int slot = i / B, g = slot < 400 ? 0 : slot < 410 ? 1 : 2;
        src[i] = i >= M - 160 ? SLOTS - 1 : slot;
        dst[i] = g * B + i % B;
    }
    for (int s = 0; s < SLOTS; s++) grp[s] = s < 400 ? 0 : s < 410 ? 1 : 2;
    EncCtx c = {src, dst, seg, grp, G, M, SLOTS, 0};
    GcIn in[] = {{SH(SLOTS, C)}, {SH(G * B, C)}, {SH(G, C, N)}, {SH(G, N)}, {SH(G, C)}};
    fused_matches(t_, "pair_encode", f_pair_encode, f_pair_encode_unfused, &c, 4, in, 1e-5, 11);
    same_without_gradients(t_, "pair_encode", f_pair_encode, &c, 4, in, 12);
    c.with_sb = 1;
    fused_matches(t_, "pair_encode with sb", f_pair_encode, f_pair_encode_unfused, &c, 5, in, 1e-5, 13);
    /* the encoder's b₁ inside the op or added before it (the Meta-GNN before session 20): training
     * takes the same steps, so every gradient has the same bits */
    fused_matches(t_, "pair_encode with sb, against an add before it", f_pair_encode, f_pair_encode_add_before, &c, 5,
                  in, 0, 15);
    same_without_gradients(t_, "pair_encode with sb", f_pair_encode, &c, 5, in, 14);
    free(src);
    free(dst);
    free(grp);
}

/* gather_product: a slot's two codes gathered and multiplied (rows repeated, one row paired with
 * itself); then at a parallel size against gather, two slices and mul: the same values and the
 * same gradient sums, bit for bit (the columns split across threads keep the rows' order). */
typedef struct {
    const int *pairs;
    int n;
} PairsCtx;
static Tensor *f_gather_product(Graph *g, Tensor **in, void *ctx) {
    PairsCtx *c = ctx;
    return op_gather_product(g, in[0], c->pairs, c->n);
}
static Tensor *f_gather_product_unfused(Graph *g, Tensor **in, void *ctx) {
    PairsCtx *c = ctx;
    int d = in[0]->shape[1];
    Tensor *both = op_reshape(g, op_gather(g, in[0], c->pairs, 2 * c->n), SHAPE(c->n, 2, d));
    return op_mul(g, op_reshape(g, op_slice(g, both, 1, 0, 1), SHAPE(c->n, d)),
                  op_reshape(g, op_slice(g, both, 1, 1, 1), SHAPE(c->n, d)));
}
TEST(grad_gather_product) {
    static const int pairs[] = {0, 3, 2, 3, 1, 1, 0, 2, 3, 0};
    PairsCtx c = {pairs, 5};
    GcIn in[] = {{SH(5, 4)}}; /* row 4 never read */
    GRADCHECK("gather_product", f_gather_product, &c, in);
    enum { N = 20000, V = 300, D = 16 };
    int *big = xmalloc(2 * N * sizeof(int));
    for (int i = 0; i < 2 * N; i++) big[i] = (i * 37 + i / 7) % V;
    PairsCtx bc = {big, N};
    GcIn bin[] = {{SH(V, D)}};
    Rng r;
    rng_seed(&r, 21);
    float *data = xmalloc(V * D * sizeof(float)), *ga = xcalloc(V * D, sizeof(float)),
          *gb = xcalloc(V * D, sizeof(float));
    for (int i = 0; i < V * D; i++) data[i] = (float)(2 * rng_uniform(&r) - 1);
    Arena a;
    arena_init(&a, 1 << 20);
    Graph g;
    graph_init(&g, &a);
    float *out[2];
    for (int v = 0; v < 2; v++) {
        Tensor *t = tensor_wrap(&g, data, v ? gb : ga, 2, bin[0].shape);
        Tensor *y = v ? f_gather_product_unfused(&g, &t, &bc) : f_gather_product(&g, &t, &bc);
        Tensor *w = tensor_new(&g, y->ndim, y->shape);
        for (long i = 0; i < y->numel; i++) w->data[i] = (float)((i % 17) - 8) / 8.0f;
        graph_backward(&g, op_sum(&g, op_mul(&g, y, w)));
        out[v] = xmalloc(y->numel * sizeof(float));
        memcpy(out[v], y->data, y->numel * sizeof(float));
        graph_reset(&g);
    }
    CHECK(!memcmp(out[0], out[1], (size_t)N * D * sizeof(float)), "gather_product differs from gather + mul");
    CHECK(!memcmp(ga, gb, V * D * sizeof(float)), "gather_product's table gradient differs from the unfused sums");
    graph_free(&g);
    arena_free(&a);
    free(out[0]);
    free(out[1]);
    free(data);
    free(ga);
    free(gb);
    free(big);
}

/* edge_round against the same round written with unfused ops (segmm_bias, gathers, adds, relu,
 * slices, segment means, layernorm): outputs and every input gradient agree to float rounding, at a
 * size that takes the parallel tiles and per-thread weight-gradient partials. (Central differences
 * are no check at this size: among 10^5 ReLUs some step always crosses a kink.) */
static Tensor *unfused_round(Graph *g, Tensor **in, const RoundCtx *c, int Rn) {
    int d = in[0]->shape[1];
    int M = in[0]->shape[0];
    Tensor *x = op_relu(
        g, op_add(g, op_add(g, op_segmm_bias(g, in[0], in[3], in[4], c->seg, c->G), op_gather(g, in[1], c->src, M)),
                  op_gather(g, in[2], c->dst, M)));
    Tensor *parts[3] = {op_layernorm(g, op_add(g, in[0], op_slice(g, x, 1, 0, d)), NULL, NULL, 1e-5f),
                        op_segment_mean(g, op_slice(g, x, 1, d, d), c->dst, Rn),
                        op_segment_mean(g, op_slice(g, x, 1, 2 * d, d), c->src, Rn)};
    return op_concat(g, parts, 3, 0);
}
static Tensor *f_unfused_round(Graph *g, Tensor **in, void *ctx) { return unfused_round(g, in, ctx, 300); }
TEST(edge_round_matches_unfused_ops) {
    enum { M = 6000, V = 300, D = 8, G = 3 };
    int *bs = xmalloc(M * sizeof(int)), *bd = xmalloc(M * sizeof(int)), seg[] = {0, 2300, 2300, 6000};
    for (int i = 0; i < M; i++) {
        bs[i] = (i * 7) % V;
        bd[i] = (i * 13 + 5) % V;
    }
    RoundCtx c = {bs, bd, seg, G};
    GcIn in[] = {{SH(M, D)}, {SH(V, 3 * D)}, {SH(V, 3 * D)}, {SH(G, D, 3 * D)}, {SH(G, 3 * D)}};
    fused_matches(t_, "edge_round", f_edge_round, f_unfused_round, &c, 5, in, 1e-5, 7);
    /* without gradients (synthesis) the round keeps no x and uses per-thread tiles: the same bits */
    same_without_gradients(t_, "edge_round", f_edge_round, &c, 5, in, 8);
    free(bs);
    free(bd);
}

/* segmm_bias_relu: the ReLU epilogue of a group's linear map (two groups and an empty one). */
static Tensor *f_segmm_bias_relu(Graph *g, Tensor **x, void *c) {
    SegCtx *s = c;
    return op_segmm_bias_relu(g, x[0], x[1], x[2], s->seg, s->G);
}
TEST(grad_segmm_bias_relu) {
    static const int seg[] = {0, 3, 3, 7};
    SegCtx sc = {seg, 3};
    GcIn sin[] = {{SH(7, 4)}, {SH(3, 4, 5)}, {SH(3, 5)}};
    GRADCHECK("segmm_bias_relu", f_segmm_bias_relu, &sc, sin);
}

/* cpu_setup (main) set flush-to-zero: every thread of a parallel region flushes a subnormal
 * product to zero (four threads: more than the pool may have had, so new ones too). */
TEST(cpu_ftz_on_every_openmp_thread) {
    int flushed[4] = {0}, ran = 0;
#pragma omp parallel num_threads(4) reduction(+ : ran)
    {
        int id = 0;
#ifdef _OPENMP
        id = omp_get_thread_num();
#endif
        volatile float tiny = 1e-30f, y = tiny * 1e-10f; /* 1e-40: subnormal unless flushed */
        flushed[id] = y == 0.0f && (_mm_getcsr() & 0x8040) == 0x8040;
        ran += 1;
    }
    for (int i = 0; i < ran; i++) CHECK(flushed[i], "OpenMP thread %d of %d keeps subnormals", i, ran);
}

/* The BLAS kernel choice (engine/cpu.c): a core is asked for only where OpenBLAS fell back to a
 * generic one, and then the best the CPU's features allow. And in this process (cpu_setup ran in
 * main) no better core is left to ask for, unless the environment chose one. */
TEST(cpu_blas_core_choice) {
    CpuFeatures none = {0}, avx2 = {.avx2 = 1, .fma = 1},
                avx512 = {.avx2 = 1, .fma = 1, .avx512f = 1, .avx512bw = 1, .avx512dq = 1, .avx512vl = 1},
                bf16 = avx512;
    bf16.avx512bf16 = 1;
    const char *w;
    CHECK((w = cpu_blas_core_wanted("Prescott", avx512)) && !strcmp(w, "SkylakeX"), "Prescott on AVX-512: %s",
          w ? w : "none");
    CHECK((w = cpu_blas_core_wanted("Prescott", bf16)) && !strcmp(w, "Cooperlake"), "Prescott on AVX-512 bf16: %s",
          w ? w : "none");
    CHECK((w = cpu_blas_core_wanted("Nehalem", avx2)) && !strcmp(w, "Haswell"), "Nehalem on AVX2: %s", w ? w : "none");
    CHECK(!cpu_blas_core_wanted("Prescott", none), "a core asked for on a CPU without AVX2");
    CHECK(!cpu_blas_core_wanted("Haswell", avx512), "a recognised core (Haswell) overridden");
    CHECK(!cpu_blas_core_wanted("SkylakeX", bf16), "a recognised core (SkylakeX) overridden");
    CHECK(!cpu_blas_core_wanted("Zen", avx2), "a recognised core (Zen) overridden");
    if (!getenv("OPENBLAS_CORETYPE") || getenv("NEUROP_BLAS_CHOSEN"))
        CHECK(!cpu_blas_core_wanted(cpu_blas_core(), cpu_features()), "OpenBLAS runs %s though this CPU could use %s",
              cpu_blas_core(), cpu_blas_core_wanted(cpu_blas_core(), cpu_features()));
    char d[512];
    cpu_describe(d, sizeof d);
    CHECK(strstr(d, "OpenBLAS ") && strstr(d, cpu_blas_core()), "cpu_describe: %s", d);
}

/* tensor_release: in a no-grad graph the memory of a tensor let go goes to the next tensor of about
 * its size (the smallest that fits, at most twice the size); a recording graph keeps everything
 * (backward reads it); memory the arena does not hold (a wrapped parameter) is never handed out;
 * a reset forgets what was given back. */
TEST(engine_tensor_release_reuses_memory_only_without_grad) {
    Arena a;
    arena_init(&a, 1 << 16);
    Graph g;
    graph_init(&g, &a);
    g.no_grad = 1;
    Tensor *x = tensor_new(&g, SHAPE(100, 10)), *y = tensor_new(&g, SHAPE(40, 10));
    float *xd = x->data, *yd = y->data;
    tensor_release(&g, x);
    tensor_release(&g, y);
    Tensor *z = tensor_new(&g, SHAPE(30, 10)); /* fits both: the smaller one */
    CHECK(z->data == yd, "a 300-float tensor did not take the 400-float block given back");
    Tensor *s = tensor_new(&g, SHAPE(10)); /* much smaller than the 1,000-float block: new memory */
    CHECK(s->data != xd, "a 10-float tensor took a 1,000-float block");
    Tensor *w = tensor_new(&g, SHAPE(1000));
    CHECK(w->data == xd, "a 1,000-float tensor did not take the 1,000-float block given back");
    Tensor *v = tensor_new(&g, SHAPE(1000));
    CHECK(v->data != xd && v->data != yd, "a block was handed out twice");
    float outside[64];
    tensor_release(&g, tensor_wrap(&g, outside, NULL, SHAPE(64)));
    CHECK(tensor_new(&g, SHAPE(64))->data != outside, "memory the arena does not hold was handed out");
    tensor_release(&g, v);
    /* a block given back is only ever taken whole by a tensor that fits in it: a larger one gets
     * new memory, a zeroed one's block serves like any other */
    Tensor *big = tensor_new(&g, SHAPE(600000)), *zer = tensor_zeros(&g, SHAPE(600000));
    float *bd = big->data, *zd = zer->data;
    tensor_release(&g, big);
    tensor_release(&g, zer);
    Tensor *b2 = tensor_new(&g, SHAPE(650000));
    CHECK(b2->data != bd && b2->data != zd, "a 2.6 MB tensor took a 2.4 MB block");
    Tensor *b3 = tensor_new(&g, SHAPE(550000)), *b4 = tensor_new(&g, SHAPE(600000));
    CHECK((b3->data == bd || b3->data == zd) && (b4->data == bd || b4->data == zd) && b3->data != b4->data,
          "2.2 and 2.4 MB tensors did not take the two 2.4 MB blocks given back");
    /* the arena keeps ARENA_SPARES blocks: one more replaces the smallest, if it is larger */
    graph_reset(&g);
    Tensor *t[ARENA_SPARES + 1];
    for (int i = 0; i <= ARENA_SPARES; i++) t[i] = tensor_new(&g, SHAPE(1000 * (i + 1)));
    float *largest = t[ARENA_SPARES]->data, *smallest = t[0]->data;
    for (int i = 0; i <= ARENA_SPARES; i++) tensor_release(&g, t[i]);
    CHECK(a.n_spare == ARENA_SPARES, "%d spares kept", a.n_spare);
    CHECK(tensor_new(&g, SHAPE(1000 * (ARENA_SPARES + 1)))->data == largest,
          "the largest block given back was dropped");
    CHECK(tensor_new(&g, SHAPE(1000))->data != smallest, "the smallest block was kept though a larger one came");
    graph_reset(&g);
    CHECK(a.n_spare == 0, "%d blocks given back survive a reset", a.n_spare);
    Tensor *whole = tensor_new(&g, SHAPE(600000)),
           *part = op_rows(&g, op_reshape(&g, whole, SHAPE(600000, 1)), 0, 1000);
    tensor_release(&g, part); /* a view: nothing goes back */
    CHECK(a.n_spare == 0, "releasing a view gave back memory");
    tensor_release(&g, op_reshape(&g, whole, SHAPE(1000, 600)));
    CHECK(a.n_spare == 1 && tensor_new(&g, SHAPE(600000))->data == whole->data,
          "a reshape of a released tensor did not give back its memory");
    graph_reset(&g);
    g.no_grad = 0;
    Tensor *p = tensor_new(&g, SHAPE(50));
    float *pd = p->data;
    tensor_release(&g, p);
    CHECK(tensor_new(&g, SHAPE(50))->data != pd && a.n_spare == 0, "a recording graph reused a tensor's memory");
    graph_free(&g);
    arena_free(&a);
}

/* How neurop starts (engine/cpu.h). LD_DEBUG=libs makes ld.so name every shared library it starts
 * and every program it initializes. Linked as the Makefile links it (libgomp and OpenBLAS static),
 * neurop starts once, its OpenMP defaults set before libgomp reads them; with a shared libgomp
 * (the sanitizer build) it restarts once so that libgomp reads them. Never once with a shared
 * libgomp (the wait policy would be libgomp's default) nor twice without one (a wasted start). */
TEST(cpu_neurop_starts_once_or_restarts_for_shared_openmp) {
    char cmd[4400], line[1024];
    snprintf(cmd, sizeof cmd,
             "env -u GOMP_SPINCOUNT -u OMP_WAIT_POLICY -u NEUROP_RESTARTED LD_DEBUG=libs '%s' help 2>&1 >/dev/null",
             cli_bin());
    FILE *p = popen(cmd, "r");
    CHECK(p, "popen %s", cmd);
    int starts = 0, shared_omp = 0;
    while (fgets(line, sizeof line, p)) {
        starts += strstr(line, "initialize program:") != NULL;
        shared_omp |= strstr(line, "calling init:") && strstr(line, "libgomp");
    }
    CHECK(pclose(p) == 0, "%s failed", cmd);
    CHECK(starts == (shared_omp ? 2 : 1), "neurop started %d times with %s libgomp", starts,
          shared_omp ? "a shared" : "a static");
}

/* bmm with a fused bias: per batch element, and one batch element (rows split across threads,
 * weight and bias gradients summed per thread), against bmm + add at a size that runs in parallel. */
typedef struct {
    int ta, tb;
} BmmCtx;
static Tensor *f_bmm_bias(Graph *g, Tensor **x, void *c) {
    BmmCtx *m = c;
    return op_bmm_bias(g, x[0], x[1], x[2], m->ta, m->tb);
}
static Tensor *f_bmm_add(Graph *g, Tensor **x, void *c) {
    BmmCtx *m = c;
    return op_add(g, op_bmm(g, x[0], x[1], m->ta, m->tb), x[2]);
}
TEST(grad_bmm_bias) {
    BmmCtx nt = {0, 1}, nn = {0, 0};
    GcIn in[] = {{SH(3, 4, 5)}, {SH(3, 6, 5)}, {SH(3, 1, 6)}};
    GRADCHECK("bmm_bias nt", f_bmm_bias, &nt, in);
    GcIn in1[] = {{SH(1, 7, 5)}, {SH(1, 5, 6)}, {SH(1, 1, 6)}};
    GRADCHECK("bmm_bias nn one element", f_bmm_bias, &nn, in1);
    GcIn big[] = {{SH(1, 4000, 24)}, {SH(1, 40, 24)}, {SH(1, 1, 40)}};
    fused_matches(t_, "bmm_bias one element", f_bmm_bias, f_bmm_add, &nt, 3, big, 1e-5, 5);
}

/* segment_rmsnorm: groups of rows (one empty), every column normalized within its group; a float64
 * reference for the forward. */
typedef struct {
    const int *idx;
    int G;
} SegNormCtx;
static Tensor *f_segment_rmsnorm(Graph *g, Tensor **x, void *c) {
    SegNormCtx *s = c;
    return op_segment_rmsnorm(g, x[0], s->idx, s->G, 1e-4f);
}
static void ref_segment_rmsnorm(double *const *in, double *out, void *c) {
    SegNormCtx *s = c;
    enum { R = 7, D = 3 };
    for (int col = 0; col < D; col++)
        for (int k = 0; k < s->G; k++) {
            double m = 0;
            int n = 0;
            for (int i = 0; i < R; i++)
                if (s->idx[i] == k) {
                    m += in[0][i * D + col] * in[0][i * D + col];
                    n++;
                }
            if (!n) continue;
            double r = 1.0 / sqrt(m / n + 1e-4);
            for (int i = 0; i < R; i++)
                if (s->idx[i] == k) out[i * D + col] = in[0][i * D + col] * r;
        }
}
TEST(grad_segment_rmsnorm) {
    static const int idx[] = {0, 2, 2, 0, 3, 2, 0}; /* group 1 empty, group 3 a single row */
    SegNormCtx c = {idx, 4};
    GcIn in[] = {{SH(7, 3)}};
    GRADCHECK("segment_rmsnorm", f_segment_rmsnorm, &c, in, .ref = ref_segment_rmsnorm);
}

/* The narrow-product kernels (gemm.c) against a float64 reference: every row tail (M mod the
 * register block), column counts that use one or both kernel widths, N = 1 (its own loops) or fall
 * back to BLAS, K from 1 to past the block, strided operands, assignment and accumulation, A·B,
 * A·Bᵀ and Aᵀ·B. */
TEST(gemm_kernels_match_reference) {
    Rng r;
    rng_seed(&r, 7);
    static float A[40 * 130], B[130 * 112], C[40 * 120], C0[40 * 120];
    int Ns[] = {8, 16, 24, 32, 48, 96, 100, 1, 3, 10, 33},
        Ks[] = {1, 3, 32, 96, 129}; /* 3, 10, 33, 100: masked tails */
    int lda = 130, ldb = 112, ldc = 120;
    for (int i = 0; i < 40 * 130; i++) A[i] = rng_normal(&r);
    for (int i = 0; i < 130 * 112; i++) B[i] = rng_normal(&r);
    for (int i = 0; i < 40 * 120; i++) C0[i] = rng_normal(&r);
    int bad = 0;
    for (int M = 1; M <= 37; M += (M < 18 ? 1 : 9))
        for (size_t ni = 0; ni < sizeof Ns / sizeof *Ns; ni++)
            for (size_t ki = 0; ki < sizeof Ks / sizeof *Ks; ki++)
                for (int tr = 0; tr < 3; tr++) /* A·B, A·Bᵀ, Aᵀ·B */
                    for (int acc = 0; acc < 2; acc++) {
                        int N = Ns[ni], K = Ks[ki];
                        if (tr == 1 && K > 110) continue; /* Bᵀ [N, K] must fit B's leading dimension */
                        if (tr == 2 && K > 40) continue;  /* Aᵀ: A stored [K, M] must fit A's 40 rows */
                        memcpy(C, C0, sizeof C);
                        if (tr == 1) gemm_nt(M, N, K, A, lda, B, ldb, C, ldc, acc);
                        else if (tr == 2) gemm_tn(M, N, K, A, lda, B, ldb, C, ldc, acc);
                        else gemm_nn(M, N, K, A, lda, B, ldb, C, ldc, acc);
                        for (int i = 0; i < 40; i++)
                            for (int j = 0; j < 120; j++) {
                                double want = C0[i * ldc + j];
                                if (i < M && j < N) {
                                    double s = 0, mag = 0;
                                    for (int k = 0; k < K; k++) {
                                        double p = (double)(tr == 2 ? A[k * lda + i] : A[i * lda + k]) *
                                                   (tr == 1 ? B[j * ldb + k] : B[k * ldb + j]);
                                        s += p;
                                        mag += fabs(p);
                                    }
                                    want = (acc ? want : 0) + s;
                                    if (fabs(C[i * ldc + j] - want) > 1e-5 * (mag + fabs(want) + 1) && bad++ < 5)
                                        CHECK(0, "M=%d N=%d K=%d tr=%d acc=%d: C[%d,%d] = %g, want %g", M, N, K, tr,
                                              acc, i, j, C[i * ldc + j], want);
                                } else if (C[i * ldc + j] != C0[i * ldc + j] && bad++ < 5)
                                    CHECK(0, "M=%d N=%d K=%d tr=%d acc=%d: wrote outside C at [%d,%d]", M, N, K, tr,
                                          acc, i, j);
                            }
                    }
    CHECK(bad == 0, "%d wrong entries (kernel %s)", bad, gemm_kernel_name());
}
