/* Templates: the text form (parse and canonical format), the parameter tensors (PyTorch names
 * and shapes, laid out one after another in θ) and the standard initialization.
 * Execution is in exec.c, the neural graph in ngraph.c. */
#include "program/template.h"
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Any single width above this is a typo, not a template (and keeps every product in an int). */
#define TPL_MAX_WIDTH 65536
#define TPL_MAX_WORDS 32

static const char *const ACT_NAMES[] = {"none", "relu", "gelu", "tanh", "silu"};

const char *act_name(Act a) { return (unsigned)a < 5 ? ACT_NAMES[a] : "?"; }

int act_parse(const char *s, Act *a) {
    for (int i = 0; i < 5; i++)
        if (!strcmp(s, ACT_NAMES[i])) {
            *a = (Act)i;
            return 0;
        }
    return -1;
}

/* ---- parameter layout ---- */

/* Appends one tensor view; the caller has checked the sizes, so only the totals can overflow. */
static int add_tensor(Template *t, Err *e, int init, int fan_in, int ndim, int s0, int s1, const char *fmt, ...)
    __attribute__((format(printf, 8, 9)));
static int add_tensor(Template *t, Err *e, int init, int fan_in, int ndim, int s0, int s1, const char *fmt, ...) {
    NP_ASSERT(t->n_tensors < TPL_MAX_TENSORS, "template: more than %d tensors", TPL_MAX_TENSORS);
    TplTensor *tt = &t->tensors[t->n_tensors++];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tt->name, sizeof tt->name, fmt, ap);
    va_end(ap);
    tt->ndim = ndim;
    tt->shape[0] = s0;
    tt->shape[1] = ndim == 2 ? s1 : 1;
    tt->numel = (long)s0 * (ndim == 2 ? s1 : 1);
    tt->off = t->n_theta;
    tt->init = init;
    tt->fan_in = fan_in;
    t->n_theta += tt->numel;
    /* θ rows are sliced with int offsets (op_slice), so |θ| must fit an int */
    if (t->n_theta > INT_MAX) return err_set(e, "template: too many parameters (more than %d)", INT_MAX);
    return 0;
}

static int layout_mlp(Template *t, Err *e) {
    for (int l = 0; l < t->n_layers; l++) {
        int in = t->widths[l], out = t->widths[l + 1];
        if (add_tensor(t, e, TPL_INIT_WEIGHT, in, 2, out, in, "layers.%d.weight", l) ||
            add_tensor(t, e, TPL_INIT_BIAS, in, 1, out, 0, "layers.%d.bias", l))
            return -1;
    }
    return 0;
}

/* Linear layer "prefix.weight" [out, in] and "prefix.bias" [out]. */
static int add_linear(Template *t, Err *e, const char *prefix, int out, int in) {
    if (add_tensor(t, e, TPL_INIT_WEIGHT, in, 2, out, in, "%s.weight", prefix)) return -1;
    return add_tensor(t, e, TPL_INIT_BIAS, in, 1, out, 0, "%s.bias", prefix);
}
static int add_ln(Template *t, Err *e, const char *prefix) {
    if (add_tensor(t, e, TPL_INIT_GAIN, t->d, 1, t->d, 0, "%s.weight", prefix)) return -1;
    return add_tensor(t, e, TPL_INIT_BIAS, t->d, 1, t->d, 0, "%s.bias", prefix);
}

static int layout_transformer(Template *t, Err *e) {
    int d = t->d;
    if (add_tensor(t, e, TPL_INIT_EMBED, 1, 2, t->vocab, d, "embed.weight") ||
        add_tensor(t, e, TPL_INIT_EMBED, 1, 2, t->len, d, "pos.weight"))
        return -1;
    if (t->window && add_tensor(t, e, TPL_INIT_EMBED, 1, 2, 2 * t->window * t->vocab, d, "window.weight")) return -1;
    char p[64];
    for (int l = 0; l < t->n_layers; l++) {
        static const char *const qkvo[] = {"q", "k", "v", "o"};
        snprintf(p, sizeof p, "layers.%d.ln1", l);
        if (t->prenorm && add_ln(t, e, p)) return -1;
        for (int k = 0; k < 4; k++) {
            snprintf(p, sizeof p, "layers.%d.attn.%s", l, qkvo[k]);
            if (add_linear(t, e, p, d, d)) return -1;
        }
        snprintf(p, sizeof p, "layers.%d.ln2", l);
        if (t->prenorm && add_ln(t, e, p)) return -1;
        snprintf(p, sizeof p, "layers.%d.mlp.fc1", l);
        if (add_linear(t, e, p, t->mlp, d)) return -1;
        snprintf(p, sizeof p, "layers.%d.mlp.fc2", l);
        if (add_linear(t, e, p, d, t->mlp)) return -1;
    }
    if (t->prenorm && add_ln(t, e, "ln_f")) return -1;
    return add_linear(t, e, "unembed", t->classes, d);
}

