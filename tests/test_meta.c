/* Meta-learner tests: the full chain (loss -> target execution -> θ head -> decoders -> message
 * passing / mixer -> encoders) of each of the four methods against central finite differences, on
 * an MLP and a Transformer template; and Meta-GNN's equivariance under the template's declared
 * symmetries, in the configuration ADDMOD and 1D-ARC ship too (with Meta-MLP as the counterexample).
 *
 * The gradient check: the analytic gradient of every parameter in m.ps comes from graph_backward;
 * the numerical one from the float32 forward with the loss re-accumulated in double. Checked are
 * (a) directional derivatives over all parameters at once (the normalized gradient itself and a
 * few random directions) and (b) individual coordinates of every parameter view. ReLU kinks make
 * a central difference meaningless where one lies within h: a coordinate whose differences at h
 * and h/2 disagree is skipped (and counted; too many skips fail the test). */
#include "test.h"
#include "engine/tape.h"
#include "meta/meta_internal.h"
#include "program/ngraph.h"
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#define TPL_MLP_TEXT "mlp 3-4-1 act=relu"
#define TPL_TF_TEXT "transformer vocab=5 len=3 d=4 heads=2 mlp=6 classes=5 layers=1 prenorm=1 readout=last act=relu"

/* ================================ one tiny problem ================================ */

typedef struct Case {
    Template tpl;
    Method m;
    int B, N, F, R, out; /* R prediction rows (B*N), out values per row (MLP) or classes */
    float *feat, *x, *y;
    int *tok, *lab, *itok;
    int *demo; /* cfg.demo_len > 0: [B, demo_pairs * demo_len] example cells */
} Case;

static MetaConfig tiny_cfg(MethodKind k, const Template *tpl) {
    MetaConfig c = {.width = k == METHOD_DIRECT ? 4 : 6, .rounds = 2, .mixer = 4, .tie = 1, .pe = 1};
    if (k == METHOD_DIRECT && tpl->kind == TPL_TRANSFORMER) {
        c.itok_len = 1;
        c.itok_vocab = 0;
    }
    return c;
}

/* Builds template, method (φ and calibration from seed) and one batch of random data. */
static int case_init(TestCtx *t_, Case *c, const char *tpl_text, MethodKind k, const MetaConfig *cfg_in,
                     uint64_t seed) {
    memset(c, 0, sizeof *c);
    Err e = {{0}};
    if (template_parse(tpl_text, &c->tpl, &e)) {
        CHECK(0, "%s: %s", tpl_text, e.msg);
        return -1;
    }
    MetaConfig cfg = cfg_in ? *cfg_in : tiny_cfg(k, &c->tpl);
    c->B = 3;
    c->N = 4;
    c->F = 3;
    c->R = c->B * c->N;
    Rng r;
    rng_seed(&r, seed);
    enum { NCAL = 4 };
    float calib[NCAL * 3];
    for (int i = 0; i < NCAL * c->F; i++) calib[i] = (float)(2 * rng_uniform(&r) - 1);
    Rng init = rng_fork(&r, 1);
    if (method_init(&c->m, k, &cfg, &c->tpl, c->F, calib, NCAL, &init, &e)) {
        CHECK(0, "method_init %s: %s", method_name(k), e.msg);
        return -1;
    }
    /* a generic point: init sets every bias to 0, and a group of a meta-learner whose encoder
     * ReLUs are all off for every member then feeds LN(0 + b₂) = LN(0), the LayerNorm at its
     * singular point (gradient 1/sqrt(eps)), where no finite difference means anything. The θ
     * head is calibrated again, for the standard init's spread at this point. */
    ParamSet *ps = &c->m.ps;
    Rng rb = rng_fork(&r, 2);
    for (int i = 0; i < ps->count; i++)
        if (strstr(ps->views[i].name, ".bias")) params_fill_normal(ps, i, &rb, 0.1f);
    if (k != METHOD_DIRECT) theta_head_calibrate(&c->m, (ThetaHead *)c->m.impl, calib, NCAL);
    c->feat = xmalloc((size_t)c->B * c->F * sizeof(float));
    for (int i = 0; i < c->B * c->F; i++) c->feat[i] = (float)(2 * rng_uniform(&r) - 1);
    if (c->tpl.kind == TPL_MLP) {
        int in = c->tpl.widths[0];
        c->out = c->tpl.widths[c->tpl.n_layers];
        c->x = xmalloc((size_t)c->R * in * sizeof(float));
        c->y = xmalloc((size_t)c->R * c->out * sizeof(float));
        for (int i = 0; i < c->R * in; i++) c->x[i] = (float)(2 * rng_uniform(&r) - 1);
        for (int i = 0; i < c->R * c->out; i++) c->y[i] = (float)(2 * rng_uniform(&r) - 1);
    } else {
        NP_ASSERT(c->tpl.readout_last, "case_init: readout=last templates only");
        c->out = c->tpl.classes;
        c->tok = xmalloc((size_t)c->R * c->tpl.len * sizeof(int));
        c->lab = xmalloc((size_t)c->R * sizeof(int));
        c->itok = xmalloc((size_t)c->B * (cfg.itok_len > 0 ? cfg.itok_len : 1) * sizeof(int));
        for (int i = 0; i < c->R * c->tpl.len; i++) c->tok[i] = rng_int(&r, c->tpl.vocab);
        for (int i = 0; i < c->R; i++) c->lab[i] = rng_int(&r, c->tpl.classes);
        for (int i = 0; i < c->B * cfg.itok_len; i++) c->itok[i] = rng_int(&r, c->tpl.vocab + cfg.itok_vocab);
    }
    if (cfg.demo_len > 0) {
        int n = c->B * cfg.demo_pairs * cfg.demo_len;
        c->demo = xmalloc((size_t)n * sizeof(int));
        for (int i = 0; i < n; i++) c->demo[i] = rng_int(&r, 100);
    }
    return 0;
}

static void case_free(Case *c) {
    method_free(&c->m);
    free(c->feat);
    free(c->x);
    free(c->y);
    free(c->tok);
    free(c->lab);
    free(c->itok);
    free(c->demo);
}

static Tensor *case_pred(Graph *g, Case *c) {
    Batch b = {.B = c->B, .N = c->N, .feat = c->feat, .x = c->x, .tok = c->tok, .itok = c->itok, .demo = c->demo};
    Tensor *p = method_forward(g, &c->m, &b);
    NP_ASSERT(p->numel == (long)c->R * c->out, "method_forward: %ld outputs, want %d", p->numel, c->R * c->out);
    return p;
}

/* The loss with grad: MSE (MLP template) or cross-entropy (Transformer). */
static Tensor *case_loss(Graph *g, Case *c) {
    Tensor *p = case_pred(g, c);
    if (c->tpl.kind == TPL_MLP)
        return op_mse(g, op_reshape(g, p, SHAPE(c->R * c->out)), tensor_wrap(g, c->y, NULL, SHAPE(c->R * c->out)));
    return op_cross_entropy(g, op_reshape(g, p, SHAPE(c->R, c->out)), c->lab);
}

