/* Task registry, intents (lists, parsing, features), example buffers, sampling dispatch, scoring. */
#include "program/template.h"
#include "tasks/arcdemo.h"
#include "tasks/internal.h"
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- intent lists (the paper's; docs/tasks.md) ---- */

static const Intent sumfirst_train[] = {{0, 1}, {0, 2}, {0, 3}, {0, 5}, {0, 6}, {0, 8}, {0, 9}, {0, 10}};
static const Intent sumfirst_ood[] = {{0, 4}, {0, 7}};

static const Intent addmod_train[] = {{0, 2},  {0, 3},  {0, 5},  {0, 7},  {0, 11}, {0, 13}, {0, 17}, {0, 19},
                                      {0, 29}, {0, 31}, {0, 37}, {0, 41}, {0, 43}, {0, 47}, {0, 59}, {0, 61},
                                      {0, 67}, {0, 71}, {0, 73}, {0, 79}, {0, 89}, {0, 97}};
static const Intent addmod_ood[] = {{0, 23}, {0, 53}, {0, 83}};

static const Intent arc_train[] = {
    {ARC_MOVE, 1},    {ARC_MOVE, 2},    {ARC_MOVE, 4},    {ARC_MOVE, 5},    {ARC_RECOLOR, 1}, {ARC_RECOLOR, 2},
    {ARC_RECOLOR, 3}, {ARC_RECOLOR, 4}, {ARC_RECOLOR, 6}, {ARC_RECOLOR, 7}, {ARC_RECOLOR, 8}, {ARC_RECOLOR, 9},
    {ARC_FLIP, -1},   {ARC_FILL, -1},   {ARC_HOLLOW, -1}, {ARC_MIRROR, -1}, {ARC_DENOISE, -1}};
static const Intent arc_ood[] = {{ARC_MOVE, 3}, {ARC_RECOLOR, 5}};

/* arc-demo: 15 families trained, three held out of training entirely, chosen before any run
 * (docs/tasks.md): each has a sibling family in training whose demonstrations show its parts
 * (move_1p/move_2p and move_dp's shifts; pcopy_1c; recolor_cnt's and recolor_cmp's maps). */
static const Intent arcdemo_train[] = {{ARCD_DENOISING_1C, -1}, {ARCD_DENOISING_MC, -1}, {ARCD_FILL, -1},
                                       {ARCD_FLIP, -1},         {ARCD_HOLLOW, -1},       {ARCD_MIRROR, -1},
                                       {ARCD_MOVE_1P, -1},      {ARCD_MOVE_2P, -1},      {ARCD_MOVE_2P_DP, -1},
                                       {ARCD_MOVE_DP, -1},      {ARCD_PADDED_FILL, -1},  {ARCD_PCOPY_1C, -1},
                                       {ARCD_RECOLOR_CMP, -1},  {ARCD_RECOLOR_CNT, -1},  {ARCD_SCALE_DP, -1}};
static const Intent arcdemo_ood[] = {{ARCD_MOVE_3P, -1}, {ARCD_PCOPY_MC, -1}, {ARCD_RECOLOR_OE, -1}};
/* arc-demo-all: all 18 trained, none held out (the test (a): every family seen, its real
 * tasks unseen); the same rows and defaults as arc-demo otherwise */
static const Intent arcdemo_all[] = {{ARCD_DENOISING_1C, -1}, {ARCD_DENOISING_MC, -1}, {ARCD_FILL, -1},
                                     {ARCD_FLIP, -1},         {ARCD_HOLLOW, -1},       {ARCD_MIRROR, -1},
                                     {ARCD_MOVE_1P, -1},      {ARCD_MOVE_2P, -1},      {ARCD_MOVE_2P_DP, -1},
                                     {ARCD_MOVE_3P, -1},      {ARCD_MOVE_DP, -1},      {ARCD_PADDED_FILL, -1},
                                     {ARCD_PCOPY_1C, -1},     {ARCD_PCOPY_MC, -1},     {ARCD_RECOLOR_CMP, -1},
                                     {ARCD_RECOLOR_CNT, -1},  {ARCD_RECOLOR_OE, -1},   {ARCD_SCALE_DP, -1}};

#define COUNT(a) ((int)(sizeof(a) / sizeof *(a)))

static const char *const arc_names[ARC_N_FAMILIES] = {"move", "recolor", "flip", "fill", "hollow", "mirror", "denoise"};
/* Parameter name and valid range per ARC family; name NULL = parameter-free. */
static const struct {
    const char *pname;
    int lo, hi;
} arc_params[ARC_N_FAMILIES] = {{"k", 1, 5},  {"c", 1, 9},  {NULL, 0, 0}, {NULL, 0, 0},
                                {NULL, 0, 0}, {NULL, 0, 0}, {NULL, 0, 0}};

#define ARC_N_FEAT (ARC_N_FAMILIES + 1 + ARC_COLOURS + 1)

/* ---- registry ---- */

static const struct {
    const char *alias;
    TaskKind kind;
    const char *variant; /* the id of a built-in task's variant (its intents differ), or NULL */
} task_aliases[] = {{"sumfirst", TASK_SUMFIRST, NULL},
                    {"sumfirst-n", TASK_SUMFIRST, NULL},
                    {"addmod", TASK_ADDMOD, NULL},
                    {"addmod-p", TASK_ADDMOD, NULL},
                    {"arc", TASK_ARC, NULL},
                    {"1d-arc", TASK_ARC, NULL},
                    {"1darc", TASK_ARC, NULL},
                    {"arc1d", TASK_ARC, NULL},
                    {"1d-arc-mixed", TASK_ARC, NULL},
                    {"arc-demo", TASK_ARC_DEMO, NULL},
                    {"1d-arc-demo", TASK_ARC_DEMO, NULL},
                    {"arc-demo-all", TASK_ARC_DEMO, "arc-demo-all"},
                    {"1d-arc-demo-all", TASK_ARC_DEMO, "arc-demo-all"}};

static Task task_make(TaskKind kind) {
    Task t = {.kind = kind};
    switch (kind) {
    case TASK_SUMFIRST:
        t.name = "sumfirst";
        t.n_feat = 1;
        t.in_dim = 10;
        t.out_len = 1;
        t.train = sumfirst_train;
        t.n_train = COUNT(sumfirst_train);
        t.ood = sumfirst_ood;
        t.n_ood = COUNT(sumfirst_ood);
        break;
    case TASK_ADDMOD:
        t.name = "addmod";
        t.n_feat = 3;
        t.seq_len = 3;
        t.vocab = 101;
        t.n_classes = 100;
        t.out_len = 1;
        t.train = addmod_train;
        t.n_train = COUNT(addmod_train);
        t.ood = addmod_ood;
        t.n_ood = COUNT(addmod_ood);
        break;
    case TASK_ARC:
        t.name = "arc";
        t.n_feat = ARC_N_FEAT;
        t.seq_len = ARC_MAX_LEN;
        t.vocab = ARC_COLOURS;
        t.n_classes = ARC_COLOURS;
        t.out_len = ARC_MAX_LEN;
        t.train = arc_train;
        t.n_train = COUNT(arc_train);
        t.ood = arc_ood;
        t.n_ood = COUNT(arc_ood);
        break;
    case TASK_ARC_DEMO:
        t.name = "arc-demo";
        t.n_feat = ARC_DEMO_FEAT;
        t.seq_len = ARC_DEMO_MAX_LEN;
        t.vocab = ARC_COLOURS;
        t.n_classes = ARC_COLOURS;
        t.out_len = ARC_DEMO_MAX_LEN;
        t.demo_pairs = ARC_DEMO_EXAMPLES;
        t.train = arcdemo_train;
        t.n_train = COUNT(arcdemo_train);
        t.ood = arcdemo_ood;
        t.n_ood = COUNT(arcdemo_ood);
        break;
    case TASK_FILE: NP_ASSERT(0, "task files are loaded by taskfile_load");
    }
    return t;
}

/* The entry of the built-in task a name or alias means, or -1. */
static int alias_index(const char *name) {
    for (int i = 0; i < COUNT(task_aliases); i++)
        if (name && !strcasecmp(name, task_aliases[i].alias)) return i;
    return -1;
}

const char *task_builtin_id(const char *name) {
    int a = alias_index(name);
    if (a < 0) return NULL;
    return task_aliases[a].variant ? task_aliases[a].variant : task_make(task_aliases[a].kind).name;
}

static int task_open(const char *name, int to_train, Task *out, Err *e) {
    memset(out, 0, sizeof *out);
    int a = alias_index(name);
    if (a >= 0) {
        *out = task_make(task_aliases[a].kind);
        out->id = task_aliases[a].variant ? task_aliases[a].variant : out->name;
        if (task_aliases[a].variant) { /* arc-demo-all, the only variant */
            out->train = arcdemo_all;
            out->n_train = COUNT(arcdemo_all);
            out->ood = NULL;
            out->n_ood = 0;
        }
        return out->kind == TASK_ARC_DEMO && to_train ? arcdemo_load_excluded(out, e) : 0;
    }
    size_t n = name ? strlen(name) : 0;
    if (n > 6 && !strcmp(name + n - 6, ".jsonl")) return taskfile_load(name, out, e);
    return err_set(
        e, "unknown task '%s' (valid: sumfirst, addmod, arc, arc-demo, arc-demo-all, or a task file PATH.jsonl)",
        name ? name : "");
}

int task_get(const char *name, Task *out, Err *e) { return task_open(name, 1, out, e); }
int task_get_to_score(const char *name, Task *out, Err *e) { return task_open(name, 0, out, e); }

const char *task_label(const Task *t) { return t->kind == TASK_FILE ? t->name : t->id; }

void task_free(Task *t) {
    if (t->kind == TASK_FILE) taskfile_free(t->file);
    free(t->excluded);
    memset(t, 0, sizeof *t);
}

const char *split_name(Split s) {
    static const char *const names[] = {"train", "val", "test", "ood"};
    NP_ASSERT(s >= SPLIT_TRAIN && s <= SPLIT_OOD, "bad split %d", (int)s);
    return names[s];
}

const char *arc_family_name(int family) {
    NP_ASSERT(family >= 0 && family < ARC_N_FAMILIES, "bad ARC family %d", family);
    return arc_names[family];
}

/* ---- intents ---- */

static int intent_in(const Intent *list, int n, Intent u) {
    for (int i = 0; i < n; i++)
        if (list[i].family == u.family && list[i].param == u.param) return 1;
    return 0;
}

int task_is_ood(const Task *t, Intent u) { return intent_in(t->ood, t->n_ood, u); }
int task_ood_ordinal(const Task *t, Intent u) {
    return task_is_ood(t, u) && !(t->kind == TASK_ARC && u.family == ARC_RECOLOR);
}
int task_intent_valid(const Task *t, Intent u) { return task_is_ood(t, u) || intent_in(t->train, t->n_train, u); }

void task_features(const Task *t, Intent u, float *feat) {
    NP_ASSERT(task_intent_valid(t, u), "invalid intent (%d, %d) for %s", u.family, u.param, t->name);
    memset(feat, 0, sizeof *feat * (size_t)t->n_feat);
    switch (t->kind) {
    case TASK_SUMFIRST:
    case TASK_ADDMOD: task_features_at(t, u.param, feat); break;
    case TASK_FILE: taskfile_features(t, u, feat); break;
    case TASK_ARC_DEMO: NP_ASSERT(0, "arc-demo: the intent is the examples, encoded by the method"); break;
    case TASK_ARC:
        feat[u.family] = 1.0f;
        if (u.family == ARC_MOVE) feat[ARC_N_FAMILIES] = u.param / 5.0f;
        if (u.family == ARC_RECOLOR) {
            /* A one-hot (categorical, as the paper treats colour) and a scalar (so an unseen
             * colour still has an input the network saw vary); docs/tasks.md. */
            feat[ARC_N_FAMILIES + 1 + u.param] = 1.0f;
            feat[ARC_N_FAMILIES + 1 + ARC_COLOURS] = u.param / 9.0f;
        }
        break;
    }
}

int task_scalar_intent(const Task *t) { return t->kind == TASK_SUMFIRST || t->kind == TASK_ADDMOD; }

void task_features_at(const Task *t, double x, float *feat) {
    NP_ASSERT(task_scalar_intent(t) && x > 0, "task_features_at: %s at %g", t->name, x);
    memset(feat, 0, sizeof *feat * (size_t)t->n_feat);
    if (t->kind == TASK_SUMFIRST) {
        feat[0] = (float)(x / 10.0);
        return;
    }
    /* ADDMOD: smooth in p and in 1/p (the paper's embedding follows a closed form in 1/p); all
     * in (0, 1] for p in [2, 100]. */
    feat[0] = (float)(x / 100.0);
    feat[1] = (float)(2.0 / x);
    feat[2] = (float)(log(x) / log(100.0));
}

long task_train_size(const Task *t, Intent u) {
    NP_ASSERT(intent_in(t->train, t->n_train, u), "not a train intent (%d, %d) of %s", u.family, u.param, t->name);
    switch (t->kind) {
    case TASK_ADDMOD: return addmod_train_size(u.param);
    case TASK_FILE: return taskfile_train_size(t, u);
    default: return 0;
    }
}

int task_held(const Task *t, int hold, int i) {
    for (int j = 0; j < hold; j++) /* round((j + 1) · n / (hold + 1)) */
        if (i == (int)(((long)(j + 1) * t->n_train * 2 + hold + 1) / (2 * (hold + 1)))) return 1;
    return 0;
}

double *task_intent_cdf(const Task *t, float mix, float family_mix, int hold) {
    int n = t->n_train;
    double *cdf = xmalloc(sizeof *cdf * (size_t)n), total = 0, sum = 0;
    for (int i = 0; i < n; i++) {
        total += cdf[i] = (double)task_train_size(t, t->train[i]);
        if (cdf[i] <= 0) mix = 0; /* an unbounded supply: uniform */
    }
    if (mix == 0 && family_mix == 0 && hold == 0) {
        free(cdf);
        return NULL;
    }
    /* q: the draw over intents (unnormalized), held ones never */
    for (int i = 0; i < n; i++)
        cdf[i] = task_held(t, hold, i) ? 0 : (1 - mix) + (mix != 0 ? mix * n * cdf[i] / total : 0);
    if (family_mix > 0) { /* with probability family_mix a family uniformly, then q within it */
        double *fam = xcalloc((size_t)n, sizeof *fam), qsum = 0, shares = 0; /* fam: q over i's family */
        for (int i = 0; i < n; i++) {
            qsum += cdf[i];
            for (int k = 0; k < n; k++) fam[i] += t->train[k].family == t->train[i].family ? cdf[k] : 0;
        }
        for (int i = 0; i < n; i++) shares += cdf[i] > 0 ? cdf[i] / fam[i] : 0;
        int F = (int)lround(shares); /* each drawn family's shares sum to 1: F counts them */
        for (int i = 0; i < n; i++)
            cdf[i] = cdf[i] > 0 ? (1 - family_mix) * cdf[i] / qsum + family_mix * cdf[i] / (F * fam[i]) : 0;
        free(fam);
    }
    for (int i = 0; i < n; i++) cdf[i] = sum += cdf[i];
    for (int i = 0; i < n; i++) cdf[i] /= sum;
    return cdf;
}

int task_draw_intent(const Task *t, const double *cdf, Rng *r) {
    if (!cdf) return rng_int(r, t->n_train);
    double x = rng_uniform(r);
    int lo = 0, hi = t->n_train - 1; /* the first i with x < cdf[i] */
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (x < cdf[mid]) hi = mid;
        else lo = mid + 1;
    }
    while (lo > 0 && cdf[lo] == cdf[lo - 1]) lo--; /* rounding left cdf[n-1] < 1 and x above it: never a held intent */
    return lo;
}

