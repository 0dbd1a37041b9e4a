/* Batched execution of B programs of one template: exec(S, θ_b, X_b) for every b at once.
 * Each program's weights are views of its θ row (op_slice + op_reshape), used with op_bmm, so
 * gradients flow from the outputs back into θ and from there into whatever generated it. */
#include "program/template.h"
#include <math.h>
#include <stdarg.h>
#include <stdio.h>

#define LN_EPS 1e-5f

Tensor *theta_view(Graph *g, const Template *t, Tensor *theta, const char *name) {
    int i = template_find(t, name);
    NP_ASSERT(i >= 0, "exec: template has no tensor '%s'", name);
    NP_ASSERT(theta->ndim == 2 && theta->shape[1] == t->n_theta, "exec: theta must be [B, %ld]", t->n_theta);
    const TplTensor *tt = &t->tensors[i];
    Tensor *v = op_slice(g, theta, 1, (int)tt->off, (int)tt->numel);
    if (tt->ndim == 2) return op_reshape(g, v, SHAPE(theta->shape[0], tt->shape[0], tt->shape[1]));
    return op_reshape(g, v, SHAPE(theta->shape[0], 1, tt->shape[0]));
}

/* theta_view with a printf-formatted name. */
static Tensor *param(Graph *g, const Template *t, Tensor *theta, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static Tensor *param(Graph *g, const Template *t, Tensor *theta, const char *fmt, ...) {
    char name[64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    return theta_view(g, t, theta, name);
}

static Tensor *activate(Graph *g, Tensor *x, Act a) {
    switch (a) {
    case ACT_RELU: return op_relu(g, x);
    case ACT_GELU: return op_gelu(g, x);
    case ACT_TANH: return op_tanh(g, x);
    case ACT_SILU: return op_silu(g, x);
    default: return x;
    }
}

/* x [B, M, in] -> x W^T + b: [B, M, out], with "prefix.weight" and "prefix.bias" of each program. */
static Tensor *linear(Graph *g, const Template *t, Tensor *theta, Tensor *x, const char *prefix) {
    Tensor *w = param(g, t, theta, "%s.weight", prefix), *b = param(g, t, theta, "%s.bias", prefix);
    return op_bmm_bias(g, x, w, b, 0, 1);
}

Tensor *exec_mlp(Graph *g, const Template *t, Tensor *theta, Tensor *x) {
    NP_ASSERT(t->kind == TPL_MLP, "exec_mlp: not an MLP template");
    NP_ASSERT(x->ndim == 3 && x->shape[0] == theta->shape[0] && x->shape[2] == t->widths[0],
              "exec_mlp: x must be [B=%d, N, %d]", theta->shape[0], t->widths[0]);
    char p[32];
    for (int l = 0; l < t->n_layers; l++) {
        snprintf(p, sizeof p, "layers.%d", l);
        x = activate(g, linear(g, t, theta, x, p), t->act[l]);
    }
    return x;
}

/* x E[tok] + P[pos] for every program: [B, N*T, d]. Program b's table is rows b*vocab.. of the
 * stacked [B*vocab, d] embedding, so one gather serves the whole batch. With a window, each
 * program's table is [E; window] ((2W+1)·vocab rows) and a cell gathers 2W + 1 rows, summed:
 * its own token's and each neighbour's at that offset (token 0 past the row's ends). */
static Tensor *embed(Graph *g, const Template *t, Tensor *theta, const int *tok, int B, int N) {
    int T = t->len, d = t->d, n = B * N * T, W = t->window, K = 2 * W + 1, rows = K * t->vocab;
    int *idx = arena_alloc(g->arena, (size_t)n * K * sizeof *idx);
    for (int i = 0; i < n; i++) {
        NP_ASSERT(tok[i] >= 0 && tok[i] < t->vocab, "exec_transformer: token %d out of [0, %d)", tok[i], t->vocab);
        int *ix = idx + (size_t)i * K, base = (i / (N * T)) * rows, c = i % T;
        ix[0] = base + tok[i];
        for (int k = 0; k < 2 * W; k++) { /* block k + 1: offset k − W, or k − W + 1 from k = W on */
            int o = k < W ? k - W : k - W + 1, j = c + o;
            ix[1 + k] = base + (k + 1) * t->vocab + (j >= 0 && j < T ? tok[i + o] : 0);
        }
    }
    Tensor *E = theta_view(g, t, theta, "embed.weight");
    if (W) {
        Tensor *both[2] = {E, theta_view(g, t, theta, "window.weight")};
        E = op_concat(g, both, 2, 1);
    }
    Tensor *x = op_gather(g, op_reshape(g, E, SHAPE(B * rows, d)), idx, n * K);
    if (W) x = op_sum_axis(g, op_reshape(g, x, SHAPE(n, K, d)), 1);
    x = op_reshape(g, x, SHAPE(B, N, T, d));
    Tensor *P = op_reshape(g, theta_view(g, t, theta, "pos.weight"), SHAPE(B, 1, T, d));
    return op_reshape(g, op_add(g, x, P), SHAPE(B, N * T, d));
}

/* [B, N*T, d] <-> [B*N*H, T, dh]: one attention problem per (program, input, head). Both give x's
 * memory back (tensor_release: a no-grad run reuses what it is done with). */
static Tensor *split_heads(Graph *g, Tensor *x, int B, int N, int T, int H, int dh) {
    Tensor *y = op_permute(g, op_reshape(g, x, SHAPE(B * N, T, H, dh)), (int[]){0, 2, 1, 3});
    tensor_release(g, x);
    return op_reshape(g, y, SHAPE(B * N * H, T, dh));
}
static Tensor *merge_heads(Graph *g, Tensor *x, int B, int N, int T, int H, int dh) {
    Tensor *y = op_permute(g, op_reshape(g, x, SHAPE(B * N, H, T, dh)), (int[]){0, 2, 1, 3});
    tensor_release(g, x);
    return op_reshape(g, y, SHAPE(B, N * T, H * dh));
}

/* Pre-LN LayerNorm with each program's gain and bias, or the identity without prenorm. */
static Tensor *norm(Graph *g, const Template *t, Tensor *theta, Tensor *x, const char *prefix) {
    if (!t->prenorm) return x;
    return op_layernorm(g, x, param(g, t, theta, "%s.weight", prefix), param(g, t, theta, "%s.bias", prefix), LN_EPS);
}

/* Full (unmasked) multi-head self-attention of h [B, N*T, d] -> [B, N*T, d] (before the residual). */
static Tensor *attention(Graph *g, const Template *t, Tensor *theta, Tensor *h, int l, int B, int N) {
    int T = t->len, H = t->heads, dh = t->d / t->heads;
    char p[64];
    Tensor *qkv[3];
    for (int k = 0; k < 3; k++) {
        snprintf(p, sizeof p, "layers.%d.attn.%c", l, "qkv"[k]);
        qkv[k] = split_heads(g, linear(g, t, theta, h, p), B, N, T, H, dh);
    }
    Tensor *qk = op_bmm(g, qkv[0], qkv[1], 0, 1), *s = op_scale(g, qk, 1.0f / sqrtf((float)dh));
    tensor_release(g, qk);
    Tensor *a = op_softmax(g, s, NULL), *ctx = op_bmm(g, a, qkv[2], 0, 0);
    for (int k = 0; k < 3; k++) tensor_release(g, qkv[k]);
    tensor_release(g, s);
    tensor_release(g, a);
    snprintf(p, sizeof p, "layers.%d.attn.o", l);
    Tensor *merged = merge_heads(g, ctx, B, N, T, H, dh), *out = linear(g, t, theta, merged, p);
    tensor_release(g, merged);
    return out;
}

/* x + attention, then + the MLP; x and what the block makes on the way are given back (a no-grad
 * run reuses their memory). */
static Tensor *block(Graph *g, const Template *t, Tensor *theta, Tensor *x, int l, int B, int N) {
    char p[64], q[64];
    snprintf(p, sizeof p, "layers.%d.ln1", l);
    Tensor *h = norm(g, t, theta, x, p), *a = attention(g, t, theta, h, l, B, N), *x1 = op_add(g, x, a);
    if (h != x) tensor_release(g, h); /* without prenorm, h is x */
    tensor_release(g, a);
    tensor_release(g, x);
    snprintf(p, sizeof p, "layers.%d.ln2", l);
    h = norm(g, t, theta, x1, p);
    snprintf(p, sizeof p, "layers.%d.mlp.fc1", l);
    snprintf(q, sizeof q, "layers.%d.mlp.fc2", l);
    Tensor *z = linear(g, t, theta, h, p), *za = activate(g, z, t->mlp_act), *m = linear(g, t, theta, za, q);
    if (h != x1) tensor_release(g, h);
    if (za != z) tensor_release(g, za); /* an identity activation returns z itself */
    tensor_release(g, z);
    Tensor *out = op_add(g, x1, m);
    tensor_release(g, m);
    tensor_release(g, x1);
    return out;
}

int logits_argmax(const float *logits, int n) {
    int best = 0;
    for (int c = 1; c < n; c++)
        if (logits[c] > logits[best]) best = c;
    return best;
}

Tensor *exec_transformer(Graph *g, const Template *t, Tensor *theta, const int *tok, int B, int N) {
    NP_ASSERT(t->kind == TPL_TRANSFORMER, "exec_transformer: not a Transformer template");
    NP_ASSERT(theta->ndim == 2 && theta->shape[0] == B, "exec_transformer: theta must be [B=%d, |θ|]", B);
    int T = t->len, d = t->d;
    Tensor *x = embed(g, t, theta, tok, B, N);
    for (int l = 0; l < t->n_layers; l++) x = block(g, t, theta, x, l, B, N);
    x = norm(g, t, theta, x, "ln_f");
    if (t->readout_last) {
        /* only the last position is read: slice it before the (largest) unembedding matmul */
        x = op_slice(g, op_reshape(g, x, SHAPE(B * N, T, d)), 1, T - 1, 1);
        return linear(g, t, theta, op_reshape(g, x, SHAPE(B, N, d)), "unembed");
    }
    Tensor *y = linear(g, t, theta, x, "unembed");
    return op_reshape(g, y, SHAPE(B, N, T, t->classes));
}
