/* A user's own task as a JSON Lines file: a header line, then one example per line.
 *
 *   {"task": "poly", "template": "mlp 1-32-32-1 act=tanh", "loss": "mse", "tolerance": 0.05,
 *    "intent": {"a": "number", "b": "number"}, "train": [{"a": 1, "b": 0}, ...],
 *    "ood": [{"a": 2, "b": -1}], "seed": 0}
 *   {"intent": {"a": 1, "b": 0}, "input": [0.5], "output": [0.25]}
 *
 * An intent field is "number" or a list of category names. loss "mse" goes with an MLP template
 * (input: widths[0] numbers, output: the last width's numbers, an example solved when every
 * output is within the tolerance); "ce" with a Transformer (input: len token ids, output: one
 * class (readout=last) or one per position (readout=all; -1 = not scored)).
 *
 * Splits, fixed by the header's seed: each train intent's examples are shuffled by a generator
 * seeded from (seed, the intent's position in "train"); the first 10% (at least one) are
 * validation, the next 10% test, the rest train. An OOD intent's examples are all OOD.
 * The whole file is read and checked at load; any problem is one line naming line and field. */
#include "program/template.h"
#include "tasks/internal.h"
#include <cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define TF_MAX_FIELDS 16
#define TF_MAX_CATS 64
#define TF_MAX_INTENTS 64 /* an EvalReport's capacity */
#define TF_MAX_FEAT 64    /* run_synth's feature buffer */
#define TF_NAME 32

typedef struct Field {
    char name[TF_NAME];
    int n_cats; /* 0: a number field */
    char cats[TF_MAX_CATS][TF_NAME];
    double scale; /* numbers: feature = value / scale (max |value| over train intents) */
    int n_vals;   /* distinct values over all intents (numbers sorted), for direct's tokens */
    double vals[TF_MAX_INTENTS];
} Field;

struct TaskFile {
    char name[64], path[PATH_MAX], tpl[TPL_TEXT_MAX];
    int mse, readout_all, in_w, out_w, vocab, classes;
    float tol;
    unsigned long seed;
    int n_fields, n_feat;
    Field fields[TF_MAX_FIELDS];
    int n_intents, n_train;                      /* train intents first, then OOD */
    double value[TF_MAX_INTENTS][TF_MAX_FIELDS]; /* number, or category index */
    Intent intents[TF_MAX_INTENTS];              /* {0, index} */
    int n_ex, cap_ex;
    float *in, *out;             /* every example: [n_ex, in_w], [n_ex, out_w] */
    int *ex_intent;              /* [n_ex] */
    int *ids[TF_MAX_INTENTS][4]; /* example ids per intent and split (SPLIT_TRAIN..SPLIT_OOD) */
    int n_ids[TF_MAX_INTENTS][4];
};

static const TaskFile *tf(const Task *t) {
    NP_ASSERT(t->kind == TASK_FILE && t->file, "not a task file");
    return t->file;
}

/* ---- loading ---- */

typedef struct Ctx {
    const char *path;
    int line;
    Err *e;
} Ctx;

static int fail(const Ctx *c, const char *field, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(const Ctx *c, const char *field, const char *fmt, ...) {
    char m[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m, sizeof m, fmt, ap);
    va_end(ap);
    if (field) return err_set(c->e, "%s:%d: field '%s': %s", c->path, c->line, field, m);
    return err_set(c->e, "%s:%d: %s", c->path, c->line, m);
}

static int number(const cJSON *v, double *out) {
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble)) return -1;
    *out = v->valuedouble;
    return 0;
}