/* ---- parsing ---- */

/* A positive integer no larger than max, the whole string and nothing else. */
static int parse_int(const char *key, const char *s, int lo, int max, int *out, Err *e) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (!*s || *end || errno || v < lo || v > max) {
        if (lo == 0 && max == 1) return err_set(e, "template: %s=%s is not 0 or 1", key, s);
        return err_set(e, "template: %s=%s is not an integer in [%d, %d]", key, s, lo, max);
    }
    *out = (int)v;
    return 0;
}

/* Splits text on blanks into words (in buf). Returns the count, or -1 when there are too many. */
static int split_words(const char *text, char *buf, size_t cap, char **w) {
    snprintf(buf, cap, "%s", text);
    int n = 0;
    for (char *s = strtok(buf, " \t\r\n"); s; s = strtok(NULL, " \t\r\n")) {
        if (n == TPL_MAX_WORDS) return -1;
        w[n++] = s;
    }
    return n;
}

/* "10-16-1": at least two widths, each in [1, TPL_MAX_WIDTH]. */
static int parse_widths(const char *s, Template *t, Err *e) {
    char buf[256], *save = NULL;
    snprintf(buf, sizeof buf, "%s", s);
    t->n_layers = -1;
    if (strstr(s, "--") || s[0] == '-' || s[strlen(s) - 1] == '-')
        return err_set(e, "template: bad MLP widths '%s' (want e.g. 10-16-1)", s);
    for (char *w = strtok_r(buf, "-", &save); w; w = strtok_r(NULL, "-", &save)) {
        if (t->n_layers + 1 > TPL_MAX_LAYERS)
            return err_set(e, "template: too many layers in '%s' (at most %d)", s, TPL_MAX_LAYERS);
        if (parse_int("width", w, 1, TPL_MAX_WIDTH, &t->widths[++t->n_layers], e)) return -1;
    }
    if (t->n_layers < 1) return err_set(e, "template: an MLP needs at least two widths (e.g. 10-16-1), got '%s'", s);
    return 0;
}