static void list_params(const Task *t, char *buf, size_t len) {
    size_t o = 0;
    buf[0] = 0;
    for (int i = 0; i < t->n_train && o < len; i++)
        o += (size_t)snprintf(buf + o, len - o, "%s%d", i ? "," : "", t->train[i].param);
    if (o < len) o += (size_t)snprintf(buf + o, len - o, "; OOD ");
    for (int i = 0; i < t->n_ood && o < len; i++)
        o += (size_t)snprintf(buf + o, len - o, "%s%d", i ? "," : "", t->ood[i].param);
}

/* Strict decimal integer: the whole string, no sign games. */
static int parse_int(const char *s, int *v) {
    if (!*s) return -1;
    for (const char *c = s; *c; c++)
        if (!isdigit((unsigned char)*c)) return -1;
    errno = 0;
    long x = strtol(s, NULL, 10);
    if (errno || x > 1000000) return -1;
    *v = (int)x;
    return 0;
}

/* Accepts "NAME=V" or "V" and stores V; -1 when s is neither. */
static int parse_named(const char *s, const char *pname, int *v) {
    size_t n = strlen(pname);
    if (!strncmp(s, pname, n) && s[n] == '=') s += n + 1;
    return parse_int(s, v);
}

static int parse_scalar(const Task *t, const char *s, const char *raw, Intent *u, Err *e) {
    const char *pname = t->kind == TASK_SUMFIRST ? "n" : "p";
    char valid[256];
    list_params(t, valid, sizeof valid);
    int v;
    Intent c = {0, 0};
    if (parse_named(s, pname, &v) == 0) {
        c.param = v;
        if (task_intent_valid(t, c)) {
            *u = c;
            return 0;
        }
    }
    if (t->kind == TASK_SUMFIRST)
        return err_set(e, "invalid sumfirst intent '%s': want n=1..10 (train %s)", raw, valid);
    return err_set(e, "invalid addmod intent '%s': want p=PRIME, a prime below 100 (train %s)", raw, valid);
}

