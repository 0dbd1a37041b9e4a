/* Parity with PyTorch: tests/fixtures/engine_parity.safetensors holds the inputs, parameters, loss
 * and every gradient of a small composed model computed by dev/parity_engine.py (torch, float64);
 * this rebuilds the same computation with our ops and compares loss and gradients. No Python here. */
#include "test.h"
#include "engine/params.h"
#include "engine/tensor.h"
#include "io/safetensors.h"
#include <stdlib.h>
#include <string.h>

#define FIXTURE "tests/fixtures/engine_parity.safetensors"
static const char *PARAM_NAMES[] = {"w1", "b1", "ln_g", "ln_b", "wb", "w2", "b2"};
enum { NPARAM = 7 };

/* Worst of |ours - ref| / (rtol * (|ref| + 1e-2 max|ref|)) over the elements: relative, with a floor
 * for entries far below the tensor's scale. <= 1 passes. */
static double worst_error(const float *ours, const StTensor *ref, double rtol, long *wi, double *max_abs) {
    long n = (long)st_numel(ref);
    double scale = 0, worst = 0;
    for (long i = 0; i < n; i++) scale = fmax(scale, fabs(ref->data[i]));
    *wi = 0;
    *max_abs = 0;
    for (long i = 0; i < n; i++) {
        double e = fabs((double)ours[i] - ref->data[i]);
        double r = e / (rtol * (fabs(ref->data[i]) + 1e-2 * scale) + 1e-30);
        *max_abs = fmax(*max_abs, e);
        if (r > worst) {
            worst = r;
            *wi = i;
        }
    }
    return worst;
}

#define COMPARE(name, ours, ref, rtol)                                                                              \
    do {                                                                                                            \
        long wi_;                                                                                                   \
        double ma_;                                                                                                 \
        double w_ = worst_error(ours, ref, rtol, &wi_, &ma_);                                                       \
        if (getenv("NEUROP_GC_VERBOSE"))                                                                            \
            printf("    %-10s %4ld elements, max abs err %.3g, worst error/tol %.3g\n", name, (long)st_numel(ref),  \
                   ma_, w_);                                                                                        \
        CHECK(w_ <= 1.0, "%s: max abs error %.3g; worst element %ld: ours %.9g, torch %.9g (error/tol %.3g)", name, \
              ma_, wi_, (ours)[wi_], (ref)->data[wi_], w_);                                                         \
    } while (0)

static const StTensor *need(TestCtx *t_, const StFile *f, const char *name) {
    const StTensor *s = st_find(f, name);
    CHECK(s != NULL, "fixture has no tensor '%s'", name);
    return s;
}