/* One intent object {"field": value, ...} -> values in field order. */
static int parse_intent_obj(const Ctx *c, const TaskFile *f, const cJSON *o, const char *where, double *vals) {
    char fld[80];
    if (!cJSON_IsObject(o))
        return fail(c, where, "want an object with the intent fields, e.g. {\"%s\": ...}", f->fields[0].name);
    int seen[TF_MAX_FIELDS] = {0};
    for (const cJSON *v = o->child; v; v = v->next) {
        int k = 0;
        while (k < f->n_fields && strcmp(f->fields[k].name, v->string)) k++;
        snprintf(fld, sizeof fld, "%s.%s", where, v->string);
        if (k == f->n_fields) return fail(c, fld, "not an intent field of the header");
        if (seen[k]++) return fail(c, fld, "given twice");
        const Field *F = &f->fields[k];
        if (!F->n_cats) {
            if (number(v, &vals[k])) return fail(c, fld, "want a number");
            continue;
        }
        int j = 0;
        while (j < F->n_cats && !(cJSON_IsString(v) && !strcmp(F->cats[j], v->valuestring))) j++;
        if (j == F->n_cats) return fail(c, fld, "want one of the header's categories (\"%s\", ...)", F->cats[0]);
        vals[k] = j;
    }
    for (int k = 0; k < f->n_fields; k++) {
        snprintf(fld, sizeof fld, "%s.%s", where, f->fields[k].name);
        if (!seen[k]) return fail(c, fld, "missing");
    }
    return 0;
}

static int find_intent(const TaskFile *f, const double *vals) {
    for (int i = 0; i < f->n_intents; i++) {
        int same = 1;
        for (int k = 0; k < f->n_fields && same; k++) same = f->value[i][k] == vals[k];
        if (same) return i;
    }
    return -1;
}

static int parse_fields(const Ctx *c, TaskFile *f, const cJSON *o) {
    if (!cJSON_IsObject(o) || !o->child)
        return fail(c, "intent",
                    "want an object of fields, each \"number\" or a list of categories, e.g. {\"a\": \"number\"}");
    for (const cJSON *v = o->child; v; v = v->next) {
        char fld[80];
        snprintf(fld, sizeof fld, "intent.%s", v->string);
        if (f->n_fields == TF_MAX_FIELDS) return fail(c, "intent", "more than %d fields", TF_MAX_FIELDS);
        size_t n = strlen(v->string);
        if (!n || n >= TF_NAME || strpbrk(v->string, "=, \t"))
            return fail(c, fld, "a field name is 1 to %d characters without '=', ',' or blanks", TF_NAME - 1);
        for (int k = 0; k < f->n_fields; k++)
            if (!strcasecmp(f->fields[k].name, v->string)) return fail(c, fld, "given twice");
        Field *F = &f->fields[f->n_fields++];
        snprintf(F->name, sizeof F->name, "%s", v->string);
        if (cJSON_IsString(v) && !strcmp(v->valuestring, "number")) continue;
        if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) < 1 || cJSON_GetArraySize(v) > TF_MAX_CATS)
            return fail(c, fld, "want \"number\" or a list of 1 to %d category names", TF_MAX_CATS);
        for (const cJSON *s = v->child; s; s = s->next) {
            if (!cJSON_IsString(s) || !s->valuestring[0] || strlen(s->valuestring) >= TF_NAME ||
                strpbrk(s->valuestring, "=, \t"))
                return fail(c, fld, "category %d is not a name of 1 to %d characters without '=', ',' or blanks",
                            F->n_cats + 1, TF_NAME - 1);
            for (int j = 0; j < F->n_cats; j++)
                if (!strcasecmp(F->cats[j], s->valuestring))
                    return fail(c, fld, "category '%s' given twice", s->valuestring);
            snprintf(F->cats[F->n_cats++], TF_NAME, "%s", s->valuestring);
        }
    }
    return 0;
}