/* The same loss from the float32 predictions, accumulated in double, and a hash of the ReLU
 * pattern: which inputs of every ReLU on the tape (the target's and the meta-learner's) are
 * positive. Two points with the same pattern lie on one linear piece of every ReLU, so the loss
 * is smooth between them and a central difference means something; another pattern is a kink. */
static double case_eval(Graph *g, Case *c, uint64_t *pattern) {
    graph_reset(g);
    Tensor *p = case_pred(g, c);
    double L = 0;
    if (c->tpl.kind == TPL_MLP) {
        for (long i = 0; i < p->numel; i++) {
            double d = (double)p->data[i] - c->y[i];
            L += d * d;
        }
        L /= p->numel;
    } else {
        for (int i = 0; i < c->R; i++) {
            const float *z = p->data + (long)i * c->out;
            double mx = z[0], s = 0;
            for (int k = 1; k < c->out; k++) mx = fmax(mx, z[k]);
            for (int k = 0; k < c->out; k++) s += exp((double)z[k] - mx);
            L += mx + log(s) - z[c->lab[i]];
        }
        L /= c->R;
    }
    uint64_t h = 1469598103934665603ull; /* FNV-1a over (position, sign) */
    for (int i = 0; i < g->n_nodes; i++) {
        const Node *n = &g->nodes[i];
        long cnt = op_relu_signs(n, NULL);
        unsigned char *on = xmalloc(cnt > 0 ? cnt : 1);
        op_relu_signs(n, on);
        for (long k = 0; k < cnt; k++) h = (h ^ ((uint64_t)k << 1 | on[k])) * 1099511628211ull;
        free(on);
    }
    if (pattern) *pattern = h;
    graph_reset(g);
    return L;
}

/* ================================ the check ================================ */

typedef struct GcStats {
    int checked, kinks, dirs_checked;
    double worst, worst_dir;
    char where[160];
} GcStats;

/* Central difference of the loss along dir (NULL: coordinate k) with step h; *kink = 1 when the
 * ReLU pattern differs between the two ends. */
static double fd(Graph *g, Case *c, const float *theta, const float *dir, long k, float h, int *kink) {
    ParamSet *ps = &c->m.ps;
    double num;
    uint64_t pp, pm;
    if (dir) {
        for (long i = 0; i < ps->n; i++) ps->data[i] = theta[i] + h * dir[i];
        double lp = case_eval(g, c, &pp);
        for (long i = 0; i < ps->n; i++) ps->data[i] = theta[i] - h * dir[i];
        double lm = case_eval(g, c, &pm);
        num = (lp - lm) / (2.0 * h);
        memcpy(ps->data, theta, ps->n * sizeof(float));
    } else {
        float x0 = theta[k], xp = x0 + h, xm = x0 - h;
        ps->data[k] = xp;
        double lp = case_eval(g, c, &pp);
        ps->data[k] = xm;
        double lm = case_eval(g, c, &pm);
        ps->data[k] = x0;
        num = (lp - lm) / ((double)xp - (double)xm);
    }
    *kink = pp != pm;
    return num;
}

/* The numerical derivative: for the largest step h from 2e-3 down to hmin whose ends share their
 * ReLU pattern (and so do those of h/2), Richardson's (4 D(h/2) - D(h)) / 3, which cancels the h²
 * error term (the target's LayerNorms over d = 4 channels are strongly curved). The float32
 * forward carries noise of a few 1e-7 of the loss, which a difference divides by h: *noise is that
 * bound for the step used (the caller adds it to its tolerance). *ok = 0 when a ReLU switches
 * within even the smallest step. */
static double fd_num(Graph *g, Case *c, const float *theta, const float *dir, long k, float hmin, double loss,
                     double *noise, int *ok) {
    for (float h = 2e-3f; h >= hmin; h /= 2) {
        int k1, k2;
        double d1 = fd(g, c, theta, dir, k, h, &k1);
        if (k1) continue;
        double d2 = fd(g, c, theta, dir, k, h / 2, &k2);
        if (k2) continue; /* a ReLU that switched and switched back */
        *ok = 1;
        *noise = 3 * 3e-7 * fmax(1.0, loss) / h;
        return (4 * d2 - d1) / 3;
    }
    *ok = 0;
    return 0;
}

/* Error of an analytic value a against numerical n, as a fraction of the tolerance. */
static double gc_err(double a, double n, double atol, double rtol) {
    return fabs(a - n) / (atol + rtol * fmax(fabs(a), fabs(n)));
}

/* Views the loss cannot depend on, so their gradient is 0 up to rounding: the encoders' weights
 * for float encodings when there are none (pe off, or learned codes), and under the centred head a
 * decoder's output bias (a constant added to every slot of a tensor, which the centring removes). */
static int invariant_view(const Method *m, const char *name) {
    if ((m->cfg.pe == PE_OFF || pe_codes(m->cfg.pe)) && strstr(name, ".pe.weight")) return 1;
    return m->cfg.head >= 1 && !strncmp(name, "dec.", 4) && strstr(name, ".1.bias");
}

/* 1 with the name of the first view that gets no gradient (pe weights excepted when pe is off). */
static int dead_view(Case *c, char *name, size_t n) {
    ParamSet *ps = &c->m.ps;
    Arena a;
    arena_init(&a, 1 << 20);
    Graph g;
    graph_init(&g, &a);
    params_zero_grad(ps);
    graph_backward(&g, case_loss(&g, c));
    int dead = 0;
    for (int i = 0; i < ps->count && !dead; i++) {
        const ParamView *v = &ps->views[i];
        if (invariant_view(&c->m, v->name)) continue;
        double n2 = 0;
        for (long j = 0; j < v->numel; j++) n2 += (double)ps->grad[v->off + j] * ps->grad[v->off + j];
        if (n2 == 0) {
            dead = 1;
            snprintf(name, n, "%s", v->name);
        }
    }
    params_zero_grad(ps);
    graph_free(&g);
    arena_free(&a);
    return dead;
}

/* corrupt (self-test): the name of a view whose analytic gradient is scaled by 1.03 before the
 * comparison; the coordinate check must then fail (st.worst > 1), and is not CHECKed here. */
