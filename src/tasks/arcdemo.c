/* 1D-ARC demonstration tasks: the family names, a generated task (four rows of one length that
 * share the per-task values), and a real file's pairs as a task. The rows come from arc1d.c,
 * the reference rules from arc_rules.c. */
#include "tasks/arcdemo.h"
#include "tasks/internal.h"
#include <stdlib.h>
#include <string.h>

#define TASK_TRIES 10000 /* whole-task redraws; a task is accepted within a few */
#define ROW_TRIES 10000  /* row redraws to match the task's length; about 1 in 24 does */

static const char *const names[ARCD_N_FAMILIES] = {
    "1d_denoising_1c", "1d_denoising_mc", "1d_fill",        "1d_flip",        "1d_hollow",     "1d_mirror",
    "1d_move_1p",      "1d_move_2p",      "1d_move_2p_dp",  "1d_move_3p",     "1d_move_dp",    "1d_padded_fill",
    "1d_pcopy_1c",     "1d_pcopy_mc",     "1d_recolor_cmp", "1d_recolor_cnt", "1d_recolor_oe", "1d_scale_dp"};

const char *arc_demo_name(int family) {
    NP_ASSERT(family >= 0 && family < ARCD_N_FAMILIES, "bad 1D-ARC family %d", family);
    return names[family];
}

int arc_demo_family(const char *name) {
    for (int f = 0; f < ARCD_N_FAMILIES; f++)
        if (!strcmp(name, names[f])) return f;
    return -1;
}

/* Row i is new: its input differs from every earlier input and from its own output. */
static int fresh(const ArcDemo *d, int i) {
    size_t n = sizeof **d->in * (size_t)d->len;
    if (!memcmp(d->in[i], d->out[i], n)) return 0;
    for (int k = 0; k < i; k++)
        if (!memcmp(d->in[k], d->in[i], n)) return 0;
    return 1;
}

/* The examples show each key that a recolour depends on: every size of 1d_recolor_cnt (1..3),
 * both parities of 1d_recolor_oe. The other families need nothing more. */
static int shows_values(const ArcDemo *d) {
    if (d->family != ARCD_RECOLOR_CNT && d->family != ARCD_RECOLOR_OE) return 1;
    int seen[ARC_DEMO_MAX_LEN + 1] = {0}, need = d->family == ARCD_RECOLOR_CNT ? 3 : 2, got = 0;
    for (int e = 0; e < ARC_DEMO_EXAMPLES; e++)
        for (int j = 0; j < d->len;) {
            int k = j;
            while (k < d->len && d->in[e][k] == d->in[e][j]) k++;
            int key = d->family == ARCD_RECOLOR_CNT ? k - j : (k - j) % 2;
            if (d->in[e][j] && !seen[key]++) got++;
            j = k;
        }
    return got == need;
}

void arc_demo_generate(int family, Rng *r, ArcDemo *d) {
    NP_ASSERT(family >= 0 && family < ARCD_N_FAMILIES, "bad 1D-ARC family %d", family);
    for (int t = 0; t < TASK_TRIES; t++) {
        /* per task: a marker colour; the recolour colours, all distinct; the longest bar of each
         * 1d_recolor_cmp row: the examples' a permutation of {4, 5, 7}, the test's 4..7, as in the
         * real files (so a test may ask for a length that no example recoloured) */
        int perm[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9}, longest[ARC_DEMO_PAIRS] = {4, 5, 7, 0};
        rng_shuffle_int(r, perm, 9);
        rng_shuffle_int(r, longest, ARC_DEMO_EXAMPLES);
        longest[ARC_DEMO_EXAMPLES] = rng_range(r, 4, 7);
        ArcTaskVals v = {.marker = rng_range(r, 1, 9), .cin = perm[0], .col = {perm[1], perm[2], perm[3]}};
        d->family = family;
        d->len = 0;
        int ok = 1;
        for (int i = 0; i < ARC_DEMO_PAIRS && ok; i++) {
            v.maxlen = longest[i];
            ok = 0;
            for (int k = 0; k < ROW_TRIES && !ok; k++) {
                int len = arc_generate_demo_row(family, &v, r, d->in[i], d->out[i]);
                if (i > 0 && len != d->len) continue;
                d->len = len;
                ok = fresh(d, i);
            }
        }
        if (ok && shows_values(d)) return;
    }
    NP_ASSERT(0, "no %s task in %d draws", names[family], TASK_TRIES);
}