#define ARC_VALID "move:k=1..5, recolor:c=1..9, flip, fill, hollow, mirror, denoise"

static int parse_arc(const char *s, const char *raw, Intent *u, Err *e) {
    const char *colon = strchr(s, ':');
    size_t flen = colon ? (size_t)(colon - s) : strlen(s);
    int f = 0;
    while (f < ARC_N_FAMILIES && !(strlen(arc_names[f]) == flen && !strncmp(s, arc_names[f], flen))) f++;
    if (f == ARC_N_FAMILIES) return err_set(e, "unknown 1D-ARC intent '%s' (valid: " ARC_VALID ")", raw);
    const char *pname = arc_params[f].pname;
    if (!pname) {
        if (colon)
            return err_set(e, "1D-ARC intent '%s': %s takes no parameter (valid: " ARC_VALID ")", raw, arc_names[f]);
        *u = (Intent){f, -1};
        return 0;
    }
    int v, lo = arc_params[f].lo, hi = arc_params[f].hi;
    if (!colon || parse_named(colon + 1, pname, &v) || v < lo || v > hi)
        return err_set(e, "1D-ARC intent '%s': %s needs %s=%d..%d, e.g. %s:%s=%d (valid: " ARC_VALID ")", raw,
                       arc_names[f], pname, lo, hi, arc_names[f], pname, lo);
    *u = (Intent){f, v};
    return 0;
}