static GcStats gradcheck_run(TestCtx *t_, const char *tpl_text, MethodKind k, const MetaConfig *cfg, uint64_t seed,
                             int per_view, const char *corrupt) {
    GcStats st = {0};
    Case c;
    const char *what = method_name(k);
    /* a draw where some view gets no gradient at all: at these tiny widths every ReLU of a layer
     * can be off for every row (e.g. an untied edge decoder). Another draw then; a chain that is
     * really broken stays broken in every draw. */
    char dead[96] = "";
    for (int attempt = 0; attempt < 4; attempt++) {
        if (case_init(t_, &c, tpl_text, k, cfg, seed + 7919 * attempt)) return st;
        if (!dead_view(&c, dead, sizeof dead)) break;
        case_free(&c);
        if (attempt == 3) {
            CHECK(0, "%s on %s: no gradient reaches %s (in 4 draws)", what, tpl_text, dead);
            return st;
        }
    }
    int tf = c.tpl.kind == TPL_TRANSFORMER;
#ifdef _OPENMP
    int nt = omp_get_max_threads();
    omp_set_num_threads(1); /* thousands of tiny forwards: parallel regions would only cost */
#endif
    ParamSet *ps = &c.m.ps;
    Arena a;
    arena_init(&a, 1 << 20);
    Graph g;
    graph_init(&g, &a);
    params_zero_grad(ps);
    Tensor *L = case_loss(&g, &c);
    double L0 = L->data[0];
    graph_backward(&g, L);
    graph_reset(&g);
    float *grad = xmalloc(ps->n * sizeof(float)), *theta = xmalloc(ps->n * sizeof(float)),
          *dir = xmalloc(ps->n * sizeof(float));
    memcpy(grad, ps->grad, ps->n * sizeof(float));
    memcpy(theta, ps->data, ps->n * sizeof(float));
    int cv = corrupt ? params_find(ps, corrupt) : -1;
    NP_ASSERT(!corrupt || cv >= 0, "gradcheck: no view %s", corrupt);
    if (cv >= 0)
        for (long j = 0; j < ps->views[cv].numel; j++) grad[ps->views[cv].off + j] *= 1.03f;
    double Ld = case_eval(&g, &c, NULL);
    CHECK(isfinite(L0) && L0 > 0 && fabs(L0 - Ld) <= 1e-5 * fmax(1.0, Ld),
          "%s on %s: loss %.9g, double re-evaluation %.9g", what, tpl_text, L0, Ld);

    /* every parameter view takes part (a view with no gradient at all is a broken chain) */
    for (int i = 0; i < ps->count; i++) {
        const ParamView *v = &ps->views[i];
        double n2 = 0;
        for (long j = 0; j < v->numel; j++) n2 += (double)grad[v->off + j] * grad[v->off + j];
        if (invariant_view(&c.m, v->name)) continue;
        CHECK(n2 > 0, "%s on %s: no gradient reaches %s", what, tpl_text, v->name);
    }

    const double atol = 2e-4 * fmax(1.0, Ld), rtol = 1e-2;

    /* (a) directional derivatives over all parameters: along the gradient, then along random
     * reweightings of it, g_i (1 + z_i / 2) + z'_i |g| / sqrt(n) (z, z' standard normal): every
     * parameter moves, the derivative stays large against the float32 noise, and the steps can go
     * down to 3e-5, which a move of all parameters at once needs to find a ReLU-free step */
    double gn = 0;
    for (long i = 0; i < ps->n; i++) gn += (double)grad[i] * grad[i];
    gn = sqrt(gn);
    Rng r;
    rng_seed(&r, seed ^ 0xd1ec);
    for (int trial = 0; trial < 4; trial++) {
        double nrm = 0, gv = 0;
        double iso = gn / sqrt((double)ps->n);
        for (long i = 0; i < ps->n; i++) {
            dir[i] = trial == 0 ? grad[i] : (float)(grad[i] * (1 + 0.5 * rng_normal(&r)) + iso * rng_normal(&r));
            nrm += (double)dir[i] * dir[i];
        }
        nrm = sqrt(nrm);
        for (long i = 0; i < ps->n; i++) {
            dir[i] = (float)(dir[i] / nrm);
            gv += (double)grad[i] * dir[i];
        }
        int ok;
        double noise, num = fd_num(&g, &c, theta, dir, 0, 4e-6f, Ld, &noise, &ok);
        if (!ok) continue; /* every step crosses a kink: this direction says nothing */
        double err = gc_err(gv, num, atol + noise, rtol);
        st.dirs_checked++;
        if (getenv("NEUROP_GC_VERBOSE"))
            printf("      dir %d: grad.dir %.6g FD %.6g noise %.3g err %.3g\n", trial, gv, num, noise, err);
        if (err > st.worst_dir) st.worst_dir = err;
        CHECK(corrupt || err <= 1.0, "%s on %s: direction %d: FD %.7g, grad.dir %.7g (|grad| %.4g)", what, tpl_text,
              trial, num, gv, gn);
    }
    CHECK(st.dirs_checked >= 3, "%s on %s: only %d of 4 directions were free of kinks", what, tpl_text,
          st.dirs_checked);

    /* (b) coordinates of every view: all of them when the view is small, else a random sample */
    int tried = 0;
    for (int i = 0; i < ps->count; i++) {
        const ParamView *v = &ps->views[i];
        long n = v->numel, take = n <= per_view ? n : per_view;
        for (long s = 0; s < take; s++) {
            long j = v->off + (n <= per_view ? s : (long)rng_int(&r, (int)n));
            int ok;
            double noise, num = fd_num(&g, &c, theta, NULL, j, 2.5e-4f, Ld, &noise, &ok);
            tried++;
            if (!ok) {
                st.kinks++;
                continue;
            }
            double err = gc_err(grad[j], num, atol + noise, rtol);
            st.checked++;
            if (err > st.worst) {
                st.worst = err;
                snprintf(st.where, sizeof st.where, "%s[%ld]: analytic %.7g, FD %.7g", v->name, j - v->off, grad[j],
                         num);
            }
        }
    }
    CHECK(corrupt || st.worst <= 1.0, "%s on %s: worst coordinate %s (error/tol %.3g)", what, tpl_text, st.where,
          st.worst);
    CHECK(st.kinks <= tried / 4 + 2, "%s on %s: %d of %d coordinates sit on kinks", what, tpl_text, st.kinks, tried);
    if (getenv("NEUROP_GC_VERBOSE"))
        printf("    %-9s %-11s %6ld params  loss %.4f  |g| %.3g  coords %d (+%d on kinks) worst %.3g  dirs %d worst "
               "%.3g\n",
               what, tf ? "transformer" : "mlp", ps->n, L0, gn, st.checked, st.kinks, st.worst, st.dirs_checked,
               st.worst_dir);
    free(grad);
    free(theta);
    free(dir);
    graph_free(&g);
    arena_free(&a);
#ifdef _OPENMP
    omp_set_num_threads(nt);
#endif
    case_free(&c);
    return st;
}

static GcStats gradcheck_method(TestCtx *t_, const char *tpl_text, MethodKind k, const MetaConfig *cfg, uint64_t seed,
                                int per_view) {
    return gradcheck_run(t_, tpl_text, k, cfg, seed, per_view, NULL);
}

static int per_view(void) { return test_quick() ? 3 : 24; }

