/* Templates and their batched execution: text form, parameter layout, initialization, agreement
 * with a PyTorch forward (committed fixtures), gradients, and the declared symmetries acting on
 * the executed function. */
#include "test.h"
#include "io/safetensors.h"
#include "program/ngraph.h"
#include <stdlib.h>
#include <string.h>

static const char *const TEMPLATES[] = {
    "mlp 5-7-3 act=relu",
    "mlp 4-6-5-2 act=tanh,gelu",
    "transformer vocab=9 len=4 d=8 heads=2 mlp=10 classes=6 layers=1 prenorm=1 readout=last",
    "transformer vocab=9 len=4 d=8 heads=2 mlp=10 classes=6 layers=1 prenorm=0 readout=last",
    "transformer vocab=7 len=5 d=12 heads=3 mlp=9 classes=5 layers=2 prenorm=1 readout=all act=gelu",
    "transformer vocab=7 len=3 d=8 heads=4 mlp=6 classes=4 layers=2 prenorm=0 readout=all",
    "transformer vocab=6 len=7 d=8 heads=2 mlp=10 classes=6 layers=2 prenorm=1 readout=all window=3",
};
#define N_TEMPLATES (int)(sizeof TEMPLATES / sizeof *TEMPLATES)

static void parse_ok(TestCtx *t_, const char *text, Template *t) {
    Err e = {{0}};
    int rc = template_parse(text, t, &e);
    CHECK(rc == 0, "template_parse('%s'): %s", text, e.msg);
}

/* Runs B programs (theta [B, n_theta]) on N inputs each (x for an MLP, tok for a Transformer)
 * and returns the outputs, malloc'd; *n_out is their count. */
static float *run(const Template *t, const float *theta, int B, int N, const float *x, const int *tok, long *n_out) {
    Arena a;
    Graph g;
    arena_init(&a, 1 << 20);
    graph_init(&g, &a);
    g.no_grad = 1;
    Tensor *th = tensor_from(&g, SHAPE(B, (int)t->n_theta), theta);
    Tensor *y = t->kind == TPL_MLP ? exec_mlp(&g, t, th, tensor_from(&g, SHAPE(B, N, t->widths[0]), x))
                                   : exec_transformer(&g, t, th, tok, B, N);
    float *out = xmalloc(y->numel * sizeof *out);
    memcpy(out, y->data, y->numel * sizeof *out);
    *n_out = y->numel;
    graph_free(&g);
    arena_free(&a);
    return out;
}

/* A θ far from the standard init: nonzero biases and gains away from 1, so that a wrong
 * permutation of any tensor shows in the outputs. */
static float *random_theta(const Template *t, int B, Rng *r) {
    float *th = xmalloc((size_t)B * t->n_theta * sizeof *th);
    for (int b = 0; b < B; b++) {
        float *p = th + (long)b * t->n_theta;
        template_init_theta(t, p, r);
        for (int i = 0; i < t->n_tensors; i++) {
            const TplTensor *tt = &t->tensors[i];
            if (tt->init == TPL_INIT_BIAS || tt->init == TPL_INIT_GAIN)
                for (long j = 0; j < tt->numel; j++) p[tt->off + j] += 0.3f * rng_normal(r);
        }
    }
    return th;
}

/* Random inputs for N examples per program: floats in [-2, 2] or token ids. */
static void random_inputs(const Template *t, int B, int N, Rng *r, float **x, int **tok) {
    *x = NULL;
    *tok = NULL;
    if (t->kind == TPL_MLP) {
        *x = xmalloc((size_t)B * N * t->widths[0] * sizeof **x);
        for (long i = 0; i < (long)B * N * t->widths[0]; i++) (*x)[i] = 4.0f * (float)rng_uniform(r) - 2.0f;
    } else {
        *tok = xmalloc((size_t)B * N * t->len * sizeof **tok);
        for (long i = 0; i < (long)B * N * t->len; i++) (*tok)[i] = rng_int(r, t->vocab);
    }
}