int task_intent_parse(const Task *t, const char *text, Intent *u, Err *e) {
    if (t->kind == TASK_FILE) return taskfile_intent_parse(t, text, u, e);
    char s[64];
    size_t o = 0;
    for (const char *c = text; *c; c++) {
        if (isspace((unsigned char)*c)) continue;
        if (o + 1 >= sizeof s) return err_set(e, "intent '%.40s...' is too long", text);
        s[o++] = (char)tolower((unsigned char)*c);
    }
    s[o] = 0;
    if (t->kind == TASK_ARC) return parse_arc(s, text, u, e);
    if (t->kind == TASK_ARC_DEMO) return arcdemo_intent_parse(t, s, text, u, e);
    return parse_scalar(t, s, text, u, e);
}

void task_intent_format(const Task *t, Intent u, char *buf, size_t len) {
    switch (t->kind) {
    case TASK_SUMFIRST: snprintf(buf, len, "n=%d", u.param); break;
    case TASK_ADDMOD: snprintf(buf, len, "p=%d", u.param); break;
    case TASK_FILE: taskfile_intent_format(t, u, buf, len); break;
    case TASK_ARC_DEMO: snprintf(buf, len, "%s", arc_demo_name(u.family)); break;
    case TASK_ARC:
        NP_ASSERT(u.family >= 0 && u.family < ARC_N_FAMILIES, "bad ARC family %d", u.family);
        if (arc_params[u.family].pname)
            snprintf(buf, len, "%s:%s=%d", arc_names[u.family], arc_params[u.family].pname, u.param);
        else snprintf(buf, len, "%s", arc_names[u.family]);
        break;
    }
}