TEST(meta_grad_direct_full_chain) {
    gradcheck_method(t_, TPL_MLP_TEXT, METHOD_DIRECT, NULL, 11, per_view());
    gradcheck_method(t_, TPL_TF_TEXT, METHOD_DIRECT, NULL, 12, per_view() * 8);
}
TEST(meta_grad_mlp_full_chain) {
    gradcheck_method(t_, TPL_MLP_TEXT, METHOD_MLP, NULL, 21, per_view());
    gradcheck_method(t_, TPL_TF_TEXT, METHOD_MLP, NULL, 22, per_view());
}
TEST(meta_grad_gmlp_full_chain) {
    gradcheck_method(t_, TPL_MLP_TEXT, METHOD_GMLP, NULL, 31, per_view());
    gradcheck_method(t_, TPL_TF_TEXT, METHOD_GMLP, NULL, 32, per_view());
}
TEST(meta_grad_gnn_full_chain) {
    gradcheck_method(t_, TPL_MLP_TEXT, METHOD_GNN, NULL, 41, per_view());
    gradcheck_method(t_, TPL_TF_TEXT, METHOD_GNN, NULL, 42, per_view());
}
/* A program made from examples (arc-demo): the loss's gradient reaches the examples' encoder
 * through U, the generator and the program, for every view including demo.theta; direct reads
 * the examples' cells in context. */
/* The tiny Transformer case's configuration for method k on a demonstration task: three
 * examples of len cells each. */
static MetaConfig demo_cfg_of(const char *text, MethodKind k, Template *tpl, int len) {
    Err e;
    NP_ASSERT(!template_parse(text, tpl, &e), "%s", e.msg);
    MetaConfig cfg = tiny_cfg(k, tpl);
    cfg.demo_len = len;
    cfg.demo_pairs = 3;
    return cfg;
}
static MetaConfig demo_cfg(MethodKind k, Template *tpl, int len) { return demo_cfg_of(TPL_TF_TEXT, k, tpl, len); }

TEST(meta_grad_demo_encoder_full_chain) {
    for (MethodKind k = METHOD_DIRECT; k <= METHOD_GNN; k++) { /* direct: the examples in context */
        Template tpl;
        MetaConfig cfg = demo_cfg(k, &tpl, 4);
        /* seed: a draw whose probes find kink-free directions for all four */
        gradcheck_method(t_, TPL_TF_TEXT, k, &cfg, 61 + k, per_view());
    }
}

/* A template's window reaches every network that reads cells: the program, the examples' encoder
 * and direct's in-context network, and the gradient through each of them is right. */
#define TPL_TF_WINDOW TPL_TF_TEXT " window=1"
TEST(meta_window_reaches_the_encoder_and_direct) {
    for (MethodKind k = METHOD_DIRECT; k <= METHOD_GNN; k++) {
        Template tpl;
        MetaConfig cfg = demo_cfg_of(TPL_TF_WINDOW, k, &tpl, 4);
        Method m;
        Rng r;
        Err e;
        rng_seed(&r, 5);
        CHECK(tpl.window == 1 && method_init(&m, k, &cfg, &tpl, 8, NULL, 0, &r, &e) == 0, "%s", e.msg);
        if (k == METHOD_DIRECT) {
            Template net;
            CHECK(direct_network(&tpl, &m.cfg, 8, &net, &e) == 0 && net.window == 1 && net.len == 3 + 3 * 4,
                  "direct's network: window %d, len %d", net.window, net.len);
        } else CHECK(m.demo && m.demo->tpl.window == 1 && m.demo->tpl.len == 4, "the encoder reads no window");
        method_free(&m);
        gradcheck_method(t_, TPL_TF_WINDOW, k, &cfg, 71 + k, per_view());
    }
}

/* U does not depend on the order of the examples (the mean over them), and does on what they show. */
TEST(meta_demo_encoder_ignores_example_order) {
    Template tpl;
    Err e;
    MetaConfig cfg = demo_cfg(METHOD_GNN, &tpl, 6);
    Method m;
    Rng r;
    rng_seed(&r, 9);
    CHECK(method_init(&m, METHOD_GNN, &cfg, &tpl, 8, NULL, 0, &r, &e) == 0 && m.demo, "%s", e.msg);
    int demo[2][18], perm[3] = {2, 0, 1};
    for (int j = 0; j < 18; j++) demo[0][j] = rng_int(&r, 100);
    for (int p = 0; p < 3; p++) memcpy(demo[1] + 6 * p, demo[0] + 6 * perm[p], 6 * sizeof(int));
    Arena a;
    arena_init(&a, 1 << 20);
    Graph g;
    graph_init(&g, &a);
    g.no_grad = 1;
    Tensor *u = method_encode_demo(&g, &m, &demo[0][0], 2);
    double diff = 0, norm = 0;
    for (int f = 0; f < 8; f++) {
        diff = fmax(diff, fabs(u->data[f] - u->data[8 + f]));
        norm += u->data[f] * u->data[f];
    }
    CHECK(diff < 1e-5 && fabs(norm / 8 - 1) < 1e-3, "U differs by %g between orders (mean square %g)", diff, norm / 8);
    demo[1][0] = (demo[0][6 * perm[0]] + 1) % 100; /* one cell of one example changed */
    graph_reset(&g);
    u = method_encode_demo(&g, &m, &demo[0][0], 2);
    diff = 0;
    for (int f = 0; f < 8; f++) diff = fmax(diff, fabs(u->data[f] - u->data[8 + f]));
    CHECK(diff > 1e-4, "U ignores a changed example cell (difference %g)", diff);
    graph_free(&g);
    arena_free(&a);
    method_free(&m);
}

/* The check itself: a 3% error in one view's gradient, deep in the chain, does not go unnoticed. */
TEST(meta_gradcheck_detects_a_wrong_gradient) {
    GcStats a = gradcheck_run(t_, TPL_MLP_TEXT, METHOD_GNN, NULL, 41, 24, "mp.1.edge.weight");
    GcStats b = gradcheck_run(t_, TPL_MLP_TEXT, METHOD_GNN, NULL, 41, 24, "enc.edge.u.weight");
    CHECK(a.worst > 1.0 && b.worst > 1.0, "a 3%% gradient error passed the check (worst error/tol %.3g and %.3g)",
          a.worst, b.worst);
}

/* The ablations take other code paths: one weight set for all groups (tie 0), no positional
 * encodings (pe 0). On an MLP template only: untied, every parameter reaches every row, and with a
 * Transformer's hundreds of slots a third of the coordinates sit within 1e-3 of some ReLU's kink;
 * and pe 0 on a Transformer gives every class of the unembedding the same weights (uniform
 * logits, a vanishing gradient). */