static double max_abs(const float *a, long n) {
    double m = 0;
    for (long i = 0; i < n; i++) m = fmax(m, fabs(a[i]));
    return m;
}
static double max_diff(const float *a, const float *b, long n) {
    double m = 0;
    for (long i = 0; i < n; i++) m = fmax(m, fabs((double)a[i] - b[i]));
    return m;
}

/* ---------------------------------------------------------------- templates */

TEST(program_template_format_roundtrip) {
    const char *extra[] = {"mlp 10-16-1", "mlp 3-1", "mlp 2-3-4-5 act=silu out=tanh", "mlp 2-3-4-5 act=relu,none",
                           "transformer   classes=3 heads=1 d=4 len=2 vocab=5 mlp=4"};
    for (int i = 0; i < N_TEMPLATES + 5; i++) {
        const char *text = i < N_TEMPLATES ? TEMPLATES[i] : extra[i - N_TEMPLATES];
        Template a, b;
        char fa[TPL_TEXT_MAX], fb[TPL_TEXT_MAX];
        parse_ok(t_, text, &a);
        template_format(&a, fa, sizeof fa);
        parse_ok(t_, fa, &b);
        template_format(&b, fb, sizeof fb);
        CHECK(!strcmp(fa, fb), "'%s' -> '%s' -> '%s'", text, fa, fb);
        CHECK(a.n_theta == b.n_theta && a.n_tensors == b.n_tensors, "%s: layout differs after round trip", text);
        for (int k = 0; k < a.n_tensors && k < b.n_tensors; k++)
            CHECK(!strcmp(a.tensors[k].name, b.tensors[k].name) && a.tensors[k].off == b.tensors[k].off &&
                      a.tensors[k].numel == b.tensors[k].numel,
                  "%s: tensor %d differs", text, k);
        CHECK(a.kind != TPL_MLP || !memcmp(a.act, b.act, sizeof a.act), "%s: activations differ", text);
    }
    Template t;
    char f[TPL_TEXT_MAX];
    parse_ok(t_, "transformer vocab=101 len=3 d=16 heads=2 mlp=48 classes=100", &t);
    template_format(&t, f, sizeof f);
    CHECK(
        !strcmp(f,
                "transformer vocab=101 len=3 d=16 heads=2 mlp=48 classes=100 layers=1 prenorm=1 readout=last act=relu"),
        "defaults: %s", f);
    parse_ok(t_, "mlp 10-16-1 act=relu", &t);
    template_format(&t, f, sizeof f);
    CHECK(!strcmp(f, "mlp 10-16-1 act=relu"), "mlp canonical: %s", f);
    CHECK(t.act[0] == ACT_RELU && t.act[1] == ACT_NONE, "mlp acts %d %d", t.act[0], t.act[1]);
}