/* ---- examples ---- */

void examples_alloc(const Task *t, int cap, Examples *ex) {
    NP_ASSERT(cap >= 0, "negative example count %d", cap);
    *ex = (Examples){.cap = cap};
    if (t->in_dim > 0) {
        ex->x = xmalloc(sizeof *ex->x * (size_t)cap * (size_t)t->in_dim);
        ex->y = xmalloc(sizeof *ex->y * (size_t)cap * (size_t)t->out_len);
    } else {
        ex->tok = xmalloc(sizeof *ex->tok * (size_t)cap * (size_t)t->seq_len);
        ex->lab = xmalloc(sizeof *ex->lab * (size_t)cap * (size_t)t->out_len);
    }
    if (t->demo_pairs) ex->demo = xmalloc(sizeof *ex->demo * (size_t)cap * (size_t)(t->demo_pairs * t->seq_len));
}

void examples_free(Examples *ex) {
    free(ex->x);
    free(ex->tok);
    free(ex->y);
    free(ex->lab);
    free(ex->demo);
    *ex = (Examples){0};
}

static void check_request(const Task *t, Intent u, Split s) {
    char b[64];
    task_intent_format(t, u, b, sizeof b);
    NP_ASSERT(task_intent_valid(t, u), "intent %s is not an intent of %s", b, t->name);
    NP_ASSERT((s == SPLIT_OOD) == task_is_ood(t, u), "intent %s has no %s split (OOD intents only have SPLIT_OOD)", b,
              split_name(s));
    if (t->kind == TASK_ARC)
        NP_ASSERT(t->seq_len >= ARC_MAX_LEN && t->out_len == t->seq_len, "ARC needs seq_len >= %d = out_len",
                  ARC_MAX_LEN);
}

