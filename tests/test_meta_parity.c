/* Parity with PyTorch for one Meta-GNN training step: tests/fixtures/metagnn_parity.safetensors
 * holds, per case, the parameters, the intents' features, inputs and targets, and what
 * dev/parity_metagnn.py computed from them in float64 with an independent implementation (its own
 * neural graph, encodings, message passing, θ head, target execution and MSE): the generated θ,
 * the loss and the gradient of every parameter. This loads the parameters into a Meta-GNN built by
 * method_init, runs forward and backward, and compares. No Python here. */
#include "test.h"
#include "io/safetensors.h"
#include "meta/meta.h"
#include <stdlib.h>
#include <string.h>

#define FIXTURE "tests/fixtures/metagnn_parity.safetensors"

/* |ours - ref| <= rtol * (|ref| + 1e-2 max|ref|) elementwise; reports the worst element. */
static int compare(TestCtx *t_, const char *name, const float *ours, const float *ref, long n, double rtol) {
    double scale = 0, worst = 0, max_abs = 0;
    long wi = 0;
    for (long i = 0; i < n; i++) scale = fmax(scale, fabs(ref[i]));
    for (long i = 0; i < n; i++) {
        double e = fabs((double)ours[i] - ref[i]);
        double r = e / (rtol * (fabs(ref[i]) + 1e-2 * scale) + 1e-30);
        max_abs = fmax(max_abs, e);
        if (r > worst) {
            worst = r;
            wi = i;
        }
    }
    CHECK(worst <= 1.0, "%s: max abs error %.3g; worst element %ld: neurop %.9g, torch %.9g (error/tol %.3g)", name,
          max_abs, wi, n ? ours[wi] : 0.0, n ? ref[wi] : 0.0, worst);
    if (getenv("NEUROP_GC_VERBOSE"))
        printf("    %-22s %5ld elements, max abs err %.3g, worst error/tol %.3g\n", name, n, max_abs, worst);
    return worst <= 1.0;
}

static const StTensor *need(TestCtx *t_, const StFile *f, const char *pre, const char *name) {
    char full[160];
    snprintf(full, sizeof full, "%s%s", pre, name);
    const StTensor *s = st_find(f, full);
    CHECK(s != NULL, "fixture has no tensor '%s' (regenerate with /usr/bin/python3 dev/parity_metagnn.py)", full);
    return s;
}

static int meta_int(TestCtx *t_, const StFile *f, const char *pre, const char *key, int *out) {
    char full[96];
    snprintf(full, sizeof full, "%s%s", pre, key);
    const char *v = st_meta(f, full);
    CHECK(v != NULL, "fixture has no metadata '%s'", full);
    if (!v) return -1;
    *out = atoi(v);
    return 0;
}

