/* Reader for ARC JSON task files ({"train": [...], "test": [...]}, each pair {"input": [[row]],
 * "output": [[row]]}) restricted to one-row grids, the real 1D-ARC family -> intent map, and the
 * conversion of a real pair into a padded example. Every refusal names the file and the place. */
#include "tasks/task.h"
#include <cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static char *xstrdup(const char *s) {
    size_t n = strlen(s) + 1;
    return memcpy(xmalloc(n), s, n);
}

/* Whole file as a NUL-terminated string, or NULL with the reason in e. */
static char *read_all(const char *path, Err *e) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        err_set(e, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 16, n = 0, got;
    char *buf = xmalloc(cap);
    while ((got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += got;
        if (n + 1 == cap) buf = xrealloc(buf, cap *= 2);
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        err_set(e, "%s: read error", path);
        return NULL;
    }
    buf[n] = 0;
    return buf;
}

/* "1d_move_1p" from ".../1d_move_1p_7.json": the base name without ".json" and a "_<digits>" tail. */
static void family_of(const char *path, char *fam, size_t len) {
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t n = strlen(base);
    if (n > 5 && !strcmp(base + n - 5, ".json")) n -= 5;
    size_t k = n;
    while (k > 0 && base[k - 1] >= '0' && base[k - 1] <= '9') k--;
    if (k < n && k > 1 && base[k - 1] == '_') n = k - 1;
    snprintf(fam, len, "%.*s", (int)n, base);
}

/* One grid [[c, c, ...]]: a newly allocated row of its cells, or NULL with the reason. */
static int *parse_row(const cJSON *grid, const char *path, const char *where, int *len, Err *e) {
    if (!cJSON_IsArray(grid) || cJSON_GetArraySize(grid) != 1 || !cJSON_IsArray(cJSON_GetArrayItem(grid, 0))) {
        err_set(e, "%s: %s: expected a grid of one row, [[c, c, ...]]", path, where);
        return NULL;
    }
    const cJSON *row = cJSON_GetArrayItem(grid, 0);
    int n = cJSON_GetArraySize(row), j = 0, *cells = xmalloc(sizeof *cells * (size_t)(n ? n : 1));
    if (n == 0) {
        free(cells);
        err_set(e, "%s: %s: the row is empty", path, where);
        return NULL;
    }
    for (const cJSON *c = row->child; c; c = c->next, j++) {
        double v = cJSON_IsNumber(c) ? c->valuedouble : -1;
        /* integer and range are checked on the double: casting 3e9 or 1e400 to int is undefined */
        if (!cJSON_IsNumber(c) || !isfinite(v) || v != floor(v)) {
            free(cells);
            err_set(e, "%s: %s[0][%d]: cell is not an integer", path, where, j);
            return NULL;
        }
        if (v < 0 || v > 9) {
            free(cells);
            err_set(e, "%s: %s[0][%d]: colour %.0f is outside 0..9", path, where, j, v);
            return NULL;
        }
        cells[j] = (int)v;
    }
    *len = n;
    return cells;
}

static void pair_free(ArcPair *p) {
    free(p->path);
    free(p->in);
    free(p->out);
}

static ArcPair *push_pair(ArcSet *set) {
    if (set->n == set->cap) {
        set->cap = set->cap ? 2 * set->cap : 256;
        set->pairs = xrealloc(set->pairs, sizeof *set->pairs * (size_t)set->cap);
    }
    ArcPair *p = &set->pairs[set->n++];
    memset(p, 0, sizeof *p);
    return p;
}

static int parse_pair(const cJSON *item, const char *path, const char *list, int index, ArcSet *set, Err *e) {
    char where[64];
    snprintf(where, sizeof where, "%s[%d]", list, index);
    if (!cJSON_IsObject(item))
        return err_set(e, "%s: %s: a pair must be an object {\"input\", \"output\"}", path, where);
    static const char *const keys[2] = {"input", "output"};
    int *rows[2] = {NULL, NULL}, lens[2] = {0, 0};
    for (int k = 0; k < 2; k++) {
        char w[80];
        snprintf(w, sizeof w, "%s.%s", where, keys[k]);
        const cJSON *grid = cJSON_GetObjectItemCaseSensitive(item, keys[k]);
        if (!grid) {
            free(rows[0]);
            return err_set(e, "%s: %s: missing \"%s\"", path, where, keys[k]);
        }
        if (!(rows[k] = parse_row(grid, path, w, &lens[k], e))) {
            free(rows[0]);
            return -1;
        }
    }
    if (lens[0] != lens[1]) {
        free(rows[0]);
        free(rows[1]);
        return err_set(e, "%s: %s: input has %d cells but output has %d", path, where, lens[0], lens[1]);
    }
    ArcPair *p = push_pair(set);
    family_of(path, p->family, sizeof p->family);
    p->path = xstrdup(path);
    p->is_test = !strcmp(list, "test");
    p->index = index;
    p->len = lens[0];
    p->in = rows[0];
    p->out = rows[1];
    return 0;
}

static int parse_task(const cJSON *root, const char *path, ArcSet *set, Err *e) {
    if (!cJSON_IsObject(root))
        return err_set(e, "%s: the top level is not an object {\"train\": ..., \"test\": ...}", path);
    static const char *const lists[2] = {"train", "test"};
    for (int l = 0; l < 2; l++) {
        const cJSON *arr = cJSON_GetObjectItemCaseSensitive(root, lists[l]);
        if (!arr) return err_set(e, "%s: missing \"%s\" list", path, lists[l]);
        if (!cJSON_IsArray(arr)) return err_set(e, "%s: \"%s\" is not a list", path, lists[l]);
        int i = 0;
        for (const cJSON *it = arr->child; it; it = it->next, i++)
            if (parse_pair(it, path, lists[l], i, set, e)) return -1;
    }
    return 0;
}

/* Line of byte offset off in s (1-based), for the JSON error message. */
static int line_of(const char *s, size_t off) {
    int line = 1;
    for (size_t i = 0; i < off && s[i]; i++) line += s[i] == '\n';
    return line;
}

int arc_load_file(const char *path, ArcSet *set, Err *e) {
    char *text = read_all(path, e);
    if (!text) return -1;
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithOpts(text, &end, 1);
    if (!root) {
        int line = end ? line_of(text, (size_t)(end - text)) : 0;
        free(text);
        return err_set(e, "%s: not valid JSON (error near line %d)", path, line);
    }
    int n0 = set->n, rc = parse_task(root, path, set, e);
    if (rc) { /* keep only complete files: drop this file's pairs */
        while (set->n > n0) pair_free(&set->pairs[--set->n]);
    }
    cJSON_Delete(root);
    free(text);
    return rc;
}

static int has_json_ext(const char *name) {
    size_t n = strlen(name);
    return n > 5 && !strcmp(name + n - 5, ".json");
}

static int walk(const char *dir, ArcSet *set, Err *e) {
    struct dirent **ents;
    int n = scandir(dir, &ents, NULL, alphasort), rc = 0;
    if (n < 0) return err_set(e, "%s: cannot open directory: %s", dir, strerror(errno));
    for (int i = 0; i < n; i++) {
        const char *name = ents[i]->d_name;
        if (!rc && name[0] != '.') {
            size_t len = strlen(dir) + strlen(name) + 2;
            char *sub = xmalloc(len);
            snprintf(sub, len, "%s/%s", dir, name);
            struct stat st;
            if (stat(sub, &st) == 0 && S_ISDIR(st.st_mode)) rc = walk(sub, set, e);
            else if (has_json_ext(name)) rc = arc_load_file(sub, set, e);
            free(sub);
        }
        free(ents[i]);
    }
    free(ents);
    return rc;
}

int arc_load_dir(const char *dir, ArcSet *set, Err *e) {
    int n0 = set->n;
    if (walk(dir, set, e)) return -1;
    if (set->n == n0) return err_set(e, "%s: no ARC task files (*.json) found", dir);
    return 0;
}

void arc_set_free(ArcSet *set) {
    for (int i = 0; i < set->n; i++) pair_free(&set->pairs[i]);
    free(set->pairs);
    *set = (ArcSet){0};
}

int arc_family_intent(const char *family, Intent *u) {
    static const struct {
        const char *name;
        Intent u;
    } map[] = {{"1d_move_1p", {ARC_MOVE, 1}},   {"1d_move_2p", {ARC_MOVE, 2}},         {"1d_move_3p", {ARC_MOVE, 3}},
               {"1d_flip", {ARC_FLIP, -1}},     {"1d_fill", {ARC_FILL, -1}},           {"1d_hollow", {ARC_HOLLOW, -1}},
               {"1d_mirror", {ARC_MIRROR, -1}}, {"1d_denoising_1c", {ARC_DENOISE, -1}}};
    for (size_t i = 0; i < sizeof map / sizeof *map; i++)
        if (!strcmp(family, map[i].name)) {
            *u = map[i].u;
            return 1;
        }
    return 0;
}

int arc_pair_example(const Task *t, const ArcPair *p, Examples *ex, int i, Err *e) {
    NP_ASSERT(t->kind == TASK_ARC && ex->tok && ex->lab, "arc_pair_example needs an ARC task's examples");
    NP_ASSERT(i >= 0 && i < ex->cap, "example %d of a buffer of %d", i, ex->cap);
    if (p->len > t->seq_len)
        return err_set(e, "%s: %s[%d]: row of %d cells is longer than the template's %d; refusing to truncate it",
                       p->path, p->is_test ? "test" : "train", p->index, p->len, t->seq_len);
    int *tok = ex->tok + (size_t)i * t->seq_len, *lab = ex->lab + (size_t)i * t->out_len;
    for (int j = 0; j < t->seq_len; j++) {
        tok[j] = j < p->len ? p->in[j] : 0;
        lab[j] = j < p->len ? p->out[j] : -1;
    }
    if (ex->n <= i) ex->n = i + 1;
    return 0;
}