int arc_demo_from_pairs(const ArcPair *p, int n, ArcDemo *d, Err *e) {
    if (n < 1) return err_set(e, "a 1D-ARC task needs pairs");
    if (n != ARC_DEMO_PAIRS)
        return err_set(e, "%s: %d pairs; a 1D-ARC task has %d examples and 1 test pair", p[0].path, n,
                       ARC_DEMO_EXAMPLES);
    memset(d, 0, sizeof *d);
    d->family = arc_demo_family(p[0].family);
    d->len = p[0].len;
    for (int i = 0; i < n; i++) {
        int is_test = i == ARC_DEMO_EXAMPLES, index = is_test ? 0 : i;
        if (strcmp(p[i].path, p[0].path) || p[i].is_test != is_test || p[i].index != index)
            return err_set(e, "%s: pairs out of order: want train[0..2] then test[0]", p[0].path);
        if (p[i].len != d->len)
            return err_set(e, "%s: %s[%d] has %d cells, train[0] %d; a task's rows share one length", p[i].path,
                           is_test ? "test" : "train", index, p[i].len, d->len);
        if (p[i].len > ARC_DEMO_MAX_LEN)
            return err_set(e, "%s: rows of %d cells; at most %d", p[i].path, p[i].len, ARC_DEMO_MAX_LEN);
        memcpy(d->in[i], p[i].in, sizeof *p[i].in * (size_t)p[i].len);
        memcpy(d->out[i], p[i].out, sizeof *p[i].out * (size_t)p[i].len);
    }
    return 0;
}

void arc_demo_colours(const ArcDemo *d, int map[ARC_COLOURS]) {
    int next = 1;
    memset(map, 0, sizeof *map * ARC_COLOURS);
    for (int r = 0; r < 2 * ARC_DEMO_EXAMPLES + 1; r++) { /* in0 out0 in1 out1 in2 out2, test in */
        const int *row = r == 2 * ARC_DEMO_EXAMPLES ? d->in[ARC_DEMO_EXAMPLES] : r % 2 ? d->out[r / 2] : d->in[r / 2];
        for (int j = 0; j < d->len; j++)
            if (row[j] > 0 && !map[row[j]]) map[row[j]] = next++;
    }
    for (int c = 1; c < ARC_COLOURS; c++)
        if (!map[c]) map[c] = next++;
}

int arc_demo_next(const ArcSet *set, int *i, int max_len, ArcDemo *d, Err *e) {
    int first = *i;
    while (*i < set->n && !strcmp(set->pairs[*i].path, set->pairs[first].path)) (*i)++;
    if (arc_demo_from_pairs(set->pairs + first, *i - first, d, e)) return -1;
    if (d->len > max_len)
        return err_set(e, "%s: rows of %d cells, the template has %d", set->pairs[first].path, d->len, max_len);
    return 0;
}

/* ---- arc-demo, the task (task.c dispatches here) ------------------------------------------- */

#define DEMO_SALT 0x4144u    /* "AD" */
#define RELABEL_SALT 0x4152u /* "AR": a row relabelled (the exclusion's second half) */

/* The colours as the network sees them: renamed by arc_demo_colours, or as they are. */
static void seen_colours(int relabel, const ArcDemo *d, int map[ARC_COLOURS]) {
    if (relabel) arc_demo_colours(d, map);
    else
        for (int c = 0; c < ARC_COLOURS; c++) map[c] = c;
}

/* A row as the network sees it: its cells without the trailing background. */
static uint64_t row_hash(uint64_t salt, const int *row, int n) {
    while (n > 0 && row[n - 1] == 0) n--;
    return task_hash_ints(salt, row, n);
}

/* The split of a task: a hash of its examples as demonstration tokens (t->seq_len per pair). */
static Split demo_split(const Task *t, const int *demo) {
    uint64_t h = DEMO_SALT;
    for (int e = 0; e < t->demo_pairs; e++)
        h = task_hash_mix(h, row_hash(DEMO_SALT, demo + e * t->seq_len, t->seq_len));
    return split_from_hash(h);
}

Split arcdemo_split_of(const Task *t, const Examples *ex, int i) {
    return demo_split(t, ex->demo + (size_t)i * t->demo_pairs * t->seq_len);
}