TEST(meta_grad_ablations) {
    MetaConfig c = {.width = 6, .rounds = 1, .mixer = 4, .tie = 0, .pe = 1};
    gradcheck_method(t_, TPL_MLP_TEXT, METHOD_GNN, &c, 51, per_view());
    gradcheck_method(t_, TPL_MLP_TEXT, METHOD_GMLP, &c, 52, per_view());
    c.tie = 1;
    c.pe = 0;
    c.rounds = 2;
    gradcheck_method(t_, TPL_MLP_TEXT, METHOD_GNN, &c, 54, per_view());
    gradcheck_method(t_, TPL_MLP_TEXT, METHOD_GMLP, &c, 55, per_view());
    /* the centred θ head (its mean, gather and per-intent linear term) on both template kinds */
    c.head = 1;
    c.pe = 2;
    gradcheck_method(t_, TPL_TF_TEXT, METHOD_GNN, &c, 56, per_view());
    gradcheck_method(t_, TPL_MLP_TEXT, METHOD_GMLP, &c, 57, per_view());
    gradcheck_method(t_, TPL_TF_TEXT, METHOD_MLP, &c, 58, per_view());
    /* learned per-index codes (pe=3), tied and untied */
    c.pe = 3;
    gradcheck_method(t_, TPL_TF_TEXT, METHOD_GNN, &c, 59, per_view());
    gradcheck_method(t_, TPL_TF_TEXT, METHOD_GMLP, &c, 60, per_view());
    /* codes multiplied across axes (pe=4) and the double-centred head (head=2) */
    c.pe = 4;
    c.head = 2;
    gradcheck_method(t_, TPL_TF_TEXT, METHOD_GNN, &c, 63, per_view());
    gradcheck_method(t_, TPL_TF_TEXT, METHOD_GMLP, &c, 64, per_view());
    gradcheck_method(t_, TPL_TF_TEXT, METHOD_MLP, &c, 65, per_view());
    /* ... and each tensor normalized to unit RMS (head=3), with and without a base program θ₀ */
    c.head = 3;
    gradcheck_method(t_, TPL_TF_TEXT, METHOD_GNN, &c, 66, per_view());
    c.base = 1;
    gradcheck_method(t_, TPL_TF_TEXT, METHOD_GNN, &c, 67, per_view());
    gradcheck_method(t_, TPL_TF_TEXT, METHOD_MLP, &c, 68, per_view());
    c.base = 0;
    c.head = 2;
    c.pe = 3;
    c.head = 1;
    c.tie = 0;
    gradcheck_method(t_, TPL_MLP_TEXT, METHOD_GNN, &c, 61, per_view());
    gradcheck_method(t_, TPL_MLP_TEXT, METHOD_GMLP, &c, 62, per_view());
}

/* ================================ equivariance ================================ */

/* θ = M(U) for B intents, copied out. */
static float *generate(Method *m, const float *feat, int B) {
    Arena a;
    arena_init(&a, 1 << 20);
    Graph g;
    graph_init(&g, &a);
    g.no_grad = 1;
    Tensor *th = method_generate(&g, m, tensor_wrap(&g, (float *)feat, NULL, SHAPE(B, m->n_feat)));
    float *out = xmalloc(th->numel * sizeof(float));
    memcpy(out, th->data, th->numel * sizeof(float));
    graph_free(&g);
    arena_free(&a);
    return out;
}

/* A synthesis's θ head is one pass per tensor (op_theta_head); training's is the composition of
 * ops whose backward it needs. The two give the same bits: heads 1-3, with and without θ₀, on both
 * template kinds, three intents, after the biases and θ₀ are moved off their zero start. */
TEST(meta_theta_head_synthesis_is_the_composition_bit_for_bit) {
    const char *tpls[2] = {TPL_TF_TEXT, TPL_MLP_TEXT};
    for (int k = 0; k < 2; k++)
        for (int head = 1; head <= 3; head++)
            for (int base = 0; base <= 1; base++) {
                Case c;
                Template tpl;
                Err e;
                NP_ASSERT(!template_parse(tpls[k], &tpl, &e), "%s", e.msg);
                MetaConfig cfg = tiny_cfg(METHOD_GNN, &tpl);
                cfg.head = head;
                cfg.base = base;
                cfg.pe = 4;
                if (case_init(t_, &c, tpls[k], METHOD_GNN, &cfg, 70 + head + 3 * base)) return;
                ParamSet *ps = &c.m.ps;
                Rng r;
                rng_seed(&r, 9);
                for (int i = 0; i < ps->count; i++)
                    if (!strcmp(ps->views[i].name, "head.base") || strstr(ps->views[i].name, "head.mean"))
                        params_fill_normal(ps, i, &r, 0.3f);
                float *fused = generate(&c.m, c.feat, c.B);
                Arena a;
                arena_init(&a, 1 << 20);
                Graph g;
                graph_init(&g, &a); /* recording: theta_head composes its ops */
                Tensor *th = method_generate(&g, &c.m, tensor_wrap(&g, c.feat, NULL, SHAPE(c.B, c.m.n_feat)));
                CHECK(g.n_nodes > 0 && th->numel == (long)c.B * c.tpl.n_theta, "the composition did not record");
                long diff = 0;
                for (long i = 0; i < th->numel; i++) diff += memcmp(&fused[i], &th->data[i], sizeof(float)) != 0;
                CHECK(diff == 0, "%s head=%d base=%d: %ld of %ld θ entries differ from the composition", tpls[k], head,
                      base, diff, th->numel);
                graph_free(&g);
                arena_free(&a);
                free(fused);
                case_free(&c);
            }
}

/* base=1: θ = θ₀ + the generated program. θ₀ is zero at the start, so the first θ is base=0's bit for
 * bit (the same φ: θ₀ is drawn from no random stream), and it is one program for every intent: a θ₀
 * set by hand is added to each intent's θ and changes nothing else. On the plain and the normalized
 * head, for the three generators. */
TEST(meta_base_program_is_shared) {
    Template tpl;
    Err e;
    NP_ASSERT(!template_parse(TPL_TF_TEXT, &tpl, &e), "%s", e.msg);
    const float feat[3 * 3] = {0.3f, -0.7f, 0.1f, -0.2f, 0.9f, 0.5f, 0.8f, 0.4f, -0.6f};
    const float calib[4 * 3] = {0.1f, 0.2f, -0.3f, 0.5f, -0.5f, 0.2f, -0.9f, 0.3f, 0.7f, 0.0f, 0.6f, -0.4f};
    for (MethodKind k = METHOD_MLP; k <= METHOD_GNN; k++)
        for (int head = 0; head <= 3; head += 3) {
            MetaConfig c0 = tiny_cfg(k, &tpl), c1;
            c0.head = head;
            c0.pe = k == METHOD_MLP ? 1 : 4;
            c1 = c0;
            c1.base = 1;
            Method m0, m1;
            Rng r0, r1;
            rng_seed(&r0, 17);
            rng_seed(&r1, 17);
            CHECK(method_init(&m0, k, &c0, &tpl, 3, calib, 4, &r0, &e) == 0, "%s", e.msg);
            CHECK(method_init(&m1, k, &c1, &tpl, 3, calib, 4, &r1, &e) == 0, "%s", e.msg);
            int vb = params_find(&m1.ps, "head.base");
            CHECK(params_find(&m0.ps, "head.base") < 0 && vb >= 0 && m1.ps.views[vb].numel == tpl.n_theta &&
                      m1.ps.n == m0.ps.n + tpl.n_theta,
                  "%s head %d: θ₀ is not one vector of |θ| = %ld", method_name(k), head, tpl.n_theta);
            long T = tpl.n_theta;
            float *a = generate(&m0, feat, 3), *b = generate(&m1, feat, 3);
            CHECK(!memcmp(a, b, 3 * T * sizeof(float)), "%s head %d: θ₀ = 0 changes the first θ", method_name(k), head);
            free(b);
            float *base = m1.ps.data + m1.ps.views[vb].off;
            for (long j = 0; j < T; j++) base[j] = 0.01f * (float)(j % 7) - 0.03f;
            b = generate(&m1, feat, 3);
            double worst = 0;
            for (int i = 0; i < 3; i++)
                for (long j = 0; j < T; j++)
                    worst = fmax(worst, fabs((double)b[i * T + j] - a[i * T + j] - base[j]) / (1 + fabs(a[i * T + j])));
            CHECK(worst < 1e-6, "%s head %d: θ with θ₀ set minus θ without is not θ₀ (worst %.3g)", method_name(k),
                  head, worst);
            free(a);
            free(b);
            method_free(&m0);
            method_free(&m1);
        }
}