TEST(parity_with_pytorch) {
    Err e = {{0}};
    StFile *f = st_read(FIXTURE, &e);
    CHECK(f != NULL, "cannot read the parity fixture (regenerate with /usr/bin/python3 dev/parity_engine.py): %s",
          e.msg);
    if (!f) return;
    const StTensor *x = need(t_, f, "x"), *mask = need(t_, f, "mask"), *idx = need(t_, f, "idx"),
                   *lab = need(t_, f, "labels");
    const StTensor *loss_ref = need(t_, f, "loss"), *gx_ref = need(t_, f, "grad.x");
    const StTensor *pt[NPARAM], *gref[NPARAM];
    int ok = x && mask && idx && lab && loss_ref && gx_ref;
    for (int i = 0; i < NPARAM; i++) {
        char gn[32];
        snprintf(gn, sizeof gn, "grad.%s", PARAM_NAMES[i]);
        pt[i] = need(t_, f, PARAM_NAMES[i]);
        gref[i] = need(t_, f, gn);
        ok = ok && pt[i] && gref[i];
    }
    if (!ok) {
        st_free(f);
        return;
    }
    CHECK(x->ndim == 2 && mask->ndim == 2 && pt[4]->ndim == 3, "fixture shapes changed");
    const int BT = (int)x->shape[0], D = (int)x->shape[1], T = (int)mask->shape[0], B = (int)pt[4]->shape[0];
    const int H = (int)pt[0]->shape[1], C = (int)pt[5]->shape[1], NOUT = (int)st_numel(lab);
    CHECK(BT == B * T && st_numel(idx) == BT && pt[0]->shape[0] == D && st_numel(pt[6]) == C,
          "fixture shapes inconsistent");
    if (BT != B * T || st_numel(idx) != BT) {
        st_free(f);
        return;
    }

    /* parameters in a ParamSet (the way models hold them), x as a tensor that takes a gradient */
    ParamSet ps;
    params_init(&ps);
    int vi[NPARAM];
    for (int i = 0; i < NPARAM; i++) {
        int shape[NT_MAXDIM];
        for (int d = 0; d < pt[i]->ndim; d++) shape[d] = (int)pt[i]->shape[d];
        vi[i] = params_add(&ps, PARAM_NAMES[i], pt[i]->ndim, shape);
    }
    params_finalize(&ps);
    for (int i = 0; i < NPARAM; i++) memcpy(params_data(&ps, vi[i]), pt[i]->data, st_numel(pt[i]) * sizeof(float));
    int *sidx = xmalloc(BT * sizeof(int)), *labels = xmalloc(NOUT * sizeof(int));
    for (int i = 0; i < BT; i++) sidx[i] = (int)idx->data[i];
    for (int i = 0; i < NOUT; i++) labels[i] = (int)lab->data[i];

    Arena a;
    arena_init(&a, 0);
    Graph g;
    graph_init(&g, &a);
    Tensor *P[NPARAM];
    for (int i = 0; i < NPARAM; i++) P[i] = params_tensor(&g, &ps, vi[i]);
    Tensor *X = tensor_from(&g, SHAPE(BT, D), x->data);
    tensor_require_grad(&g, X);
    Tensor *h = op_add(&g, op_matmul(&g, X, P[0], 0, 0), P[1]);
    h = op_gelu(&g, op_layernorm(&g, h, P[2], P[3], 1e-5f));
    Tensor *h3 = op_reshape(&g, h, SHAPE(B, T, H));
    Tensor *q = op_bmm(&g, h3, P[4], 0, 0);
    Tensor *s = op_scale(&g, op_bmm(&g, q, h3, 0, 1), 1.0f / sqrtf((float)H));
    Tensor *att = op_softmax(&g, s, tensor_from(&g, SHAPE(T, T), mask->data));
    Tensor *ctx = op_reshape(&g, op_bmm(&g, att, h3, 0, 0), SHAPE(BT, H));
    Tensor *agg = op_scatter_add(&g, ctx, sidx, NOUT);
    Tensor *logits = op_add(&g, op_matmul(&g, agg, P[5], 0, 0), P[6]);
    Tensor *L = op_cross_entropy(&g, logits, labels);
    params_zero_grad(&ps);
    graph_backward(&g, L);

    CHECK_REL(L->data[0], loss_ref->data[0], 1e-5);
    COMPARE("grad.x", X->grad, gx_ref, 1e-4);
    for (int i = 0; i < NPARAM; i++) {
        char gn[32];
        snprintf(gn, sizeof gn, "grad.%s", PARAM_NAMES[i]);
        CHECK(st_numel(gref[i]) == ps.views[vi[i]].numel, "%s: %ld elements, ours %ld", gn, (long)st_numel(gref[i]),
              ps.views[vi[i]].numel);
        COMPARE(gn, ps.grad + ps.views[vi[i]].off, gref[i], 1e-4);
    }
    /* the comparison itself must be able to fail: a gradient off by 0.1% is caught */
    long n0 = ps.views[vi[0]].numel;
    float *bent = xmalloc(n0 * sizeof(float));
    for (long k = 0; k < n0; k++) bent[k] = ps.grad[ps.views[vi[0]].off + k] * 1.001f;
    long wi;
    double ma;
    CHECK(worst_error(bent, gref[0], 1e-4, &wi, &ma) > 1.0, "a 0.1%% error in grad.w1 was not detected");
    free(bent);

    graph_free(&g);
    arena_free(&a);
    params_free(&ps);
    free(sidx);
    free(labels);
    st_free(f);
}