void arc_demo_example(const Task *t, const ArcDemo *d, int pair, Examples *ex, int i) {
    NP_ASSERT(t->demo_pairs == ARC_DEMO_EXAMPLES && ex->demo, "arc_demo_example needs an arc-demo task's examples");
    NP_ASSERT(i >= 0 && i < ex->cap && pair >= 0 && pair < ARC_DEMO_PAIRS, "row %d of %d, pair %d", i, ex->cap, pair);
    NP_ASSERT(d->len >= 1 && d->len <= t->seq_len, "a task of %d cells in rows of %d", d->len, t->seq_len);
    int T = t->seq_len, *tok = ex->tok + (size_t)i * T, *lab = ex->lab + (size_t)i * t->out_len;
    int *demo = ex->demo + (size_t)i * t->demo_pairs * T, m[ARC_COLOURS];
    seen_colours(t->relabel, d, m);
    for (int j = 0; j < T; j++) {
        tok[j] = j < d->len ? m[d->in[pair][j]] : 0;
        lab[j] = j < d->len ? m[d->out[pair][j]] : -1;
        for (int e = 0; e < ARC_DEMO_EXAMPLES; e++)
            demo[e * T + j] = j < d->len ? m[d->in[e][j]] * ARC_COLOURS + m[d->out[e][j]] : 0;
    }
    if (i >= ex->n) ex->n = i + 1;
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Input row i of d as a network with that relabel setting sees it (m: seen_colours), hashed. */
static uint64_t seen_hash(int relabel, const int m[ARC_COLOURS], const ArcDemo *d, int i) {
    int row[ARC_DEMO_MAX_LEN];
    for (int j = 0; j < d->len; j++) row[j] = m[d->in[i][j]];
    return row_hash(relabel ? RELABEL_SALT : DEMO_SALT, row, d->len);
}

static int holds_excluded(const Task *t, const ArcDemo *d) {
    int m[ARC_COLOURS];
    seen_colours(t->relabel, d, m);
    for (int i = 0; i < ARC_DEMO_PAIRS; i++) {
        uint64_t h = seen_hash(t->relabel, m, d, i);
        if (bsearch(&h, t->excluded, (size_t)t->n_excluded, sizeof h, cmp_u64)) return 1;
    }
    return 0;
}

/* A new task of family u in split s: a training task never holds a real input row. */
static void draw_task(const Task *t, Intent u, Split s, Rng *r, ArcDemo *d, Examples *ex, int i) {
    NP_ASSERT(s != SPLIT_TRAIN || t->excluded, "arc-demo: a training task drawn without the real files' exclusion "
                                               "(the task came from task_get_to_score)");
    for (;;) {
        arc_demo_generate(u.family, r, d);
        if (s == SPLIT_OOD) return;
        arc_demo_example(t, d, ARC_DEMO_EXAMPLES, ex, i);
        if (arcdemo_split_of(t, ex, i) == s && !(s == SPLIT_TRAIN && holds_excluded(t, d))) return;
    }
}

void arcdemo_draw(const Task *t, Intent u, Split s, Rng *r, Examples *ex, int i0, int n) {
    ArcDemo d;
    draw_task(t, u, s, r, &d, ex, i0);
    for (int k = 0; k < n; k++) arc_demo_example(t, &d, n == 1 ? ARC_DEMO_EXAMPLES : k % ARC_DEMO_PAIRS, ex, i0 + k);
}

int arcdemo_load_excluded(Task *t, Err *e) {
    char dir[1024];
    ArcSet set = {0};
    if (data_dir("1d-arc", dir, sizeof dir, e) || arc_load_dir(dir, &set, e)) {
        arc_set_free(&set);
        return err_set(e, "arc-demo keeps the real 1D-ARC files out of training and needs them: %s", e->msg);
    }
    /* every input row as is and relabelled, so that the task serves either setting (t->relabel
     * is the run's, set after the task is made) */
    t->excluded = xmalloc(sizeof *t->excluded * (size_t)(2 * set.n + 1));
    ArcDemo *d = xmalloc(sizeof *d);
    int m = 0;
    for (int i = 0; i < set.n;) {
        if (arc_demo_next(&set, &i, ARC_DEMO_MAX_LEN, d, e)) {
            free(d);
            free(t->excluded);
            t->excluded = NULL;
            arc_set_free(&set);
            return err_set(e, "arc-demo keeps the real 1D-ARC files out of training: %s", e->msg);
        }
        int as_is[ARC_COLOURS], relabelled[ARC_COLOURS];
        seen_colours(0, d, as_is);
        seen_colours(1, d, relabelled);
        for (int k = 0; k < ARC_DEMO_PAIRS; k++) {
            t->excluded[m++] = seen_hash(0, as_is, d, k);
            t->excluded[m++] = seen_hash(1, relabelled, d, k);
        }
    }
    free(d);
    qsort(t->excluded, (size_t)m, sizeof *t->excluded, cmp_u64);
    int n = 0;
    for (int i = 0; i < m; i++)
        if (!n || t->excluded[i] != t->excluded[n - 1]) t->excluded[n++] = t->excluded[i];
    t->n_excluded = n;
    arc_set_free(&set);
    return 0;
}

int arcdemo_intent_parse(const Task *t, const char *s, const char *raw, Intent *u, Err *e) {
    (void)t;
    char name[80];
    snprintf(name, sizeof name, "%s%s", strncmp(s, "1d_", 3) ? "1d_" : "", s);
    int f = arc_demo_family(name);
    if (f < 0)
        return err_set(e,
                       "unknown arc-demo intent '%s' (valid: a 1D-ARC family, e.g. 1d_move_dp or move_dp; "
                       "the 18 are the folders of data/1d-arc)",
                       raw);
    *u = (Intent){f, -1};
    return 0;
}