typedef struct EqRes {
    double err, moved, scale;
} EqRes;

/* For symmetry k of m's template: draws a member (node, edge, θ maps), moves every node's and
 * edge's positional encoding with it (pe'[node_perm[v]] = pe[v]) — the symmetry is an automorphism
 * of the graph, so the wiring is unchanged and the encodings are what permuting the graph changes —
 * and generates again. Equivariance: θ'[theta_perm[i]] = θ[i]. err is the worst violation, moved
 * the largest |θ' - θ| (how much the permutation changed θ at all), scale max |θ|.
 * g is the template's graph for the symmetry maps (m->ng for the graph methods). */
static EqRes equivariance(Method *m, NGraph *g, int k, Rng *r, const float *feat, int B) {
    const Template *t = &m->tpl;
    long T = t->n_theta;
    int *np = xmalloc(g->n_nodes * sizeof *np), *ep = xmalloc(g->n_edges * sizeof *ep);
    long *tp = xmalloc(T * sizeof *tp);
    int moved_any = 0;
    for (int tries = 0; tries < 16 && !moved_any; tries++) { /* a 2-element shuffle is often the identity */
        ngraph_symmetry_sample(t, g, k, r, np, ep, tp);
        for (long i = 0; i < T; i++) moved_any |= tp[i] != i;
    }
    float *th = generate(m, feat, B);
    /* the encodings, where the graph has them (a Meta-GNN with codes or none builds it without) */
    int has_pe = g->node_pe != NULL;
    size_t nb = has_pe ? (size_t)g->n_nodes * NG_PE_DIM * sizeof(float) : 0,
           eb = has_pe ? (size_t)g->n_edges * NG_PE_DIM * sizeof(float) : 0;
    float *npe = xmalloc(nb + 1), *epe = xmalloc(eb + 1);
    if (has_pe) {
        memcpy(npe, g->node_pe, nb);
        memcpy(epe, g->edge_pe, eb);
    }
    for (int v = 0; v < g->n_nodes && has_pe; v++)
        memcpy(g->node_pe + (long)np[v] * NG_PE_DIM, npe + (long)v * NG_PE_DIM, NG_PE_DIM * sizeof(float));
    for (int e = 0; e < g->n_edges; e++) {
        NP_ASSERT(ep[e] >= 0, "symmetry: edge %d has no image", e);
        if (has_pe) memcpy(g->edge_pe + (long)ep[e] * NG_PE_DIM, epe + (long)e * NG_PE_DIM, NG_PE_DIM * sizeof(float));
    }
    /* learned codes (pe=3, 4) are looked up per slot: slot perm[v] takes the rows slot v had */
    SlotCodes *codes[2] = {NULL, NULL};
    int *saved[2] = {NULL, NULL};
    if (m->kind == METHOD_GNN)
        for (int w = 0; w < 2; w++) {
            codes[w] = gnn_codes(m, w);
            if (!codes[w]) continue;
            int n = w ? g->n_edges : g->n_nodes;
            const int *perm = w ? ep : np;
            saved[w] = xmalloc(2 * (size_t)n * sizeof(int));
            memcpy(saved[w], codes[w]->row, 2 * (size_t)n * sizeof(int));
            for (int v = 0; v < n; v++)
                for (int a = 0; a < 2; a++) codes[w]->row[2 * perm[v] + a] = saved[w][2 * v + a];
        }
    float *th2 = generate(m, feat, B);
    if (has_pe) { /* restore */
        memcpy(g->node_pe, npe, nb);
        memcpy(g->edge_pe, epe, eb);
    }
    for (int w = 0; w < 2; w++)
        if (saved[w]) {
            memcpy(codes[w]->row, saved[w], 2 * (size_t)(w ? g->n_edges : g->n_nodes) * sizeof(int));
            free(saved[w]);
        }
    EqRes res = {0};
    for (int b = 0; b < B; b++)
        for (long i = 0; i < T; i++) {
            double x = th[b * T + i];
            res.err = fmax(res.err, fabs(th2[b * T + tp[i]] - x));
            res.moved = fmax(res.moved, fabs(th2[b * T + i] - x));
            res.scale = fmax(res.scale, fabs(x));
        }
    free(th);
    free(th2);
    free(npe);
    free(epe);
    free(np);
    free(ep);
    free(tp);
    return res;
}

/* Random, distinct positional encodings for every node and edge: with the structured ones, two
 * slots of a group could share an encoding by accident, and with none (pe=0) all members of a
 * group get identical inputs, so θ would be invariant for trivial reasons. */
static void random_pe(NGraph *g, Rng *r) {
    if (!g->node_pe) return; /* built without them: the method reads none */
    for (long i = 0; i < (long)g->n_nodes * NG_PE_DIM; i++) g->node_pe[i] = (float)(2 * rng_uniform(r) - 1);
    for (long i = 0; i < (long)g->n_edges * NG_PE_DIM; i++) g->edge_pe[i] = (float)(2 * rng_uniform(r) - 1);
}

static const char *EQ_TEMPLATES[] = {
    "mlp 3-5-4-2 act=relu",
    "transformer vocab=5 len=3 d=8 heads=2 mlp=6 classes=5 layers=1 prenorm=1 readout=last act=relu",
    "transformer vocab=4 len=3 d=6 heads=3 mlp=5 classes=3 layers=2 prenorm=0 readout=all act=gelu",
};