static void check_case(TestCtx *t_, const StFile *f, int k) {
    char pre[16];
    snprintf(pre, sizeof pre, "c%d.", k);
    char key[32];
    snprintf(key, sizeof key, "%stemplate", pre);
    const char *tpl_text = st_meta(f, key);
    int width, rounds, n_feat, imlp;
    CHECK(tpl_text != NULL, "fixture has no '%s'", key);
    if (!tpl_text || meta_int(t_, f, pre, "width", &width) || meta_int(t_, f, pre, "rounds", &rounds) ||
        meta_int(t_, f, pre, "n_feat", &n_feat) || meta_int(t_, f, pre, "imlp", &imlp))
        return;
    const StTensor *feat = need(t_, f, pre, "feat"), *x = need(t_, f, pre, "x"), *y = need(t_, f, pre, "y");
    const StTensor *loss_ref = need(t_, f, pre, "loss"), *theta_ref = need(t_, f, pre, "theta");
    if (!feat || !x || !y || !loss_ref || !theta_ref) return;

    Template tpl;
    Err e = {{0}};
    if (template_parse(tpl_text, &tpl, &e)) {
        CHECK(0, "%s", e.msg);
        return;
    }
    MetaConfig cfg = {.width = width, .rounds = rounds, .mixer = 1, .imlp = imlp, .tie = 1, .pe = 1};
    Method m;
    Rng r;
    rng_seed(&r, 1);
    if (method_init(&m, METHOD_GNN, &cfg, &tpl, n_feat, NULL, 0, &r, &e)) {
        CHECK(0, "%s", e.msg);
        return;
    }
    const int B = (int)feat->shape[0], N = (int)x->shape[1];
    CHECK(feat->shape[1] == n_feat && x->shape[0] == B && x->shape[2] == tpl.widths[0] &&
              theta_ref->shape[1] == tpl.n_theta,
          "%s: fixture shapes do not fit the template", tpl_text);

    /* the parameters, by name: the fixture must hold exactly the model's views, with their sizes */
    ParamSet *ps = &m.ps;
    int n_fixture_params = 0, ok = 1;
    for (int i = 0; i < st_count(f); i++) {
        const char *nm = st_at(f, i)->name;
        if (!strncmp(nm, pre, strlen(pre)) &&
            (!strncmp(nm + strlen(pre), "enc.", 4) || !strncmp(nm + strlen(pre), "mp.", 3) ||
             !strncmp(nm + strlen(pre), "imlp.", 5) || !strncmp(nm + strlen(pre), "dec.", 4) ||
             !strncmp(nm + strlen(pre), "head.", 5)))
            n_fixture_params++;
    }
    CHECK(n_fixture_params == ps->count, "%s: the fixture has %d parameter tensors, the model %d", tpl_text,
          n_fixture_params, ps->count);
    for (int i = 0; i < ps->count; i++) {
        const ParamView *v = &ps->views[i];
        const StTensor *s = need(t_, f, pre, v->name);
        if (!s) {
            ok = 0;
            continue;
        }
        int same = s->ndim == v->ndim;
        for (int d = 0; same && d < v->ndim; d++) same = s->shape[d] == v->shape[d];
        CHECK(same, "%s: %s has another shape in the fixture", tpl_text, v->name);
        if (!same) {
            ok = 0;
            continue;
        }
        memcpy(params_data(ps, i), s->data, v->numel * sizeof(float));
    }
    if (!ok) {
        method_free(&m);
        return;
    }

    Arena a;
    arena_init(&a, 1 << 20);
    Graph g;
    graph_init(&g, &a);
    /* θ = M(U) */
    g.no_grad = 1;
    Tensor *th = method_generate(&g, &m, tensor_wrap(&g, feat->data, NULL, SHAPE(B, m.n_feat)));
    char what[192];
    snprintf(what, sizeof what, "%s θ", tpl_text);
    compare(t_, what, th->data, theta_ref->data, th->numel, 1e-4);
    graph_reset(&g);
    g.no_grad = 0;
    /* one training step's forward and backward */
    params_zero_grad(ps);
    Batch b = {.B = B, .N = N, .feat = feat->data, .x = x->data};
    Tensor *pred = method_forward(&g, &m, &b);
    int R = (int)pred->numel;
    CHECK(R == (int)st_numel(y), "%s: %d predictions, %ld targets", tpl_text, R, (long)st_numel(y));
    Tensor *L = op_mse(&g, op_reshape(&g, pred, SHAPE(R)), tensor_wrap(&g, y->data, NULL, SHAPE(R)));
    graph_backward(&g, L);
    CHECK(fabs(L->data[0] - loss_ref->data[0]) <= 1e-5 * fmax(1.0, fabs(loss_ref->data[0])),
          "%s: loss %.9g, torch %.9g", tpl_text, L->data[0], loss_ref->data[0]);
    if (getenv("NEUROP_GC_VERBOSE")) printf("    %s: loss %.9g, torch %.9g\n", tpl_text, L->data[0], loss_ref->data[0]);
    for (int i = 0; i < ps->count; i++) {
        const ParamView *v = &ps->views[i];
        char gn[128];
        snprintf(gn, sizeof gn, "grad.%s", v->name);
        const StTensor *gr = need(t_, f, pre, gn);
        if (!gr) continue;
        CHECK(st_numel(gr) == v->numel, "%s: %s has %ld values, the model %ld", tpl_text, gn, (long)st_numel(gr),
              v->numel);
        if (st_numel(gr) != v->numel) continue;
        snprintf(what, sizeof what, "c%d %s", k, gn);
        compare(t_, what, ps->grad + v->off, gr->data, v->numel, 1e-4);
    }
    graph_free(&g);
    arena_free(&a);
    method_free(&m);
}

TEST(meta_gnn_parity_with_pytorch) {
    Err e = {{0}};
    StFile *f = st_read(FIXTURE, &e);
    CHECK(f != NULL,
          "cannot read the Meta-GNN parity fixture (regenerate with /usr/bin/python3 dev/parity_metagnn.py): %s",
          e.msg);
    if (!f) return;
    const char *fmt = st_meta(f, "format"), *cases = st_meta(f, "cases");
    CHECK(fmt && !strcmp(fmt, "neurop-metagnn-parity-1") && cases, "%s: not a Meta-GNN parity fixture", FIXTURE);
    const char *pe = st_meta(f, "pe_dim");
    CHECK(pe && atoi(pe) == NG_PE_DIM,
          "%s was made for %s positional-encoding features, the graph now has %d: "
          "regenerate it with /usr/bin/python3 dev/parity_metagnn.py",
          FIXTURE, pe ? pe : "?", NG_PE_DIM);
    if (!pe || atoi(pe) != NG_PE_DIM) {
        st_free(f);
        return;
    }
    int n = cases ? atoi(cases) : 0;
    CHECK(n >= 1, "%s: no cases", FIXTURE);
    int with_imlp = 0; /* a case must cover the intent MLP (the imlp setting) */
    for (int k = 0; k < n; k++) {
        char key[32];
        snprintf(key, sizeof key, "c%d.imlp", k);
        const char *v = st_meta(f, key);
        with_imlp += v && atoi(v) > 0;
        check_case(t_, f, k);
    }
    CHECK(with_imlp >= 1, "%s: no case with the intent MLP (regenerate with /usr/bin/python3 dev/parity_metagnn.py)",
          FIXTURE);
    st_free(f);
}