/* act=NAME for every hidden layer, or act=A,B,... one per hidden layer. */
static int parse_mlp_acts(const char *s, Template *t, Err *e) {
    char buf[256], *save = NULL;
    snprintf(buf, sizeof buf, "%s", s);
    Act a[TPL_MAX_LAYERS];
    int n = 0;
    for (char *w = strtok_r(buf, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
        if (n == TPL_MAX_LAYERS || act_parse(w, &a[n]))
            return err_set(e, "template: act=%s: '%s' is not one of none, relu, gelu, tanh, silu", s, w);
        n++;
    }
    if (n == 0) return err_set(e, "template: act= needs an activation");
    if (n != 1 && n != t->n_layers - 1)
        return err_set(e, "template: act=%s names %d activations, the MLP has %d hidden layers", s, n, t->n_layers - 1);
    for (int l = 0; l < t->n_layers - 1; l++) t->act[l] = a[n == 1 ? 0 : l];
    return 0;
}

static int parse_mlp(char **w, int nw, Template *t, Err *e) {
    if (nw < 2) return err_set(e, "template: mlp needs its widths (e.g. mlp 10-16-1)");
    if (parse_widths(w[1], t, e)) return -1;
    for (int l = 0; l < t->n_layers; l++) t->act[l] = l < t->n_layers - 1 ? ACT_RELU : ACT_NONE;
    int seen_act = 0, seen_out = 0;
    for (int i = 2; i < nw; i++) {
        if (!strncmp(w[i], "act=", 4) && !seen_act++) {
            if (parse_mlp_acts(w[i] + 4, t, e)) return -1;
        } else if (!strncmp(w[i], "out=", 4) && !seen_out++) {
            if (act_parse(w[i] + 4, &t->act[t->n_layers - 1]))
                return err_set(e, "template: out=%s is not one of none, relu, gelu, tanh, silu", w[i] + 4);
        } else if (!strncmp(w[i], "act=", 4) || !strncmp(w[i], "out=", 4)) {
            return err_set(e, "template: '%.4s' given twice", w[i]);
        } else {
            return err_set(e, "template: unknown MLP option '%s' (known: act=, out=)", w[i]);
        }
    }
    return layout_mlp(t, e);
}

enum { K_VOCAB, K_LEN, K_D, K_HEADS, K_MLP, K_CLASSES, K_LAYERS, K_PRENORM, K_READOUT, K_ACT, K_WINDOW, N_KEYS };
static const char *const TF_KEYS[N_KEYS] = {"vocab",  "len",     "d",       "heads", "mlp",   "classes",
                                            "layers", "prenorm", "readout", "act",   "window"};

static int tf_value(Template *t, int k, const char *v, Err *e) {
    int *ints[] = {&t->vocab, &t->len, &t->d, &t->heads, &t->mlp, &t->classes};
    if (k < K_LAYERS) return parse_int(TF_KEYS[k], v, 1, TPL_MAX_WIDTH, ints[k], e);
    if (k == K_LAYERS) {
        if (parse_int("layers", v, 1, INT_MAX, &t->n_layers, e)) return -1;
        if (t->n_layers > TPL_MAX_LAYERS)
            return err_set(e, "template: layers=%s: too many layers (at most %d)", v, TPL_MAX_LAYERS);
        return 0;
    }
    if (k == K_PRENORM) return parse_int("prenorm", v, 0, 1, &t->prenorm, e);
    if (k == K_WINDOW) return parse_int("window", v, 0, TPL_MAX_WIDTH, &t->window, e);
    if (k == K_READOUT) {
        if (strcmp(v, "last") && strcmp(v, "all")) return err_set(e, "template: readout=%s is not 'last' or 'all'", v);
        t->readout_last = !strcmp(v, "last");
        return 0;
    }
    if (act_parse(v, &t->mlp_act)) return err_set(e, "template: act=%s is not one of none, relu, gelu, tanh, silu", v);
    return 0;
}

static int parse_transformer(char **w, int nw, Template *t, Err *e) {
    int seen[N_KEYS] = {0};
    t->n_layers = 1;
    t->prenorm = 1;
    t->readout_last = 1;
    t->mlp_act = ACT_RELU;
    for (int i = 1; i < nw; i++) {
        char *eq = strchr(w[i], '=');
        if (!eq) return err_set(e, "template: '%s' is not key=value", w[i]);
        *eq = 0;
        int k = 0;
        while (k < N_KEYS && strcmp(w[i], TF_KEYS[k])) k++;
        if (k == N_KEYS)
            return err_set(e,
                           "template: unknown transformer key '%s' (known: vocab len d heads mlp classes layers "
                           "prenorm readout act window)",
                           w[i]);
        if (seen[k]++) return err_set(e, "template: '%s' given twice", w[i]);
        if (tf_value(t, k, eq + 1, e)) return -1;
    }
    for (int k = 0; k < K_LAYERS; k++)
        if (!seen[k]) return err_set(e, "template: transformer needs %s=", TF_KEYS[k]);
    if (t->d % t->heads) return err_set(e, "template: heads=%d does not divide d=%d", t->heads, t->d);
    if (t->window >= t->len)
        return err_set(e, "template: window=%d reaches past every cell of a row of len=%d (at most %d)", t->window,
                       t->len, t->len - 1);
    if (2L * t->window * t->vocab > INT_MAX)
        return err_set(e, "template: window=%d: too many parameters (2·window·vocab rows)", t->window);
    return layout_transformer(t, e);
}

int template_parse(const char *text, Template *t, Err *e) {
    memset(t, 0, sizeof *t);
    char buf[1024], *w[TPL_MAX_WORDS];
    if (!text || strlen(text) >= sizeof buf)
        return err_set(e, "template: text missing or longer than %zu characters", sizeof buf - 1);
    int nw = split_words(text, buf, sizeof buf, w);
    if (nw < 0) return err_set(e, "template: more than %d words", TPL_MAX_WORDS);
    if (nw == 0) return err_set(e, "template: empty (want 'mlp 10-16-1' or 'transformer vocab=... ')");
    int rc;
    if (!strcmp(w[0], "mlp")) {
        t->kind = TPL_MLP;
        rc = parse_mlp(w, nw, t, e);
    } else if (!strcmp(w[0], "transformer")) {
        t->kind = TPL_TRANSFORMER;
        rc = parse_transformer(w, nw, t, e);
    } else rc = err_set(e, "template: unknown kind '%s' (want mlp or transformer)", w[0]);
    if (rc) memset(t, 0, sizeof *t);
    return rc;
}

/* ---- canonical text ---- */

static void format_mlp(const Template *t, char *buf, size_t len) {
    size_t n = snprintf(buf, len, "mlp");
    for (int l = 0; l <= t->n_layers && n < len; l++)
        n += snprintf(buf + n, len - n, "%s%d", l ? "-" : " ", t->widths[l]);
    int same = 1;
    for (int l = 1; l < t->n_layers - 1; l++) same &= t->act[l] == t->act[0];
    for (int l = 0; l < t->n_layers - 1 && n < len; l++)
        if (l == 0 || !same) n += snprintf(buf + n, len - n, "%s%s", l ? "," : " act=", act_name(t->act[l]));
    if (t->act[t->n_layers - 1] != ACT_NONE && n < len)
        snprintf(buf + n, len - n, " out=%s", act_name(t->act[t->n_layers - 1]));
}

void template_format(const Template *t, char *buf, size_t len) {
    if (t->kind == TPL_MLP) {
        format_mlp(t, buf, len);
        return;
    }
    snprintf(buf, len,
             "transformer vocab=%d len=%d d=%d heads=%d mlp=%d classes=%d layers=%d prenorm=%d readout=%s act=%s",
             t->vocab, t->len, t->d, t->heads, t->mlp, t->classes, t->n_layers, t->prenorm,
             t->readout_last ? "last" : "all", act_name(t->mlp_act));
    /* without a window the text is what it was before the key existed (run folders keep it) */
    size_t n = strlen(buf);
    if (t->window && n < len) snprintf(buf + n, len - n, " window=%d", t->window);
}

int template_find(const Template *t, const char *name) {
    for (int i = 0; i < t->n_tensors; i++)
        if (!strcmp(t->tensors[i].name, name)) return i;
    return -1;
}

/* Row r0 + c of the tensor becomes its row r0 + map[c], for c < n. */
static void permute_block(const Template *t, float *theta, const char *name, long r0, const int *map, int n) {
    const TplTensor *tt = &t->tensors[template_find(t, name)];
    long w = tt->ndim == 2 ? tt->shape[1] : 1;
    float *p = theta + tt->off + r0 * w, *old = xmalloc(sizeof *old * (size_t)(n * w));
    memcpy(old, p, sizeof *old * (size_t)(n * w));
    for (int c = 0; c < n; c++) memcpy(p + c * w, old + map[c] * w, sizeof *p * (size_t)w);
    free(old);
}

void template_rename_tokens(const Template *t, float *theta, const int *map, int n) {
    NP_ASSERT(t->kind == TPL_TRANSFORMER && n <= t->vocab && n <= t->classes, "renaming %d tokens of a template", n);
    NP_ASSERT(!t->window || map[0] == 0, "renaming token 0, which a window reads past the row's ends");
    permute_block(t, theta, "embed.weight", 0, map, n);
    for (int k = 0; k < 2 * t->window; k++) /* each offset's block of the window table */
        permute_block(t, theta, "window.weight", k * t->vocab, map, n);
    permute_block(t, theta, "unembed.weight", 0, map, n);
    permute_block(t, theta, "unembed.bias", 0, map, n);
}

void template_init_theta(const Template *t, float *theta, Rng *r) {
    if (!r) return; /* a checkpoint fills θ (method_init) */
    for (int i = 0; i < t->n_tensors; i++) {
        const TplTensor *tt = &t->tensors[i];
        float *p = theta + tt->off;
        float std = 1.0f / sqrtf((float)tt->fan_in);
        for (long j = 0; j < tt->numel; j++) {
            switch (tt->init) {
            case TPL_INIT_WEIGHT:
            case TPL_INIT_EMBED: p[j] = std * rng_normal(r); break;
            case TPL_INIT_GAIN: p[j] = 1.0f; break;
            default: p[j] = 0.0f;
            }
        }
    }
}