TEST(program_template_layout) {
    Template t;
    parse_ok(t_, "mlp 10-16-1 act=relu", &t);
    CHECK(t.n_theta == 193, "mlp 10-16-1: |θ| = %ld, want 193", t.n_theta);
    CHECK(t.n_tensors == 4 && !strcmp(t.tensors[0].name, "layers.0.weight") && t.tensors[0].shape[0] == 16 &&
              t.tensors[0].shape[1] == 10 && !strcmp(t.tensors[3].name, "layers.1.bias"),
          "mlp tensors");
    parse_ok(t_, "transformer vocab=101 len=3 d=16 heads=2 mlp=48 classes=100", &t);
    long d = 16, want = 101 * d + 3 * d + 2 * d + 4 * (d * d + d) + 2 * d + (48 * d + 48) + (d * 48 + d) + 2 * d +
                        (100 * d + 100);
    CHECK(t.n_theta == want, "addmod transformer: |θ| = %ld, want %ld", t.n_theta, want);
    CHECK(t.n_theta == 6148, "addmod transformer: |θ| = %ld", t.n_theta);
    static const char *const names[] = {"embed.weight",
                                        "pos.weight",
                                        "layers.0.ln1.weight",
                                        "layers.0.ln1.bias",
                                        "layers.0.attn.q.weight",
                                        "layers.0.attn.q.bias",
                                        "layers.0.attn.k.weight",
                                        "layers.0.attn.k.bias",
                                        "layers.0.attn.v.weight",
                                        "layers.0.attn.v.bias",
                                        "layers.0.attn.o.weight",
                                        "layers.0.attn.o.bias",
                                        "layers.0.ln2.weight",
                                        "layers.0.ln2.bias",
                                        "layers.0.mlp.fc1.weight",
                                        "layers.0.mlp.fc1.bias",
                                        "layers.0.mlp.fc2.weight",
                                        "layers.0.mlp.fc2.bias",
                                        "ln_f.weight",
                                        "ln_f.bias",
                                        "unembed.weight",
                                        "unembed.bias"};
    CHECK(t.n_tensors == 22, "%d tensors", t.n_tensors);
    long off = 0;
    for (int i = 0; i < t.n_tensors && i < 22; i++) {
        CHECK(!strcmp(t.tensors[i].name, names[i]), "tensor %d is %s, want %s", i, t.tensors[i].name, names[i]);
        CHECK(t.tensors[i].off == off, "%s at %ld, want %ld", names[i], t.tensors[i].off, off);
        off += t.tensors[i].numel;
    }
    int fc1 = template_find(&t, "layers.0.mlp.fc1.weight");
    CHECK(fc1 >= 0 && t.tensors[fc1].shape[0] == 48 && t.tensors[fc1].shape[1] == 16 && t.tensors[fc1].fan_in == 16,
          "fc1 shape");
    CHECK(template_find(&t, "nope") == -1, "find of an unknown name");
    parse_ok(t_, "transformer vocab=101 len=3 d=16 heads=2 mlp=48 classes=100 prenorm=0 layers=2", &t);
    CHECK(template_find(&t, "layers.1.ln1.weight") < 0 && template_find(&t, "ln_f.bias") < 0 &&
              template_find(&t, "layers.1.mlp.fc2.bias") >= 0,
          "prenorm=0 has no LayerNorm tensors");
    parse_ok(t_, "transformer vocab=3 len=2 d=4 heads=2 mlp=4 classes=2 layers=16", &t);
    CHECK(t.n_tensors == 16 * 16 + 6, "16 layers: %d tensors", t.n_tensors);
}

