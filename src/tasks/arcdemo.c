/* 1D-ARC demonstration tasks: the family names, a generated task (four rows of one length that
 * share the per-task values), and a real file's pairs as a task. The rows come from arc1d.c,
 * the reference rules from arc_rules.c. */
#include "tasks/arcdemo.h"
#include "tasks/internal.h"
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