static int parse_intent_list(const Ctx *c, TaskFile *f, const cJSON *a, const char *key) {
    if (!cJSON_IsArray(a)) return fail(c, key, "want a list of intents");
    int i = 0;
    for (const cJSON *o = a->child; o; o = o->next, i++) {
        char where[32];
        snprintf(where, sizeof where, "%s[%d]", key, i);
        if (f->n_intents == TF_MAX_INTENTS) return fail(c, key, "more than %d intents in all", TF_MAX_INTENTS);
        double *vals = f->value[f->n_intents];
        if (parse_intent_obj(c, f, o, where, vals)) return -1;
        if (find_intent(f, vals) >= 0) return fail(c, where, "the same intent is listed twice");
        f->intents[f->n_intents] = (Intent){0, f->n_intents};
        f->n_intents++;
    }
    return 0;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Features and direct's token values, from the intent lists. */
static int derive_intents(const Ctx *c, TaskFile *f) {
    if (f->n_train < 1) return fail(c, "train", "want at least one train intent");
    f->n_feat = 0;
    for (int k = 0; k < f->n_fields; k++) {
        Field *F = &f->fields[k];
        if (F->n_cats) {
            F->n_vals = F->n_cats;
            f->n_feat += F->n_cats;
            continue;
        }
        F->scale = 0;
        for (int i = 0; i < f->n_train; i++) F->scale = fmax(F->scale, fabs(f->value[i][k])); /* train intents only */
        if (F->scale == 0) F->scale = 1;
        F->n_vals = 0;
        for (int i = 0; i < f->n_intents; i++) {
            int j = 0;
            while (j < F->n_vals && F->vals[j] != f->value[i][k]) j++;
            if (j == F->n_vals) F->vals[F->n_vals++] = f->value[i][k];
        }
        qsort(F->vals, F->n_vals, sizeof *F->vals, cmp_double);
        f->n_feat++;
    }
    if (f->n_feat > TF_MAX_FEAT)
        return fail(c, "intent", "the fields make %d features (categories count one each), at most %d", f->n_feat,
                    TF_MAX_FEAT);
    return 0;
}

static int parse_header(const Ctx *c, TaskFile *f, const cJSON *h) {
    if (!cJSON_IsObject(h)) return fail(c, NULL, "the header is not a JSON object");
    static const char *const keys[] = {"task", "template", "loss", "tolerance", "intent", "train", "ood", "seed"};
    const cJSON *v[8] = {0};
    for (const cJSON *x = h->child; x; x = x->next) {
        int k = 0;
        while (k < 8 && strcmp(keys[k], x->string)) k++;
        if (k == 8)
            return fail(c, x->string,
                        "unknown header field (known: task template loss tolerance intent train ood seed)");
        if (v[k]) return fail(c, x->string, "given twice");
        v[k] = x;
    }
    if (v[0]) {
        if (!cJSON_IsString(v[0]) || !v[0]->valuestring[0] || strlen(v[0]->valuestring) >= 48)
            return fail(c, "task", "want a name of 1 to 47 characters");
        for (const char *s = v[0]->valuestring; *s; s++)
            if (!isalnum((unsigned char)*s) && !strchr("_-.", *s))
                return fail(c, "task", "a name uses letters, digits, '_', '-' and '.' only");
        snprintf(f->name, sizeof f->name, "%s", v[0]->valuestring);
    }
    if (!v[1] || !cJSON_IsString(v[1])) return fail(c, "template", "want the target template, e.g. \"mlp 1-32-1\"");
    Template tp;
    Err te;
    if (template_parse(v[1]->valuestring, &tp, &te)) return fail(c, "template", "%s", te.msg);
    template_format(&tp, f->tpl, sizeof f->tpl);
    if (!v[2] || !cJSON_IsString(v[2]) || (strcmp(v[2]->valuestring, "mse") && strcmp(v[2]->valuestring, "ce")))
        return fail(c, "loss", "want \"mse\" (an MLP template) or \"ce\" (a Transformer template)");
    f->mse = !strcmp(v[2]->valuestring, "mse");
    if (f->mse != (tp.kind == TPL_MLP))
        return fail(c, "loss", "\"%s\" needs %s template", v[2]->valuestring, f->mse ? "an MLP" : "a Transformer");
    f->tol = 0.5f;
    if (v[3]) {
        double x;
        if (!f->mse) return fail(c, "tolerance", "only for loss \"mse\" (\"ce\" scores the argmax)");
        if (number(v[3], &x) || !(x > 0)) return fail(c, "tolerance", "want a number > 0");
        f->tol = (float)x;
    }
    if (tp.kind == TPL_MLP) {
        f->in_w = tp.widths[0];
        f->out_w = tp.widths[tp.n_layers];
    } else {
        f->in_w = tp.len;
        f->out_w = tp.readout_last ? 1 : tp.len;
        f->vocab = tp.vocab;
        f->classes = tp.classes;
        f->readout_all = !tp.readout_last;
    }
    if (!v[4]) return fail(c, "intent", "missing (want the intent fields, e.g. {\"a\": \"number\"})");
    if (parse_fields(c, f, v[4])) return -1;
    if (!v[5]) return fail(c, "train", "missing (want the list of train intents)");
    if (parse_intent_list(c, f, v[5], "train")) return -1;
    f->n_train = f->n_intents;
    if (v[6] && parse_intent_list(c, f, v[6], "ood")) return -1;
    if (v[7]) {
        double x;
        if (number(v[7], &x) || x < 0 || x > 2147483647.0 || x != floor(x))
            return fail(c, "seed", "want an integer in [0, 2147483647]");
        f->seed = (unsigned long)x;
    }
    return derive_intents(c, f);
}

/* n numbers of one example field into dst; tokens and labels must be whole numbers in [lo, hi). */
static int parse_values(const Ctx *c, const cJSON *a, const char *key, int n, int ints, int lo, int hi, float *dst) {
    const char *what = ints ? (n == 1 ? "integer" : "integers") : (n == 1 ? "number" : "numbers");
    if (!cJSON_IsArray(a)) return fail(c, key, "want a list of %d %s", n, what);
    int m = cJSON_GetArraySize(a), i = 0;
    if (m != n) return fail(c, key, "want %d %s, got %d", n, what, m);
    for (const cJSON *v = a->child; v; v = v->next, i++) {
        double x;
        if (number(v, &x)) return fail(c, key, "value %d is not a number", i + 1);
        if (ints && (x != floor(x) || x < lo || x >= hi))
            return fail(c, key, "value %d (%g) is not an integer in [%d, %d)", i + 1, x, lo, hi);
        if (!ints && fabs(x) > 3e38) return fail(c, key, "value %d (%g) does not fit a float", i + 1, x);
        dst[i] = (float)x;
    }
    return 0;
}

static int parse_example(const Ctx *c, TaskFile *f, const cJSON *o) {
    if (!cJSON_IsObject(o))
        return fail(c, NULL, "an example is a JSON object {\"intent\": ..., \"input\": [...], \"output\": [...]}");
    static const char *const keys[] = {"intent", "input", "output"};
    const cJSON *v[3] = {0};
    for (const cJSON *x = o->child; x; x = x->next) {
        int k = 0;
        while (k < 3 && strcmp(keys[k], x->string)) k++;
        if (k == 3) return fail(c, x->string, "unknown example field (known: intent input output)");
        if (v[k]) return fail(c, x->string, "given twice");
        v[k] = x;
    }
    for (int k = 0; k < 3; k++)
        if (!v[k]) return fail(c, keys[k], "missing");
    double vals[TF_MAX_FIELDS];
    if (parse_intent_obj(c, f, v[0], "intent", vals)) return -1;
    int u = find_intent(f, vals);
    if (u < 0) return fail(c, "intent", "not one of the header's train or ood intents");
    if (f->n_ex == f->cap_ex) {
        f->cap_ex = f->cap_ex ? 2 * f->cap_ex : 256;
        f->in = xrealloc(f->in, (size_t)f->cap_ex * f->in_w * sizeof *f->in);
        f->out = xrealloc(f->out, (size_t)f->cap_ex * f->out_w * sizeof *f->out);
        f->ex_intent = xrealloc(f->ex_intent, (size_t)f->cap_ex * sizeof *f->ex_intent);
    }
    float *in = f->in + (size_t)f->n_ex * f->in_w, *out = f->out + (size_t)f->n_ex * f->out_w;
    if (parse_values(c, v[1], "input", f->in_w, !f->mse, 0, f->vocab, in)) return -1;
    if (parse_values(c, v[2], "output", f->out_w, !f->mse, f->readout_all ? -1 : 0, f->classes, out)) return -1;
    f->ex_intent[f->n_ex++] = u;
    return 0;
}

static void fmt_intent(const TaskFile *f, int i, char *buf, size_t len) {
    size_t o = 0;
    buf[0] = 0;
    for (int k = 0; k < f->n_fields && o < len; k++) {
        const Field *F = &f->fields[k];
        if (F->n_cats)
            o += (size_t)snprintf(buf + o, len - o, "%s%s=%s", k ? "," : "", F->name, F->cats[(int)f->value[i][k]]);
        else o += (size_t)snprintf(buf + o, len - o, "%s%s=%.9g", k ? "," : "", F->name, f->value[i][k]);
    }
}

/* Per intent and split, the example ids (see the top of the file). */
static int make_splits(const Ctx *c, TaskFile *f) {
    int *count = xcalloc(f->n_intents, sizeof *count);
    for (int i = 0; i < f->n_ex; i++) count[f->ex_intent[i]]++;
    int rc = 0;
    for (int u = 0; u < f->n_intents && !rc; u++) {
        char nm[128];
        fmt_intent(f, u, nm, sizeof nm);
        int train = u < f->n_train, n = count[u];
        if (n < (train ? 3 : 1)) {
            rc = err_set(c->e, "%s: %s intent %s has %d examples; it needs at least %s", c->path,
                         train ? "train" : "ood", nm, n, train ? "3 (train, validation and test)" : "1");
            break;
        }
        int *ids = xmalloc((size_t)n * sizeof *ids), m = 0;
        for (int i = 0; i < f->n_ex; i++)
            if (f->ex_intent[i] == u) ids[m++] = i;
        if (!train) {
            f->ids[u][SPLIT_OOD] = ids;
            f->n_ids[u][SPLIT_OOD] = n;
            continue;
        }
        Rng r;
        rng_seed(&r, task_hash_mix(0x5441534b46494c45ULL /* "TASKFILE" */ + f->seed, (uint64_t)u));
        rng_shuffle_int(&r, ids, n);
        int h = (n + 5) / 10 > 1 ? (n + 5) / 10 : 1;
        int lens[3] = {n - 2 * h, h, h}, starts[3] = {2 * h, 0, h};
        for (int s = 0; s < 3; s++) {
            f->ids[u][s] = xmalloc((size_t)lens[s] * sizeof(int));
            memcpy(f->ids[u][s], ids + starts[s], (size_t)lens[s] * sizeof(int));
            f->n_ids[u][s] = lens[s];
        }
        free(ids);
    }
    free(count);
    return rc;
}

void taskfile_free(TaskFile *f) {
    if (!f) return;
    for (int u = 0; u < TF_MAX_INTENTS; u++)
        for (int s = 0; s < 4; s++) free(f->ids[u][s]);
    free(f->in);
    free(f->out);
    free(f->ex_intent);
    free(f);
}

static int load_lines(const Ctx *c0, TaskFile *f, FILE *fp) {
    Ctx c = *c0;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int rc = 0, have_header = 0;
    while (!rc && (len = getline(&line, &cap, fp)) != -1) {
        c.line++;
        const char *s = line + strspn(line, " \t\r\n");
        if (!*s) continue; /* blank lines are allowed anywhere */
        if ((size_t)len != strlen(line)) {
            rc = fail(&c, NULL, "the line contains a NUL byte");
            break;
        }
        const char *end = NULL;
        cJSON *o = cJSON_ParseWithOpts(s, &end, 0);
        if (!o) {
            rc = fail(&c, NULL, "not valid JSON (error near column %d)", (int)((end ? end : s) - line) + 1);
            break;
        }
        if (end[strspn(end, " \t\r\n")])
            rc = fail(&c, NULL, "text after the JSON object (column %d); one object per line", (int)(end - line) + 1);
        else if (!have_header++) rc = parse_header(&c, f, o);
        else rc = parse_example(&c, f, o);
        cJSON_Delete(o);
    }
    free(line);
    if (!rc && ferror(fp)) rc = err_set(c.e, "%s: reading failed: %s", c.path, strerror(errno));
    if (!rc && !have_header) rc = err_set(c.e, "%s: empty (want a header line, then one example per line)", c.path);
    if (!rc && f->n_ex == 0) rc = err_set(c.e, "%s: no examples after the header", c.path);
    c.line = 1; /* what follows concerns the whole file */
    if (!rc) rc = make_splits(&c, f);
    return rc;
}

int taskfile_load(const char *path, Task *t, Err *e) {
    TaskFile *f = xcalloc(1, sizeof *f);
    char abs[PATH_MAX];
    if (!realpath(path, abs)) {
        free(f);
        return err_set(e, "task file %s: %s", path, strerror(errno));
    }
    if (strpbrk(abs, " \t\n")) {
        free(f);
        return err_set(e, "task file %s: the path must not contain blanks (a run's config stores it)", abs);
    }
    FILE *fp = fopen(abs, "r");
    if (!fp) {
        free(f);
        return err_set(e, "task file %s: %s", path, strerror(errno));
    }
    snprintf(f->path, sizeof f->path, "%s", abs);
    /* default name: the file's base name without .jsonl */
    const char *base = strrchr(abs, '/') ? strrchr(abs, '/') + 1 : abs;
    snprintf(f->name, sizeof f->name, "%.*s",
             (int)(strlen(base) > 6 && !strcmp(base + strlen(base) - 6, ".jsonl") ? strlen(base) - 6 : strlen(base)),
             base);
    Ctx c = {path, 0, e};
    int rc = load_lines(&c, f, fp);
    fclose(fp);
    if (rc) {
        taskfile_free(f);
        return -1;
    }
    *t = (Task){.kind = TASK_FILE,
                .name = f->name,
                .id = f->path,
                .n_feat = f->n_feat,
                .file = f,
                .n_train = f->n_train,
                .n_ood = f->n_intents - f->n_train,
                .train = f->intents,
                .ood = f->intents + f->n_train,
                .out_len = f->out_w};
    if (f->mse) t->in_dim = f->in_w;
    else {
        t->seq_len = f->in_w;
        t->vocab = f->vocab;
        t->n_classes = f->classes;
    }
    return 0;
}

/* ---- the task interface ---- */

const char *task_template(const Task *t) { return t->kind == TASK_FILE ? tf(t)->tpl : NULL; }
float taskfile_tolerance(const Task *t) { return tf(t)->tol; }

void taskfile_features(const Task *t, Intent u, float *feat) {
    const TaskFile *f = tf(t);
    int o = 0;
    for (int k = 0; k < f->n_fields; k++) {
        const Field *F = &f->fields[k];
        double v = f->value[u.param][k];
        if (F->n_cats) {
            feat[o + (int)v] = 1.0f;
            o += F->n_cats;
        } else feat[o++] = (float)(v / F->scale);
    }
}

int taskfile_intent_tokens(const Task *t, Intent u, int *itok, int max, int *extra_vocab) {
    const TaskFile *f = tf(t);
    if (f->n_fields > max) return -1;
    int base = 0;
    for (int k = 0; k < f->n_fields; k++) {
        const Field *F = &f->fields[k];
        double v = f->value[u.param][k];
        int j = 0;
        if (F->n_cats) j = (int)v;
        else
            while (j < F->n_vals - 1 && F->vals[j] != v) j++;
        itok[k] = t->vocab + base + j;
        base += F->n_vals;
    }
    *extra_vocab = base;
    return f->n_fields;
}

void taskfile_intent_format(const Task *t, Intent u, char *buf, size_t len) {
    const TaskFile *f = tf(t);
    NP_ASSERT(u.param >= 0 && u.param < f->n_intents, "bad intent %d of %s", u.param, f->name);
    fmt_intent(f, u.param, buf, len);
}

/* "a=1,b=-0.5" (fields in any order, names and categories case-insensitive, blanks ignored). */
int taskfile_intent_parse(const Task *t, const char *text, Intent *u, Err *e) {
    const TaskFile *f = tf(t);
    char s[256], valid[400];
    size_t o = 0;
    for (const char *c = text; *c && o + 1 < sizeof s; c++)
        if (!isspace((unsigned char)*c)) s[o++] = *c;
    s[o] = 0;
    size_t n = 0;
    for (int i = 0; i < f->n_intents && n < sizeof valid; i++) {
        char nm[128];
        fmt_intent(f, i, nm, sizeof nm);
        n += (size_t)snprintf(valid + n, sizeof valid - n, "%s%s",
                              i == 0            ? "train "
                              : i == f->n_train ? "; OOD "
                                                : " ",
                              nm);
    }
    double vals[TF_MAX_FIELDS];
    int seen[TF_MAX_FIELDS] = {0}, ok = 1;
    char *save = NULL;
    for (char *p = strtok_r(s, ",", &save); p && ok; p = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(p, '=');
        ok = eq != NULL;
        if (!ok) break;
        *eq = 0;
        int k = 0;
        while (k < f->n_fields && strcasecmp(f->fields[k].name, p)) k++;
        if (k == f->n_fields || seen[k]++) {
            ok = 0;
            break;
        }
        const Field *F = &f->fields[k];
        if (F->n_cats) {
            int j = 0;
            while (j < F->n_cats && strcasecmp(F->cats[j], eq + 1)) j++;
            ok = j < F->n_cats;
            vals[k] = j;
        } else {
            char *end;
            errno = 0;
            vals[k] = strtod(eq + 1, &end);
            ok = eq[1] && !*end && !errno && isfinite(vals[k]);
        }
    }
    for (int k = 0; k < f->n_fields && ok; k++) ok = seen[k];
    int i = ok ? find_intent(f, vals) : -1;
    if (i < 0) return err_set(e, "invalid %s intent '%s': want one of %s", f->name, text, valid);
    *u = f->intents[i];
    return 0;
}

static void copy_example(const Task *t, const TaskFile *f, int id, Examples *ex, int i) {
    const float *in = f->in + (size_t)id * f->in_w, *out = f->out + (size_t)id * f->out_w;
    if (f->mse) {
        memcpy(ex->x + (size_t)i * t->in_dim, in, (size_t)f->in_w * sizeof *in);
        memcpy(ex->y + (size_t)i * t->out_len, out, (size_t)f->out_w * sizeof *out);
        return;
    }
    for (int j = 0; j < f->in_w; j++) ex->tok[(size_t)i * t->seq_len + j] = (int)in[j];
    for (int j = 0; j < f->out_w; j++) ex->lab[(size_t)i * t->out_len + j] = (int)out[j];
}

long taskfile_train_size(const Task *t, Intent u) { return tf(t)->n_ids[u.param][SPLIT_TRAIN]; }

void taskfile_draw(const Task *t, Intent u, Split s, Rng *r, Examples *ex, int i) {
    const TaskFile *f = tf(t);
    int n = f->n_ids[u.param][s];
    NP_ASSERT(n > 0, "intent %d of %s has no %s examples", u.param, f->name, split_name(s));
    copy_example(t, f, f->ids[u.param][s][rng_int(r, n)], ex, i);
}

int taskfile_eval_set(const Task *t, Intent u, Split s, int max_n, uint64_t seed, Examples *ex) {
    const TaskFile *f = tf(t);
    int n = f->n_ids[u.param][s], m = n < max_n ? n : max_n;
    int *ids = xmalloc((size_t)(n ? n : 1) * sizeof *ids);
    memcpy(ids, f->ids[u.param][s], (size_t)n * sizeof *ids);
    if (m < n) { /* a seeded subset; the whole split when max_n allows */
        Rng r;
        rng_seed(&r, task_hash_mix(seed, task_hash_mix((uint64_t)u.param, (uint64_t)s)));
        rng_shuffle_int(&r, ids, n);
    }
    examples_alloc(t, m, ex);
    for (int i = 0; i < m; i++) copy_example(t, f, ids[i], ex, i);
    ex->n = m;
    free(ids);
    return m;
}

Split taskfile_split_of(const Task *t, Intent u, const Examples *ex, int i) {
    const TaskFile *f = tf(t);
    for (int s = SPLIT_TRAIN; s <= SPLIT_TEST; s++)
        for (int k = 0; k < f->n_ids[u.param][s]; k++) {
            const float *in = f->in + (size_t)f->ids[u.param][s][k] * f->in_w;
            int same = 1;
            for (int j = 0; j < f->in_w && same; j++)
                same = f->mse ? in[j] == ex->x[(size_t)i * t->in_dim + j]
                              : (int)in[j] == ex->tok[(size_t)i * t->seq_len + j];
            if (same) return (Split)s;
        }
    NP_ASSERT(0, "example %d is not one of %s's examples", i, f->name);
    return SPLIT_TRAIN;
}