TEST(program_template_errors) {
    static const struct {
        const char *text, *msg;
    } cases[] = {
        {"", "empty"},
        {"cnn 3-3", "unknown kind 'cnn'"},
        {"mlp", "needs its widths"},
        {"mlp 10", "at least two widths"},
        {"mlp 10-0-1", "width=0 is not an integer"},
        {"mlp 10--1", "bad MLP widths"},
        {"mlp 10-x-1", "width=x is not an integer"},
        {"mlp 10-16-1 act=sigmoidal", "'sigmoidal' is not one of"},
        {"mlp 10-16-1 act=relu act=relu", "given twice"},
        {"mlp 10-16-1 depth=3", "unknown MLP option 'depth=3'"},
        {"mlp 4-4-4-4 act=relu,relu,relu", "names 3 activations, the MLP has 2 hidden layers"},
        {"mlp 1-1-1-1-1-1-1-1-1-1-1-1-1-1-1-1-1-1", "too many layers"},
        {"transformer vocab=101 len=3 d=16 heads=2 mlp=48", "needs classes="},
        {"transformer vocab=101 len=3 d=16 heads=3 mlp=48 classes=100", "heads=3 does not divide d=16"},
        {"transformer vocab=101 len=3 d=16 heads=2 mlp=48 classes=100 dropout=0.1",
         "unknown transformer key 'dropout'"},
        {"transformer vocab=101 len=3 d=16 heads=2 mlp=48 classes=100 layers=17", "too many layers"},
        {"transformer vocab=101 len=3 d=16 heads=2 mlp=48 classes=100 layers=0", "layers=0 is not an integer"},
        {"transformer vocab=101 len=3 d=-16 heads=2 mlp=48 classes=100", "d=-16 is not an integer"},
        {"transformer vocab=1e2 len=3 d=16 heads=2 mlp=48 classes=100", "vocab=1e2 is not an integer"},
        {"transformer vocab=101 len=3 d=16 heads=2 mlp=48 classes=100 prenorm=2", "prenorm=2 is not 0 or 1"},
        {"transformer vocab=101 len=3 d=16 heads=2 mlp=48 classes=100 readout=first", "readout=first is not"},
        {"transformer vocab=101 len=3 d=16 heads=2 mlp=48 classes=100 act=swish", "act=swish is not one of"},
        {"transformer vocab=101 vocab=101 len=3 d=16 heads=2 mlp=48 classes=100", "'vocab' given twice"},
        {"transformer vocab=101 len=3 d 16", "'d' is not key=value"},
        {"transformer vocab=65536 len=65536 d=65536 heads=1 mlp=1 classes=1", "too many parameters"},
        {"transformer vocab=101 len=3 d=16 heads=2 mlp=48 classes=100 window=3",
         "window=3 reaches past every cell of a row of len=3 (at most 2)"},
        {"transformer vocab=101 len=3 d=16 heads=2 mlp=48 classes=100 window=-1", "window=-1 is not an integer in [0,"},
        {"transformer vocab=65536 len=65536 d=1 heads=1 mlp=1 classes=1 window=65535", "window=65535: too many"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        Template t;
        Err e = {{0}};
        int rc = template_parse(cases[i].text, &t, &e);
        CHECK(rc == -1, "'%s' was accepted", cases[i].text);
        CHECK(strstr(e.msg, cases[i].msg) != NULL, "'%s': message '%s' lacks '%s'", cases[i].text, e.msg, cases[i].msg);
        CHECK(!strchr(e.msg, '\n'), "'%s': message is not one line", cases[i].text);
    }
}

TEST(program_init_theta_statistics) {
    Template t;
    parse_ok(t_, "transformer vocab=64 len=8 d=32 heads=4 mlp=128 classes=50", &t);
    float *th = xmalloc(t.n_theta * sizeof *th);
    Rng r;
    rng_seed(&r, 7);
    template_init_theta(&t, th, &r);
    for (int i = 0; i < t.n_tensors; i++) {
        const TplTensor *tt = &t.tensors[i];
        double s = 0, s2 = 0;
        for (long j = 0; j < tt->numel; j++) {
            s += th[tt->off + j];
            s2 += (double)th[tt->off + j] * th[tt->off + j];
        }
        double mean = s / tt->numel, var = s2 / tt->numel - mean * mean;
        if (tt->init == TPL_INIT_GAIN) CHECK(mean == 1.0 && var == 0.0, "%s: gains not 1", tt->name);
        else if (tt->init == TPL_INIT_BIAS) CHECK(s2 == 0.0, "%s: biases not 0", tt->name);
        else CHECK(fabs(var * tt->fan_in - 1.0) < 0.25, "%s: var %.4g, want 1/%d", tt->name, var, tt->fan_in);
    }
    free(th);
}

/* ---------------------------------------------------------------- execution */

/* The fixture's θ, tokens and PyTorch logits (dev/make_exec_fixture.py) against exec_transformer. */
static void check_fixture(TestCtx *t_, const char *path) {
    Err e = {{0}};
    StFile *f = st_read(path, &e);
    CHECK(f != NULL, "%s", e.msg);
    if (!f) return;
    Template t;
    parse_ok(t_, st_meta(f, "template"), &t);
    const StTensor *th = st_find(f, "theta"), *tk = st_find(f, "tokens"), *lg = st_find(f, "logits");
    CHECK(th && tk && lg && th->shape[1] == t.n_theta, "%s: theta [%lld, %lld] vs |θ| %ld", path,
          th ? (long long)th->shape[0] : -1LL, th ? (long long)th->shape[1] : -1LL, t.n_theta);
    if (th && tk && lg && th->shape[1] == t.n_theta) {
        int B = (int)tk->shape[0], N = (int)tk->shape[1];
        long n = st_numel(tk), n_out;
        int *tok = xmalloc(n * sizeof *tok);
        for (long i = 0; i < n; i++) tok[i] = (int)tk->data[i];
        float *y = run(&t, th->data, B, N, NULL, tok, &n_out);
        CHECK(n_out == st_numel(lg), "%s: %ld outputs, fixture has %lld", path, n_out, (long long)st_numel(lg));
        double scale = max_abs(lg->data, st_numel(lg));
        for (long i = 0; i < n_out && n_out == st_numel(lg); i++)
            CHECK(fabs(y[i] - lg->data[i]) <= 1e-4 * fmax(1.0, scale), "%s: logit %ld = %.7g, PyTorch %.7g", path, i,
                  y[i], lg->data[i]);
        free(tok);
        free(y);
    }
    st_free(f);
}

TEST(program_exec_matches_pytorch) {
    check_fixture(t_, "tests/fixtures/exec_tf1.safetensors"); /* 1 layer, pre-LN, readout last */
    check_fixture(t_, "tests/fixtures/exec_tf2.safetensors"); /* 2 layers, pre-LN, readout all, gelu */
    check_fixture(t_, "tests/fixtures/exec_tf3.safetensors"); /* 2 layers, no LayerNorm, 4 heads */
}

TEST(program_exec_mlp_matches_loops) {
    Template t;
    parse_ok(t_, "mlp 4-6-5-2 act=tanh,relu out=gelu", &t);
    Rng r;
    rng_seed(&r, 3);
    int B = 3, N = 4;
    float *th = random_theta(&t, B, &r), *x;
    int *tok;
    random_inputs(&t, B, N, &r, &x, &tok);
    long n_out;
    float *y = run(&t, th, B, N, x, NULL, &n_out);
    CHECK(n_out == B * N * 2, "n_out %ld", n_out);
    for (int b = 0; b < B; b++)
        for (int n = 0; n < N; n++) {
            double h[8], o[8];
            for (int i = 0; i < 4; i++) h[i] = x[(b * N + n) * 4 + i];
            for (int l = 0; l < 3; l++) {
                const float *p = th + (long)b * t.n_theta;
                const TplTensor *W = &t.tensors[2 * l], *bi = &t.tensors[2 * l + 1];
                for (int i = 0; i < t.widths[l + 1]; i++) {
                    double s = p[bi->off + i];
                    for (int j = 0; j < t.widths[l]; j++) s += p[W->off + i * t.widths[l] + j] * h[j];
                    o[i] = l == 0 ? tanh(s) : l == 1 ? fmax(s, 0) : 0.5 * s * (1 + erf(s / sqrt(2.0)));
                }
                memcpy(h, o, sizeof h);
            }
            for (int i = 0; i < 2; i++) CHECK_NEAR(y[(b * N + n) * 2 + i], h[i], 1e-5);
        }
    free(th);
    free(x);
    free(y);
}

/* Program b of a batch computes what it computes alone. */
TEST(program_exec_batch_rows_independent) {
    for (int k = 0; k < N_TEMPLATES; k++) {
        Template t;
        parse_ok(t_, TEMPLATES[k], &t);
        Rng r;
        rng_seed(&r, 11 + k);
        int B = 3, N = 2;
        float *th = random_theta(&t, B, &r), *x;
        int *tok;
        random_inputs(&t, B, N, &r, &x, &tok);
        long n_all, n_one;
        float *all = run(&t, th, B, N, x, tok, &n_all);
        long per = n_all / B, in_per = t.kind == TPL_MLP ? (long)N * t.widths[0] : (long)N * t.len;
        for (int b = 0; b < B; b++) {
            float *one =
                run(&t, th + b * t.n_theta, 1, N, x ? x + b * in_per : NULL, tok ? tok + b * in_per : NULL, &n_one);
            CHECK(max_diff(one, all + b * per, per) <= 1e-6 * fmax(1, max_abs(one, per)),
                  "%s: program %d differs in a batch", TEMPLATES[k], b);
            free(one);
        }
        free(th);
        free(x);
        free(tok);
        free(all);
    }
}

/* d(sum_i w_i y_i)/dθ by backprop against central differences (in float32, on smooth
 * activations so no kink sits within eps of an evaluation point). */
static void check_grad(TestCtx *t_, const char *text) {
    Template t;
    parse_ok(t_, text, &t);
    Rng r;
    rng_seed(&r, 5);
    int B = 2, N = 2;
    float *th = random_theta(&t, B, &r), *x;
    int *tok;
    random_inputs(&t, B, N, &r, &x, &tok);
    long n_out;
    float *y0 = run(&t, th, B, N, x, tok, &n_out);
    float *w = xmalloc(n_out * sizeof *w);
    for (long i = 0; i < n_out; i++) w[i] = rng_normal(&r);
    Arena a;
    Graph g;
    arena_init(&a, 1 << 20);
    graph_init(&g, &a);
    Tensor *tt = tensor_from(&g, SHAPE(B, (int)t.n_theta), th);
    tensor_require_grad(&g, tt);
    Tensor *y = t.kind == TPL_MLP ? exec_mlp(&g, &t, tt, tensor_from(&g, SHAPE(B, N, t.widths[0]), x))
                                  : exec_transformer(&g, &t, tt, tok, B, N);
    Tensor *wt = tensor_from(&g, y->ndim, y->shape, w);
    graph_backward(&g, op_sum(&g, op_mul(&g, y, wt)));
    int checks = 60;
    for (int c = 0; c < checks; c++) {
        long i = c < 4 ? c : rng_int(&r, (int)(B * t.n_theta)); /* always includes the first embedding slots */
        const float eps = 1e-2f;
        float keep = th[i];
        double f[2];
        for (int s = 0; s < 2; s++) {
            th[i] = keep + (s ? -eps : eps);
            long n;
            float *yy = run(&t, th, B, N, x, tok, &n);
            f[s] = 0;
            for (long j = 0; j < n; j++) f[s] += (double)w[j] * yy[j];
            free(yy);
        }
        th[i] = keep;
        double fd = (f[0] - f[1]) / (2 * eps), an = tt->grad[i];
        CHECK(fabs(fd - an) <= 2e-2 * fmax(0.1, fabs(fd)), "%s: dθ[%ld] backprop %.6g, finite difference %.6g", text, i,
              an, fd);
    }
    graph_free(&g);
    arena_free(&a);
    free(th);
    free(x);
    free(tok);
    free(y0);
    free(w);
}

TEST(program_exec_grad_matches_finite_differences) {
    check_grad(t_, "mlp 4-6-5-3 act=tanh,gelu");
    check_grad(t_, "transformer vocab=5 len=3 d=8 heads=2 mlp=6 classes=4 layers=1 prenorm=1 readout=last act=gelu");
    check_grad(t_, "transformer vocab=5 len=3 d=6 heads=3 mlp=5 classes=3 layers=2 prenorm=0 readout=all act=tanh");
    check_grad(t_, "transformer vocab=4 len=5 d=6 heads=2 mlp=5 classes=3 layers=1 prenorm=1 readout=all window=2");
}

/* A window adds its rows to the embedding and nothing else: with its table zero the program is the
 * same one without a window (to the bit), and each of its rows is read (changing one changes the
 * output) exactly when a cell sees that token at that offset, token 0 past the row's ends. */
TEST(program_window_reads_neighbours) {
    Template t, t0;
    const char *base = "transformer vocab=4 len=6 d=8 heads=2 mlp=10 classes=4 layers=1 prenorm=1 readout=all";
    char text[256];
    snprintf(text, sizeof text, "%s window=2", base);
    parse_ok(t_, text, &t);
    parse_ok(t_, base, &t0);
    int wi = template_find(&t, "window.weight");
    CHECK(wi == 2 && t.tensors[wi].shape[0] == 16 && t.tensors[wi].shape[1] == 8 && t.n_theta == t0.n_theta + 16 * 8 &&
              !strcmp(t.tensors[3].name, t0.tensors[2].name),
          "window.weight: tensor %d [%d, %d], |θ| %ld vs %ld", wi, wi >= 0 ? t.tensors[wi].shape[0] : -1,
          wi >= 0 ? t.tensors[wi].shape[1] : -1, t.n_theta, t0.n_theta);
    if (wi != 2) return;
    Rng r;
    rng_seed(&r, 77);
    float *th0 = random_theta(&t0, 1, &r), *th = xmalloc(t.n_theta * sizeof *th);
    long woff = t.tensors[wi].off, wn = t.tensors[wi].numel;
    memcpy(th, th0, woff * sizeof *th); /* embed, pos */
    memset(th + woff, 0, wn * sizeof *th);
    memcpy(th + woff + wn, th0 + woff, (t0.n_theta - woff) * sizeof *th);
    int tok[6] = {1, 1, 2, 2, 1, 1}; /* one row: token 0 only past its ends, token 3 nowhere */
    long n0, n1;
    float *y0 = run(&t0, th0, 1, 1, NULL, tok, &n0), *y1 = run(&t, th, 1, 1, NULL, tok, &n1);
    CHECK(n0 == n1 && !memcmp(y0, y1, n0 * sizeof *y0), "a zero window changes the output");
    /* block k: offset k - 2 (k < 2) or k - 1; a row is read iff some cell sees its token there */
    int reads = 0, unread = 0;
    for (int k = 0; k < 4; k++)
        for (int c = 0; c < 4; c++) {
            int o = k < 2 ? k - 2 : k - 1, seen = 0;
            for (int i = 0; i < 6; i++) seen |= (i + o >= 0 && i + o < 6 ? tok[i + o] : 0) == c;
            float *th2 = xmalloc(t.n_theta * sizeof *th2);
            memcpy(th2, th, t.n_theta * sizeof *th2);
            for (int j = 0; j < 8; j++) th2[woff + (long)(k * 4 + c) * 8 + j] = 1.0f;
            long n2;
            float *y2 = run(&t, th2, 1, 1, NULL, tok, &n2);
            int changed = memcmp(y1, y2, n1 * sizeof *y1) != 0;
            CHECK(changed == seen, "window row (offset %d, token %d): read %d, seen %d", o, c, changed, seen);
            reads += seen;
            unread += !seen;
            free(th2);
            free(y2);
        }
    CHECK(reads > 0 && unread > 0, "the test reads %d rows and leaves %d: it checks nothing", reads, unread);
    free(th0);
    free(th);
    free(y0);
    free(y1);
}

/* ---------------------------------------------------------------- symmetries, functionally */

/* θ'[perm[i]] = θ[i], row by row. */
static float *permute_theta(const Template *t, const float *th, int B, const long *perm) {
    float *out = xmalloc((size_t)B * t->n_theta * sizeof *out);
    for (int b = 0; b < B; b++)
        for (long i = 0; i < t->n_theta; i++) out[b * t->n_theta + perm[i]] = th[b * t->n_theta + i];
    return out;
}

TEST(program_symmetries_preserve_function) {
    for (int k = 0; k < N_TEMPLATES; k++) {
        Template t;
        NGraph g;
        Err e;
        parse_ok(t_, TEMPLATES[k], &t);
        CHECK(ngraph_build(&t, &g, 1, &e) == 0, "%s", e.msg);
        Rng r;
        rng_seed(&r, 100 + k);
        int B = 2, N = 5;
        float *th = random_theta(&t, B, &r), *x;
        int *tok;
        random_inputs(&t, B, N, &r, &x, &tok);
        long n_out, n2;
        float *y = run(&t, th, B, N, x, tok, &n_out);
        long *perm = xmalloc(t.n_theta * sizeof *perm);
        for (int s = 0; s < ngraph_n_symmetries(&t); s++)
            for (int rep = 0; rep < 3; rep++) {
                ngraph_symmetry_sample(&t, &g, s, &r, NULL, NULL, perm);
                float *pt = permute_theta(&t, th, B, perm);
                float *y2 = run(&t, pt, B, N, x, tok, &n2);
                double diff = max_diff(y, y2, n_out), scale = max_abs(y, n_out);
                CHECK(diff <= 1e-5 * scale, "%s: symmetry '%s' changes outputs by %.3g (scale %.3g)", TEMPLATES[k],
                      ngraph_symmetry_name(&t, s), diff, scale);
                free(pt);
                free(y2);
            }
        free(perm);
        free(th);
        free(x);
        free(tok);
        free(y);
        ngraph_free(&g);
    }
}

/* template_rename_tokens: the renamed program on tokens c gives the original's logits on map[c],
 * class c's being the original's class map[c]: the same arithmetic, so to the bit. */
TEST(program_rename_tokens) {
    for (int k = 2; k < N_TEMPLATES; k++) {
        Template t;
        parse_ok(t_, TEMPLATES[k], &t);
        Rng r;
        rng_seed(&r, 300 + k);
        int N = 4, n = t.vocab < t.classes ? t.vocab : t.classes, map[16];
        for (int c = 0; c < n; c++) map[c] = c;
        if (t.window) rng_shuffle_int(&r, map + 1, n - 1); /* token 0 is what a window reads past the ends */
        else rng_shuffle_int(&r, map, n);
        float *th = random_theta(&t, 1, &r), *x, *renamed = xmalloc(t.n_theta * sizeof *renamed);
        int *tok;
        random_inputs(&t, 1, N, &r, &x, &tok);
        int *mapped = xmalloc((size_t)N * t.len * sizeof *mapped);
        for (int i = 0; i < N * t.len; i++) mapped[i] = tok[i] < n ? map[tok[i]] : tok[i];
        memcpy(renamed, th, t.n_theta * sizeof *th);
        template_rename_tokens(&t, renamed, map, n);
        long n_out, n2;
        float *y = run(&t, th, 1, N, x, mapped, &n_out), *y2 = run(&t, renamed, 1, N, x, tok, &n2);
        int bad = 0, moved = 0;
        for (long row = 0; row < n_out / t.classes; row++)
            for (int c = 0; c < t.classes; c++) {
                int from = c < n ? map[c] : c;
                bad += y2[row * t.classes + c] != y[row * t.classes + from];
                moved += y2[row * t.classes + c] != y[row * t.classes + c];
            }
        CHECK(bad == 0 && moved > 0, "%s: %d logits differ, %d moved", TEMPLATES[k], bad, moved);
        free(th);
        free(renamed);
        free(x);
        free(tok);
        free(mapped);
        free(y);
        free(y2);
    }
}

/* Swaps rows i and j (length n at off) of every program's θ. */
static void swap_rows(const Template *t, float *th, int B, long off, int i, int j, int n) {
    for (int b = 0; b < B; b++)
        for (int c = 0; c < n; c++) {
            float *p = th + b * t->n_theta + off;
            float v = p[(long)i * n + c];
            p[(long)i * n + c] = p[(long)j * n + c];
            p[(long)j * n + c] = v;
        }
}

/* Permutations outside the declared groups do change the function: token ids and positions
 * are not interchangeable. */
TEST(program_non_symmetries_change_function) {
    for (int k = 2; k < N_TEMPLATES; k++) {
        Template t;
        parse_ok(t_, TEMPLATES[k], &t);
        Rng r;
        rng_seed(&r, 200 + k);
        int B = 2, N = 6;
        float *th = random_theta(&t, B, &r), *x;
        int *tok;
        random_inputs(&t, B, N, &r, &x, &tok);
        for (long i = 0; i < (long)B * N * t.len; i += t.len) tok[i] = 0; /* every input uses token 0 ... */
        long n_out, n2;
        float *y = run(&t, th, B, N, x, tok, &n_out);
        for (int which = 0; which < 2; which++) {
            const TplTensor *tt = &t.tensors[template_find(&t, which ? "pos.weight" : "embed.weight")];
            int j = which ? t.len - 1 : 1; /* ... and so token 0 <-> 1 or position 0 <-> last matters */
            float *pt = xmalloc(B * t.n_theta * sizeof *pt);
            memcpy(pt, th, B * t.n_theta * sizeof *pt);
            swap_rows(&t, pt, B, tt->off, 0, j, t.d);
            float *y2 = run(&t, pt, B, N, x, tok, &n2);
            double diff = max_diff(y, y2, n_out), scale = max_abs(y, n_out);
            CHECK(diff > 1e-3 * scale, "%s: swapping two %s rows left outputs unchanged (%.3g)", TEMPLATES[k], tt->name,
                  diff);
            free(pt);
            free(y2);
        }
        free(th);
        free(x);
        free(tok);
        free(y);
    }
}