static void draw_one(const Task *t, Intent u, Split s, Rng *r, Examples *ex, int i) {
    switch (t->kind) {
    case TASK_SUMFIRST: sumfirst_draw(u, s, r, ex->x + (size_t)i * t->in_dim, ex->y + i); break;
    case TASK_ADDMOD: addmod_draw(u, s, r, ex->tok + (size_t)i * t->seq_len, ex->lab + (size_t)i * t->out_len); break;
    case TASK_ARC: arc_draw(t, u, s, r, ex->tok + (size_t)i * t->seq_len, ex->lab + (size_t)i * t->out_len); break;
    case TASK_FILE: taskfile_draw(t, u, s, r, ex, i); break;
    case TASK_ARC_DEMO: arcdemo_draw(t, u, s, r, ex, i, 1); break;
    }
}

void task_sample(const Task *t, Intent u, Split s, Rng *r, int n, Examples *ex) {
    check_request(t, u, s);
    NP_ASSERT(n >= 0 && n <= ex->cap, "asked for %d examples, buffer holds %d", n, ex->cap);
    if (t->kind == TASK_ARC_DEMO) arcdemo_draw(t, u, s, r, ex, 0, n);
    else
        for (int i = 0; i < n; i++) draw_one(t, u, s, r, ex, i);
    ex->n = n;
}

Split task_split_of(const Task *t, Intent u, const Examples *ex, int i) {
    if (task_is_ood(t, u)) return SPLIT_OOD;
    switch (t->kind) {
    case TASK_SUMFIRST: return sumfirst_split_of(ex->x + (size_t)i * t->in_dim);
    case TASK_ADDMOD: {
        const int *tok = ex->tok + (size_t)i * t->seq_len;
        return addmod_split_of(u.param, tok[0], tok[1]);
    }
    case TASK_ARC: return arc_split_of(ex->tok + (size_t)i * t->seq_len, t->seq_len);
    case TASK_FILE: return taskfile_split_of(t, u, ex, i);
    case TASK_ARC_DEMO: return arcdemo_split_of(t, ex, i);
    }
    NP_ASSERT(0, "bad task kind");
    return SPLIT_TRAIN;
}

/* ---- evaluation sets ---- */