TEST(meta_gnn_equivariance) {
    int ntpl = test_quick() ? 2 : 3;
    for (int ti = 0; ti < ntpl; ti++) {
        Template tpl;
        Err e = {{0}};
        if (template_parse(EQ_TEMPLATES[ti], &tpl, &e)) {
            CHECK(0, "%s", e.msg);
            continue;
        }
        const int B = 2, F = 3;
        float feat[6], calib[12];
        Rng r;
        rng_seed(&r, 700 + ti);
        for (int i = 0; i < B * F; i++) feat[i] = (float)(2 * rng_uniform(&r) - 1);
        for (int i = 0; i < 4 * F; i++) calib[i] = (float)(2 * rng_uniform(&r) - 1);
        for (int variant = 0; variant < 4; variant++) {
            /* variant 0: the encodings moved with the graph; variant 1: pe off (θ fixed by every symmetry);
             * variant 2: as 0, with the double-centred head (row and column means follow the permutation);
             * variant 3: the configuration ADDMOD and 1D-ARC ship (learned codes multiplied per slot,
             * pe=4, moved with the graph; head=2; gain 2) */
            MetaConfig cfg = {.width = 8,
                              .rounds = 2,
                              .mixer = 4,
                              .tie = 1,
                              .pe = variant == 3 ? PE_PRODUCT : variant != 1,
                              .head = variant >= 2 ? 2 : 0,
                              .gain = variant == 3 ? 2.0f : 1.0f};
            const char *label = variant == 1   ? "off"
                                : variant == 2 ? "moved, head 2"
                                : variant == 3 ? "codes moved, head 2"
                                               : "moved";
            Method m;
            Rng init = rng_fork(&r, 10 + variant);
            if (method_init(&m, METHOD_GNN, &cfg, &tpl, F, calib, 4, &init, &e)) {
                CHECK(0, "%s", e.msg);
                continue;
            }
            if (variant != 1) random_pe(&m.ng, &r);
            for (int k = 0; k < ngraph_n_symmetries(&tpl); k++) {
                EqRes q = equivariance(&m, &m.ng, k, &r, feat, B);
                CHECK(q.err <= 1e-5 * fmax(1.0, q.scale),
                      "%s, pe %s, %s: θ'[perm] differs from θ by %.3g (max |θ| %.3g)", EQ_TEMPLATES[ti], label,
                      ngraph_symmetry_name(&tpl, k), q.err, q.scale);
                /* with the encodings moved, θ itself must change: otherwise the test proves nothing */
                if (variant != 1)
                    CHECK(q.moved > 1e-3 * q.scale, "%s, %s: permuting the graph did not change θ (max change %.3g)",
                          EQ_TEMPLATES[ti], ngraph_symmetry_name(&tpl, k), q.moved);
                if (getenv("NEUROP_GC_VERBOSE"))
                    printf("    %-14s pe %-5s %-50s err %.2g  moved %.3g  max|θ| %.3g\n",
                           tpl.kind == TPL_MLP ? "mlp" : "transformer", label, ngraph_symmetry_name(&tpl, k), q.err,
                           q.moved, q.scale);
            }
            method_free(&m);
        }
    }
}

/* The same test on the methods without the graph's structure: Meta-MLP's θ does not move when
 * the graph is permuted (it never sees the graph) and is not fixed by the symmetry either, so the
 * equivariance error is of the order of θ itself. Meta-gMLP's mixer is not equivariant either. */
TEST(meta_mlp_gmlp_not_equivariant) {
    for (int ti = 0; ti < 2; ti++) {
        Template tpl;
        Err e = {{0}};
        if (template_parse(EQ_TEMPLATES[ti], &tpl, &e)) {
            CHECK(0, "%s", e.msg);
            continue;
        }
        const int B = 2, F = 3;
        float feat[6], calib[12];
        Rng r;
        rng_seed(&r, 800 + ti);
        for (int i = 0; i < B * F; i++) feat[i] = (float)(2 * rng_uniform(&r) - 1);
        for (int i = 0; i < 4 * F; i++) calib[i] = (float)(2 * rng_uniform(&r) - 1);
        NGraph g;
        if (ngraph_build(&tpl, &g, 1, &e)) {
            CHECK(0, "%s", e.msg);
            continue;
        }
        for (int kind = 0; kind < 2; kind++) {
            MethodKind mk = kind == 0 ? METHOD_MLP : METHOD_GMLP;
            MetaConfig cfg = {.width = 8, .rounds = 2, .mixer = 8, .tie = 1, .pe = 0};
            Method m;
            Rng init = rng_fork(&r, 20 + kind);
            if (method_init(&m, mk, &cfg, &tpl, F, calib, 4, &init, &e)) {
                CHECK(0, "%s", e.msg);
                continue;
            }
            NGraph *mg = mk == METHOD_GMLP ? &m.ng : &g;
            random_pe(mg, &r);
            for (int k = 0; k < ngraph_n_symmetries(&tpl); k++) {
                EqRes q = equivariance(&m, mg, k, &r, feat, B);
                /* Meta-gMLP with pe off: its encoders see U only, so it could be invariant within a
                 * group; its mixer reads every slot at its own position and is not */
                CHECK(q.err > 1e-2 * q.scale, "%s on %s, %s: unexpectedly equivariant (err %.3g, max |θ| %.3g)",
                      method_name(mk), EQ_TEMPLATES[ti], ngraph_symmetry_name(&tpl, k), q.err, q.scale);
                if (getenv("NEUROP_GC_VERBOSE"))
                    printf("    %-9s %-14s %-50s err %.3g  max|θ| %.3g\n", method_name(mk),
                           tpl.kind == TPL_MLP ? "mlp" : "transformer", ngraph_symmetry_name(&tpl, k), q.err, q.scale);
            }
            method_free(&m);
        }
        ngraph_free(&g);
    }
}

/* ================================ θ head calibration ================================ */

static double mat_spectral_norm(const float *v, int R, int C) {
    double x[256], y[256], nx = 0;
    for (int j = 0; j < C; j++) x[j] = 1.0 / (1 + j);
    for (int it = 0; it < 500; it++) {
        for (int i = 0; i < R; i++) {
            y[i] = 0;
            for (int j = 0; j < C; j++) y[i] += v[i * C + j] * x[j];
        }
        nx = 0;
        for (int j = 0; j < C; j++) {
            x[j] = 0;
            for (int i = 0; i < R; i++) x[j] += v[i * C + j] * y[i];
            nx += x[j] * x[j];
        }
        nx = sqrt(nx);
        for (int j = 0; j < C; j++) x[j] /= nx;
    }
    return sqrt(nx);
}

/* The calibration's promise, on the calibration intents themselves: plain head (head=0), every
 * tensor's root mean square is the standard init's std; centred head (head=1), every tensor has
 * mean 0 per intent, vectors have that std about it, and matrices the operator norm of a
 * standard init, std·(√rows + √cols), as a root mean square over the intents; double-centred
 * (head=2) the same, and every row and column of a matrix has mean 0. With gain g (cfg.gain; 0
 * means 1) every spread is g times that, LayerNorm gains still centred on 1. */