static uint64_t input_hash(const Task *t, const Examples *ex, int i) {
    if (t->kind == TASK_ARC_DEMO) { /* a task: its examples and its test input */
        int n = t->demo_pairs * t->seq_len;
        return task_hash_mix(task_hash_ints(1, ex->demo + (size_t)i * n, n),
                             task_hash_ints(2, ex->tok + (size_t)i * t->seq_len, t->seq_len));
    }
    if (t->kind != TASK_SUMFIRST) return task_hash_ints(1, ex->tok + (size_t)i * t->seq_len, t->seq_len);
    int d[16];
    NP_ASSERT(t->in_dim <= 16, "in_dim %d", t->in_dim);
    for (int j = 0; j < t->in_dim; j++) d[j] = (int)ex->x[(size_t)i * t->in_dim + j];
    return task_hash_ints(1, d, t->in_dim);
}

/* Inserts h into the open-addressing set (0 marks empty; h is forced non-zero). 1 if new. */
static int set_insert(uint64_t *set, size_t cap, uint64_t h) {
    h |= 1;
    for (size_t k = h & (cap - 1);; k = (k + 1) & (cap - 1)) {
        if (set[k] == h) return 0;
        if (!set[k]) {
            set[k] = h;
            return 1;
        }
    }
}

static Rng eval_rng(const Task *t, Intent u, Split s, uint64_t seed) {
    Rng base;
    rng_seed(&base, seed);
    uint64_t tag =
        task_hash_mix(task_hash_mix(task_hash_mix((uint64_t)t->kind, (uint64_t)u.family), (uint64_t)(u.param + 1)), s);
    return rng_fork(&base, tag);
}

int task_eval_set(const Task *t, Intent u, Split s, int max_n, uint64_t seed, Examples *ex) {
    check_request(t, u, s);
    NP_ASSERT(max_n >= 0, "max_n %d", max_n);
    if (t->kind == TASK_ADDMOD) return addmod_eval_set(t, u, s, max_n, seed, ex);
    if (t->kind == TASK_FILE) return taskfile_eval_set(t, u, s, max_n, seed, ex);
    examples_alloc(t, max_n, ex);
    Rng r = eval_rng(t, u, s, seed);
    size_t cap = 16;
    while (cap < 2 * (size_t)max_n) cap *= 2;
    uint64_t *seen = xcalloc(cap, sizeof *seen);
    /* Duplicates are redrawn; a bounded number of tries ends the set early only when the split
     * has (almost) no distinct inputs left. */
    long tries = 50L * max_n + 1000;
    int n = 0;
    while (n < max_n && tries-- > 0) {
        draw_one(t, u, s, &r, ex, n);
        if (set_insert(seen, cap, input_hash(t, ex, n))) n++;
    }
    free(seen);
    ex->n = n;
    return n;
}

/* ---- scoring ---- */

int task_pred_width(const Task *t) { return t->in_dim > 0 ? t->out_len : t->out_len * t->n_classes; }

int task_correct(const Task *t, const float *pred, const Examples *ex, int i) {
    NP_ASSERT(i >= 0 && i < ex->n, "example %d of %d", i, ex->n);
    if (t->kind == TASK_SUMFIRST) {
        float p = pred[0];
        return isfinite(p) && floorf(p + 0.5f) == ex->y[i];
    }
    if (t->in_dim > 0) { /* a task file's regression: every output within the tolerance */
        float tol = taskfile_tolerance(t);
        for (int j = 0; j < t->out_len; j++)
            if (!(fabsf(pred[j] - ex->y[(size_t)i * t->out_len + j]) <= tol)) return 0;
        return 1;
    }
    const int *lab = ex->lab + (size_t)i * t->out_len;
    for (int j = 0; j < t->out_len; j++)
        if (lab[j] >= 0 && logits_argmax(pred + (size_t)j * t->n_classes, t->n_classes) != lab[j]) return 0;
    return 1;
}

/* ---- hashing ---- */

uint64_t task_hash_mix(uint64_t h, uint64_t v) {
    uint64_t z = h + 0x9e3779b97f4a7c15ULL + v * 0xd6e8feb86659fd93ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

uint64_t task_hash_ints(uint64_t salt, const int *v, int n) {
    uint64_t h = task_hash_mix(salt, (uint64_t)n);
    for (int i = 0; i < n; i++) h = task_hash_mix(h, (uint64_t)(uint32_t)v[i]);
    return h;
}

Split split_from_hash(uint64_t h) {
    int b = (int)((h >> 16) % 10);
    return b < 8 ? SPLIT_TRAIN : b == 8 ? SPLIT_VAL : SPLIT_TEST;
}