TEST(meta_head_calibration_matches_standard_init) {
    for (int gi = 0; gi < 2; gi++)
        for (int head = 0; head <= 2; head++)
            for (int mk = METHOD_MLP; mk <= METHOD_GNN; mk++) {
                Template tpl;
                Err e = {{0}};
                CHECK(template_parse(TPL_TF_TEXT, &tpl, &e) == 0, "%s", e.msg);
                Rng r;
                rng_seed(&r, 91 + mk);
                enum { F = 3, NC = 4 };
                float calib[NC * F];
                for (int i = 0; i < NC * F; i++) calib[i] = (float)(2 * rng_uniform(&r) - 1);
                MetaConfig cfg = {
                    .width = 8, .rounds = 2, .mixer = 4, .tie = 1, .pe = 2, .head = head, .gain = gi ? 2.5f : 0};
                Method m;
                CHECK(method_init(&m, (MethodKind)mk, &cfg, &tpl, F, calib, NC, &r, &e) == 0, "%s", e.msg);
                float *th = generate(&m, calib, NC);
                for (int k = 0; k < tpl.n_tensors; k++) {
                    const TplTensor *tt = &tpl.tensors[k];
                    double want = (gi ? 2.5 : 1.0) * (tt->init == TPL_INIT_WEIGHT ? 1 / sqrt(tt->fan_in)
                                                      : tt->init == TPL_INIT_BIAS ? 1 / sqrt(3.0 * tt->fan_in)
                                                      : tt->init == TPL_INIT_GAIN ? 0.1
                                                                                  : 1.0);
                    double base = tt->init == TPL_INIT_GAIN ? 1.0 : 0.0, s2 = 0, worst_mean = 0, worst_rc = 0;
                    int matrix = head && tt->ndim == 2 && (tt->init == TPL_INIT_WEIGHT || tt->init == TPL_INIT_EMBED);
                    for (int b = 0; b < NC; b++) {
                        const float *v = th + (long)b * tpl.n_theta + tt->off;
                        double m1 = 0, m2 = 0;
                        for (long j = 0; j < tt->numel; j++) {
                            m1 += v[j] - base;
                            m2 += (v[j] - base) * (v[j] - base);
                        }
                        m1 /= tt->numel;
                        m2 /= tt->numel;
                        worst_mean = fmax(worst_mean, fabs(m1));
                        if (matrix) {
                            double sn = mat_spectral_norm(v, tt->shape[0], tt->shape[1]);
                            s2 += sn * sn;
                        } else s2 += head ? m2 - m1 * m1 : m2;
                        if (head == 2 && tt->ndim == 2) { /* every row and every column sums to zero */
                            int R = tt->shape[0], C = tt->shape[1];
                            for (int i = 0; i < R; i++) {
                                double s = 0;
                                for (int j = 0; j < C; j++) s += v[i * C + j];
                                worst_rc = fmax(worst_rc, fabs(s / C));
                            }
                            for (int j = 0; j < C; j++) {
                                double s = 0;
                                for (int i = 0; i < R; i++) s += v[i * C + j];
                                worst_rc = fmax(worst_rc, fabs(s / R));
                            }
                        }
                    }
                    double got = sqrt(s2 / NC);
                    if (matrix) want *= sqrt((double)tt->shape[0]) + sqrt((double)tt->shape[1]);
                    CHECK(fabs(got - want) <= 2e-3 * want, "%s head=%d %s: spread %.6g, want %.6g",
                          method_name((MethodKind)mk), head, tt->name, got, want);
                    if (head)
                        CHECK(worst_mean <= 1e-4 * (want + 1), "%s head=%d %s: mean %.3g, want 0",
                              method_name((MethodKind)mk), head, tt->name, worst_mean);
                    CHECK(worst_rc <= 1e-4 * (want + 1), "%s head=2 %s: a row or column mean is %.3g, want 0",
                          method_name((MethodKind)mk), tt->name, worst_rc);
                }
                free(th);
                method_free(&m);
            }
}

/* head=3's promise, by construction: whatever the decoders emit, each generated tensor's spread
 * about its mean is |s_T| (a matrix has no common term, so that is its root mean square), so a
 * runaway of the decoders' outputs cannot reach the program (docs/meta.md; the 1D-ARC Meta-GNN
 * default). The decoders' weights and biases are multiplied by 1000: under head=3 every tensor keeps
 * its size, and with an intent-linear common term of 0.5 only its vectors take it; under head=2 the
 * program grows with the decoders (the contrast shows the check can fail). */
TEST(meta_head3_bounds_each_tensor_by_its_scale) {
    for (int head = 2; head <= 3; head++) {
        Template tpl;
        Err e = {{0}};
        CHECK(template_parse(TPL_TF_TEXT, &tpl, &e) == 0, "%s", e.msg);
        Rng r;
        rng_seed(&r, 17);
        enum { F = 3, NC = 4 };
        float calib[NC * F];
        for (int i = 0; i < NC * F; i++) calib[i] = (float)(2 * rng_uniform(&r) - 1);
        MetaConfig cfg = {.width = 8, .rounds = 2, .tie = 1, .pe = 4, .head = head};
        Method m;
        CHECK(method_init(&m, METHOD_GNN, &cfg, &tpl, F, calib, NC, &r, &e) == 0, "%s", e.msg);
        float *th0 = generate(&m, calib, NC);
        for (int i = 0; i < m.ps.count; i++)
            if (!strncmp(m.ps.views[i].name, "dec.", 4))
                for (long j = 0; j < m.ps.views[i].numel; j++) m.ps.data[m.ps.views[i].off + j] *= 1000.0f;
        int mb = params_find(&m.ps, "head.mean.b"); /* a common term on every tensor (0 at init) */
        for (long j = 0; j < m.ps.views[mb].numel; j++) params_data(&m.ps, mb)[j] = 0.5f;
        float *th1 = generate(&m, calib, NC);
        const float *scale = params_data(&m.ps, params_find(&m.ps, "head.scale"));
        double worst = 0, worst_mean = 0, grew = 0;
        for (int k = 0; k < tpl.n_tensors; k++) {
            const TplTensor *tt = &tpl.tensors[k];
            for (int b = 0; b < NC; b++) {
                double sp[2];
                for (int q = 0; q < 2; q++) {
                    const float *v = (q ? th1 : th0) + (long)b * tpl.n_theta + tt->off;
                    double m1 = 0, m2 = 0;
                    for (long j = 0; j < tt->numel; j++) m1 += v[j];
                    m1 /= tt->numel;
                    for (long j = 0; j < tt->numel; j++) m2 += (v[j] - m1) * (v[j] - m1);
                    sp[q] = sqrt(m2 / tt->numel);
                    if (q && tt->ndim == 2) worst_mean = fmax(worst_mean, fabs(m1) / fabs(scale[k]));
                }
                worst = fmax(worst, fabs(sp[1] - fabs(scale[k])) / fabs(scale[k]));
                grew = fmax(grew, sp[1] / sp[0]);
            }
        }
        if (head == 3) {
            CHECK(worst < 1e-3, "head=3: a tensor's spread is off |s_T| by %.3g relative", worst);
            CHECK(worst_mean < 1e-3, "head=3: a matrix has a common term %.3g of |s_T|", worst_mean);
            /* not exactly 1: the RMS norm's eps (1e-4) shrinks a small tensor a little at the start */
            CHECK(grew < 1.05, "head=3: a tensor grew %.3gx with the decoders", grew);
        } else CHECK(grew > 100, "head=2: the program grew only %.3gx with its decoders x1000", grew);
        free(th0);
        free(th1);
        method_free(&m);
    }
}
