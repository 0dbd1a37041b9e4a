/* 1D-ARC demonstration tasks (src/tasks/arcdemo.h), all 18 real families: the reference rules
 * reproduce every pair of every real file from that file's examples; a geometry checker written
 * from the measured ranges (docs/tasks.md) accepts every real pair, so it is the data's geometry;
 * generated tasks pass the same checker and rules and cover their ranges. Also the arc-demo task
 * (rows, splits, real rows kept out of training) and the published results shipped beside it. */
#include "test.h"
#include "analysis/published.h"
#include "arc_runs.h"
#include "tasks/arcdemo.h"
#include "train/config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Bars of one colour 1..3 cells apart, left margin 1..3 (the 1d_recolor_* layout). */
static const char *bar_layout(const Seg *s, int n, int size_hi, int rm_hi, int L) {
    GEOM(IN(s[0].start, 1, 3) && IN(L - s[n - 1].start - s[n - 1].len, 0, rm_hi));
    for (int i = 0; i < n; i++) GEOM(s[i].colour == s[0].colour && IN(s[i].len, 1, size_hi));
    for (int i = 1; i < n; i++) GEOM(IN(s[i].start - s[i - 1].start - s[i - 1].len, 1, 3));
    return NULL;
}

/* NULL when one pair fits its family's measured geometry, else the failed check. */
static const char *pair_geometry(int fam, const int *in, const int *out, int L) {
    Seg s[ARC_DEMO_MAX_LEN], o[ARC_DEMO_MAX_LEN];
    int n = segs(in, L, s), no = segs(out, L, o);
    GEOM(n >= 1);
    switch (fam) {
    case ARCD_MOVE_1P:
    case ARCD_MOVE_2P:
    case ARCD_MOVE_3P: GEOM(n == 1); return geom_move(s[0], L, 3);
    case ARCD_MOVE_DP:
    case ARCD_MOVE_2P_DP:
    case ARCD_SCALE_DP: {
        GEOM(n == 2 && s[1].len == 1 && s[1].colour != s[0].colour && no == 2);
        int gap = s[1].start - s[0].start - s[0].len, dist = L - 1 - s[1].start;
        if (fam == ARCD_MOVE_DP) GEOM(IN(gap, 2, 14) && IN(dist, 0, 20));
        if (fam == ARCD_MOVE_2P_DP) GEOM(gap == 2 && IN(dist, 0, 20));
        if (fam == ARCD_SCALE_DP) GEOM(IN(gap, 2, 19) && IN(dist, 0, 14));
        return geom_move(s[0], L, 3); /* the base bar's margin to the border */
    }
    case ARCD_FILL:
    case ARCD_HOLLOW:
    case ARCD_PADDED_FILL: {
        int m = fam == ARCD_PADDED_FILL ? L / 3 : L;
        if (fam == ARCD_PADDED_FILL) {
            GEOM(L % 3 == 0);
            for (int j = m; j < L; j++) GEOM(in[j] == in[j - m] && out[j] == out[j - m]);
            n = segs(in, m, s);
        }
        return geom_fill(fam != ARCD_HOLLOW, s, n, m);
    }
    case ARCD_FLIP: return geom_flip(s, n, L);
    case ARCD_MIRROR: return geom_mirror(s, n, o, no, L);
    case ARCD_DENOISING_1C: return geom_denoise(s, n, L);
    case ARCD_DENOISING_MC: {
        int first = s[0].start, last = s[n - 1].start + s[n - 1].len - 1, noise = 0;
        GEOM(IN(L, 32, 33) && IN(last - first + 1, 20, 26) && IN(first, 0, 9) && IN(L - 1 - last, 3, 12));
        GEOM(no == 1 && o[0].start == first && o[0].len == last - first + 1);
        for (int j = first; j <= last; j++) {
            GEOM(in[j] != 0);
            if (in[j] != o[0].colour) {
                noise++;
                GEOM(j - first >= 2 && last - j >= 2);
            }
        }
        GEOM(IN(noise, 1, 4));
        return NULL;
    }
    case ARCD_PCOPY_1C:
    case ARCD_PCOPY_MC: {
        GEOM(IN(L, 32, 33) && IN(n, 2, 4) && s[0].len == 3 && IN(s[0].start, 1, 2));
        GEOM(IN(L - s[n - 1].start - 1, 11, 26));
        for (int i = 1; i < n; i++) {
            int gap = s[i].start - s[i - 1].start - s[i - 1].len - (i > 1 ? 2 : 1); /* between the widened bars */
            GEOM(s[i].len == 1 && IN(gap, 1, 3) && (fam == ARCD_PCOPY_MC || s[i].colour == s[0].colour));
        }
        return NULL;
    }
    case ARCD_RECOLOR_CMP: {
        int longest = 0, at = 0;
        for (int i = 0; i < n; i++) longest = s[i].len > longest ? s[i].len : longest;
        for (int i = 0; i < n; i++) at += s[i].len == longest;
        GEOM(IN(L, 17, 33) && IN(n, 2, 7) && IN(at, 1, 4));
        return bar_layout(s, n, 7, 9, L);
    }
    case ARCD_RECOLOR_CNT: GEOM(IN(L, 12, 33) && IN(n, 2, 5)); return bar_layout(s, n, 3, 18, L);
    case ARCD_RECOLOR_OE: GEOM(IN(L, 13, 33) && IN(n, 1, 5)); return bar_layout(s, n, 6, 12, L);
    }
    return "unknown family";
}

static int longest_bar(const int *row, int L) {
    Seg s[ARC_DEMO_MAX_LEN];
    int n = segs(row, L, s), m = 0;
    for (int i = 0; i < n; i++) m = s[i].len > m ? s[i].len : m;
    return m;
}

/* NULL when the whole task fits: every pair's geometry, inputs distinct, each output differs from
 * its input, and the per-task values are shared and shown (docs/tasks.md, 1D-ARC families). */
static const char *task_geometry(const ArcDemo *d, int *bad_pair) {
    int L = d->len, f = d->family;
    for (int i = 0; i < ARC_DEMO_PAIRS; i++) {
        *bad_pair = i;
        const char *why = pair_geometry(f, d->in[i], d->out[i], L);
        if (why) return why;
        GEOM(memcmp(d->in[i], d->out[i], sizeof *d->in[i] * (size_t)L));
        for (int k = 0; k < i; k++) GEOM(memcmp(d->in[k], d->in[i], sizeof *d->in[i] * (size_t)L));
    }
    *bad_pair = -1;
    Seg s[ARC_DEMO_MAX_LEN];
    if (f == ARCD_MOVE_DP || f == ARCD_MOVE_2P_DP || f == ARCD_SCALE_DP) {
        segs(d->in[0], L, s);
        int marker = s[1].colour;
        for (int i = 0; i < ARC_DEMO_PAIRS; i++) {
            segs(d->in[i], L, s);
            GEOM(s[1].colour == marker && s[0].colour != marker); /* the task's marker colour, no bar's */
        }
    }
    if (f == ARCD_RECOLOR_CMP || f == ARCD_RECOLOR_CNT || f == ARCD_RECOLOR_OE) {
        int cin = d->in[0][segs(d->in[0], L, s) ? s[0].start : 0], seen[8] = {0};
        for (int i = 0; i < ARC_DEMO_PAIRS; i++) {
            int n = segs(d->in[i], L, s);
            for (int k = 0; k < n; k++) {
                GEOM(s[k].colour == cin);
                if (i < ARC_DEMO_EXAMPLES) seen[f == ARCD_RECOLOR_OE ? s[k].len % 2 : s[k].len] = 1;
            }
        }
        if (f == ARCD_RECOLOR_CNT) GEOM(seen[1] && seen[2] && seen[3]);
        if (f == ARCD_RECOLOR_OE) GEOM(seen[0] && seen[1]);
        if (f == ARCD_RECOLOR_CMP) {
            int m0 = longest_bar(d->in[0], L), m1 = longest_bar(d->in[1], L), m2 = longest_bar(d->in[2], L);
            GEOM(m0 * m1 * m2 == 140 && m0 + m1 + m2 == 16 && IN(longest_bar(d->in[3], L), 4, 7)); /* {4, 5, 7} */
        }
    }
    return NULL;
}

/* Each real file as a task; *n_tasks set. The pairs of one file are consecutive in the set. */
static ArcDemo *real_tasks(TestCtx *t_, ArcSet *set, int *n_tasks) {
    char dir[1024];
    Err e = {{0}};
    memset(set, 0, sizeof *set);
    CHECK(data_dir("1d-arc", dir, sizeof dir, &e) == 0 && arc_load_dir(dir, set, &e) == 0, "%s", e.msg);
    ArcDemo *d = calloc((size_t)set->n + 1, sizeof *d);
    int n = 0;
    for (int i = 0; i < set->n; n++) {
        const ArcPair *p = &set->pairs[i];
        CHECK(arc_demo_next(set, &i, ARC_DEMO_MAX_LEN, &d[n], &e) == 0, "%s", e.msg);
        CHECK(d[n].family >= 0, "%s: family %s unknown", p->path, p->family);
    }
    *n_tasks = n;
    return d;
}

TEST(arcdemo_rules_reproduce_real_files) {
    ArcSet set;
    int n, per_family[ARCD_N_FAMILIES] = {0}, pairs = 0;
    ArcDemo *d = real_tasks(t_, &set, &n);
    CHECK(n == 901, "%d real tasks", n);
    for (int k = 0; k < n; k++) {
        per_family[d[k].family]++;
        for (int i = 0; i < ARC_DEMO_PAIRS; i++) {
            int out[ARC_DEMO_MAX_LEN] = {0};
            CHECK(arc_demo_rule(&d[k], d[k].in[i], out) == 0 &&
                      !memcmp(out, d[k].out[i], sizeof *out * (size_t)d[k].len),
                  "%s task %d pair %d: the rule differs from the file", arc_demo_name(d[k].family), k, i);
            pairs++;
        }
    }
    CHECK(pairs == 3604, "%d pairs", pairs);
    for (int f = 0; f < ARCD_N_FAMILIES; f++)
        CHECK(per_family[f] == (f == ARCD_SCALE_DP ? 51 : 50), "%s: %d tasks", arc_demo_name(f), per_family[f]);
    free(d);
    arc_set_free(&set);
}

TEST(arcdemo_geometry_matches_real_files) {
    ArcSet set;
    int n;
    ArcDemo *d = real_tasks(t_, &set, &n);
    for (int k = 0; k < n; k++) {
        int pair;
        const char *why = task_geometry(&d[k], &pair);
        CHECK(!why, "%s real task %d pair %d: %s", arc_demo_name(d[k].family), k, pair, why);
    }
    free(d);
    arc_set_free(&set);
}

/* Generated tasks of every family: the checker accepts them, the rule (from the examples alone)
 * reproduces all four pairs, and the draws cover the family's measured row lengths. */
TEST(arcdemo_generated_tasks) {
    int per = test_quick() ? 60 : 400;
    ArcDemo *d = malloc(sizeof *d);
    Rng r;
    rng_seed(&r, 18);
    for (int f = 0; f < ARCD_N_FAMILIES; f++) {
        int min_len = 999, max_len = 0, colours = 0, failures = 0;
        for (int k = 0; k < per && failures < 3; k++) {
            arc_demo_generate(f, &r, d);
            int pair, ok = d->family == f;
            const char *why = task_geometry(d, &pair);
            CHECK(!why && ok, "%s generated task %d pair %d: %s", arc_demo_name(f), k, pair, why ? why : "family");
            for (int i = 0; i < ARC_DEMO_PAIRS; i++) {
                int out[ARC_DEMO_MAX_LEN] = {0};
                int good =
                    arc_demo_rule(d, d->in[i], out) == 0 && !memcmp(out, d->out[i], sizeof *out * (size_t)d->len);
                CHECK(good, "%s generated task %d pair %d breaks the rule", arc_demo_name(f), k, i);
                failures += !good || why;
                for (int j = 0; j < d->len; j++) colours |= 1 << d->out[i][j];
            }
            min_len = d->len < min_len ? d->len : min_len;
            max_len = d->len > max_len ? d->len : max_len;
        }
        int span =
            f == ARCD_DENOISING_1C || f == ARCD_DENOISING_MC || f == ARCD_PCOPY_1C || f == ARCD_PCOPY_MC ? 1 : 10;
        CHECK(max_len - min_len >= span, "%s: lengths only %d..%d", arc_demo_name(f), min_len, max_len);
        CHECK((colours & 0x1fe) == 0x1fe || f == ARCD_MIRROR || f == ARCD_FILL || f == ARCD_HOLLOW ||
                  f == ARCD_PADDED_FILL || f == ARCD_MOVE_1P || f == ARCD_MOVE_2P || f == ARCD_MOVE_3P ||
                  f == ARCD_DENOISING_1C,
              "%s: output colours 0x%x", arc_demo_name(f), colours);
    }
    free(d);
}

TEST(arcdemo_same_seed_same_tasks) {
    ArcDemo *a = malloc(sizeof *a), *b = malloc(sizeof *b);
    for (int f = 0; f < ARCD_N_FAMILIES; f++) {
        Rng r1, r2;
        rng_seed(&r1, 5);
        rng_seed(&r2, 5);
        for (int k = 0; k < 5; k++) {
            memset(a, 0, sizeof *a);
            memset(b, 0, sizeof *b);
            arc_demo_generate(f, &r1, a);
            arc_demo_generate(f, &r2, b);
            CHECK(!memcmp(a, b, sizeof *a), "%s: task %d differs", arc_demo_name(f), k);
        }
    }
    free(a);
    free(b);
}

TEST(arcdemo_names_and_bad_tasks) {
    for (int f = 0; f < ARCD_N_FAMILIES; f++) CHECK(arc_demo_family(arc_demo_name(f)) == f, "family %d", f);
    CHECK(arc_demo_family("1d_move_4p") == -1 && arc_demo_family("") == -1, "unknown names map to -1");
    int in[4][8] = {{0, 1, 1, 0}, {1, 1, 0, 0}, {0, 0, 1, 1}, {0, 1, 0, 0}};
    ArcPair p[5];
    for (int i = 0; i < 5; i++)
        p[i] = (ArcPair){.family = "1d_recolor_oe",
                         .path = "x/1d_recolor_oe_1.json",
                         .is_test = i >= 3,
                         .index = i >= 3 ? i - 3 : i,
                         .len = 4,
                         .in = in[i % 4],
                         .out = in[i % 4]};
    ArcDemo *d = malloc(sizeof *d);
    Err e = {{0}};
    CHECK(arc_demo_from_pairs(p, 4, d, &e) == 0 && d->family == ARCD_RECOLOR_OE && d->len == 4, "%s", e.msg);
    CHECK(arc_demo_from_pairs(p, 5, d, &e) == -1 && strstr(e.msg, "5 pairs") && strstr(e.msg, "x/1d_recolor_oe_1"),
          "five pairs: '%s'", e.msg);
    p[2].len = 3;
    CHECK(arc_demo_from_pairs(p, 4, d, &e) == -1 && strstr(e.msg, "train[2] has 3 cells"), "length: '%s'", e.msg);
    p[2].len = 4;
    p[1].is_test = 1;
    CHECK(arc_demo_from_pairs(p, 4, d, &e) == -1 && strstr(e.msg, "out of order"), "order: '%s'", e.msg);
    p[1].is_test = 0;
    /* examples that never show an even bar cannot recolour one: the rule says so, it does not guess */
    int out[8];
    d->in[0][1] = d->in[0][2] = d->in[1][0] = d->in[1][1] = d->in[2][2] = d->in[2][3] = 0;
    d->in[0][1] = d->in[1][1] = d->in[2][1] = 3;
    memcpy(d->out, d->in, sizeof d->out);
    d->out[0][1] = d->out[1][1] = d->out[2][1] = 5;
    int even[8] = {0, 3, 3, 0};
    CHECK(arc_demo_rule(d, even, out) == -1, "an unseen parity must be refused");
    int odd[8] = {3, 0, 3, 0};
    CHECK(arc_demo_rule(d, odd, out) == 0 && out[0] == 5 && out[1] == 0 && out[2] == 5, "odd bars: %d %d %d", out[0],
          out[1], out[2]);
    d->out[2][1] = 6; /* contradicting examples */
    CHECK(arc_demo_rule(d, odd, out) == -1, "contradicting examples must be refused");
    free(d);
}

/* ---- arc-demo, the task ---- */

/* The task a row's demonstrations describe, and the row as its pair `pair`. */
static void row_task(const Task *t, const Examples *ex, int i, ArcDemo *d) {
    const int *demo = ex->demo + (size_t)i * t->demo_pairs * t->seq_len, *lab = ex->lab + (size_t)i * t->out_len;
    memset(d, 0, sizeof *d);
    while (d->len < t->out_len && lab[d->len] >= 0) d->len++;
    for (int e = 0; e < ARC_DEMO_EXAMPLES; e++)
        for (int j = 0; j < d->len; j++) {
            d->in[e][j] = demo[e * t->seq_len + j] / ARC_COLOURS;
            d->out[e][j] = demo[e * t->seq_len + j] % ARC_COLOURS;
        }
}

static int real_row(const ArcSet *set, const int *tok, int L) {
    for (int k = 0; k < set->n; k++) {
        int n = set->pairs[k].len < L ? set->pairs[k].len : L, m = 0;
        while (m < n && set->pairs[k].in[m] == tok[m]) m++;
        int rest = 1; /* equal as padded rows: the rest of both is background */
        for (int j = m; j < L && rest; j++) rest = tok[j] == 0 && (j >= set->pairs[k].len || set->pairs[k].in[j] == 0);
        if (m == n && rest) return 1;
    }
    return 0;
}

/* A training draw is one task: its rows are its examples then its test pair, all with its
 * examples as demonstrations; the rule reproduces each row from them; the task lands in the
 * split asked; no training task holds a real input row. */
TEST(arcdemo_task_rows_splits_and_real_rows) {
    Task t;
    Err e = {{0}};
    CHECK(task_get("arc-demo", &t, &e) == 0, "%s", e.msg);
    if (t.kind != TASK_ARC_DEMO) return;
    CHECK(t.n_train == 15 && t.n_ood == 3 && t.demo_pairs == 3 && t.seq_len == ARC_DEMO_MAX_LEN && t.n_excluded == 5653,
          "train %d ood %d pairs %d len %d excluded %d", t.n_train, t.n_ood, t.demo_pairs, t.seq_len, t.n_excluded);
    ArcSet set = {0};
    char dir[1024];
    CHECK(data_dir("1d-arc", dir, sizeof dir, &e) == 0 && arc_load_dir(dir, &set, &e) == 0, "%s", e.msg);
    Examples ex;
    examples_alloc(&t, 6, &ex);
    ArcDemo *d = malloc(sizeof *d);
    Rng r;
    rng_seed(&r, 3);
    int per = test_quick() ? 4 : 40, real_hits = 0;
    for (int k = 0; k < t.n_train * per; k++) {
        Intent u = t.train[k % t.n_train];
        Split s = k % 5 == 4 ? SPLIT_VAL : SPLIT_TRAIN;
        task_sample(&t, u, s, &r, 6, &ex);
        CHECK(ex.n == 6, "%d rows", ex.n);
        size_t nd = (size_t)t.demo_pairs * t.seq_len;
        for (int i = 0; i < 6; i++) {
            CHECK(!memcmp(ex.demo + i * nd, ex.demo, nd * sizeof(int)), "row %d: another task's examples", i);
            CHECK(task_split_of(&t, u, &ex, i) == s, "row %d: split %d, asked %d", i, task_split_of(&t, u, &ex, i), s);
        }
        row_task(&t, &ex, 0, d);
        d->family = u.family;
        for (int i = 0; i < 6; i++) {
            int out[ARC_DEMO_MAX_LEN] = {0};
            const int *tok = ex.tok + (size_t)i * t.seq_len, *lab = ex.lab + (size_t)i * t.out_len;
            CHECK(arc_demo_rule(d, tok, out) == 0 && !memcmp(out, lab, sizeof *out * (size_t)d->len),
                  "%s row %d breaks the rule", arc_demo_name(u.family), i);
            if (i < 3) /* rows 0..2 are the examples themselves */
                for (int j = 0; j < d->len; j++) CHECK(tok[j] == d->in[i][j] && lab[j] == d->out[i][j], "row %d", i);
            if (i == 4) CHECK(!memcmp(tok, ex.tok, sizeof *tok * (size_t)t.seq_len), "row 4 starts over at row 0");
            if (s == SPLIT_TRAIN && i < 4) real_hits += real_row(&set, tok, t.seq_len);
        }
    }
    CHECK(real_hits == 0, "%d real input rows in training tasks", real_hits);
    /* an OOD family draws from every split; its intent parses as typed */
    Intent u;
    CHECK(task_intent_parse(&t, " Move_3P ", &u, &e) == 0 && u.family == ARCD_MOVE_3P && task_is_ood(&t, u), "%s",
          e.msg);
    CHECK(task_intent_parse(&t, "1d_recolor_oe", &u, &e) == 0 && task_is_ood(&t, u), "%s", e.msg);
    CHECK(task_intent_parse(&t, "move_4p", &u, &e) == -1 && strstr(e.msg, "move_4p"), "'%s'", e.msg);
    char name[64];
    task_intent_format(&t, (Intent){ARCD_SCALE_DP, -1}, name, sizeof name);
    CHECK(!strcmp(name, "1d_scale_dp"), "%s", name);
    free(d);
    examples_free(&ex);
    arc_set_free(&set);
    task_free(&t);
}

/* relabel: colours renamed by first appearance in the examples, then the test input (never the
 * test output); a task's rows, labels and demonstrations renamed alike; on the real files the
 * renaming loses nothing (every test output colour is shown) and makes the recolour tasks alike;
 * and a relabelled training task never holds a real input row as the network sees it. */
TEST(arcdemo_relabel) {
    ArcDemo *d = calloc(1, sizeof *d);
    d->len = 5;
    const int rows[8][5] = {{0, 5, 5, 0, 3}, {0, 3, 3, 0, 5}, {7, 0, 0, 0, 0}, {7, 0, 0, 0, 0},
                            {0, 0, 5, 0, 0}, {0, 0, 5, 0, 0}, {0, 9, 0, 0, 0}, {0, 8, 0, 0, 6}};
    for (int i = 0; i < ARC_DEMO_PAIRS; i++) {
        memcpy(d->in[i], rows[2 * i], sizeof rows[0]);
        memcpy(d->out[i], rows[2 * i + 1], sizeof rows[0]);
    }
    int m[ARC_COLOURS];
    arc_demo_colours(d, m);
    /* 5 3 7 from the examples, 9 from the test input; 1 2 4 6 8 (the test output's 8 and 6 among
     * them) take 5..9 in order */
    const int want[ARC_COLOURS] = {0, 5, 6, 2, 7, 1, 8, 3, 9, 4};
    CHECK(!memcmp(m, want, sizeof want), "map %d %d %d %d %d %d %d %d %d %d", m[0], m[1], m[2], m[3], m[4], m[5], m[6],
          m[7], m[8], m[9]);
    Task t;
    Err e = {{0}};
    CHECK(task_get("arc-demo-all", &t, &e) == 0, "%s", e.msg);
    if (t.kind != TASK_ARC_DEMO) return;
    Examples raw, rel;
    examples_alloc(&t, 1, &raw);
    examples_alloc(&t, 1, &rel);
    arc_demo_example(&t, d, 3, &raw, 0);
    t.relabel = 1;
    arc_demo_example(&t, d, 3, &rel, 0);
    size_t nd = (size_t)t.demo_pairs * t.seq_len;
    for (size_t j = 0; j < (size_t)t.seq_len; j++)
        CHECK(rel.tok[j] == m[raw.tok[j]] && rel.lab[j] == (raw.lab[j] < 0 ? -1 : m[raw.lab[j]]), "cell %zu", j);
    for (size_t j = 0; j < nd; j++)
        CHECK(rel.demo[j] == m[raw.demo[j] / ARC_COLOURS] * ARC_COLOURS + m[raw.demo[j] % ARC_COLOURS], "demo %zu", j);
    /* the real files: nothing lost, and the recolour maps collapse (size -> colour of
     * 1d_recolor_cnt, parity -> colour of 1d_recolor_oe, over every bar of a task's four pairs) */
    ArcSet set;
    int n, lost = 0, distinct[2][2] = {{0}};
    ArcDemo *real = real_tasks(t_, &set, &n);
    unsigned seen[2][2][64];
    for (int k = 0; k < n; k++) {
        arc_demo_colours(&real[k], m);
        int shown[ARC_COLOURS] = {0};
        for (int i = 0; i < ARC_DEMO_PAIRS; i++)
            for (int j = 0; j < real[k].len; j++) {
                shown[real[k].in[i][j]] = 1;
                if (i < ARC_DEMO_EXAMPLES) shown[real[k].out[i][j]] = 1;
            }
        for (int j = 0; j < real[k].len; j++) lost += !shown[real[k].out[ARC_DEMO_EXAMPLES][j]];
        int f = real[k].family == ARCD_RECOLOR_CNT ? 0 : real[k].family == ARCD_RECOLOR_OE ? 1 : -1;
        if (f < 0) continue;
        for (int r = 0; r < 2; r++) { /* r = 0 as is, 1 relabelled */
            unsigned sig = 0;
            for (int i = 0; i < ARC_DEMO_PAIRS; i++)
                for (int j = 0; j < real[k].len;) {
                    int q = j;
                    while (q < real[k].len && real[k].in[i][q] == real[k].in[i][j]) q++;
                    int c = real[k].out[i][j], key = f ? (q - j) % 2 : q - j - 1;
                    if (real[k].in[i][j]) sig |= 1u << (key * ARC_COLOURS + (r ? m[c] : c));
                    j = q;
                }
            int dup = 0;
            for (int q = 0; q < distinct[f][r]; q++) dup |= seen[f][r][q] == sig;
            if (!dup) seen[f][r][distinct[f][r]++] = sig;
        }
    }
    CHECK(lost == 0, "%d test output cells of a colour the task does not show", lost);
    CHECK(distinct[0][0] == 49 && distinct[0][1] == 6 && distinct[1][0] == 34 && distinct[1][1] == 2,
          "size maps %d -> %d, parity maps %d -> %d", distinct[0][0], distinct[0][1], distinct[1][0], distinct[1][1]);
    /* the real rows relabelled as their tasks are: no relabelled training draw holds one */
    for (int i = 0, k = 0; i < set.n; k++) {
        arc_demo_colours(&real[k], m);
        for (int q = 0; q < ARC_DEMO_PAIRS; q++, i++)
            for (int j = 0; j < set.pairs[i].len; j++) set.pairs[i].in[j] = m[set.pairs[i].in[j]];
    }
    Examples ex;
    examples_alloc(&t, 4, &ex);
    int hits[2] = {0}, per = test_quick() ? 4 : 40, n_excluded = t.n_excluded;
    for (int x = 0; x < 2; x++) { /* x = 0: without the exclusion, to show that it has work to do */
        Rng r;
        rng_seed(&r, 9);
        t.n_excluded = x ? n_excluded : 0;
        for (int k = 0; k < ARCD_N_FAMILIES * per; k++) {
            task_sample(&t, t.train[k % t.n_train], SPLIT_TRAIN, &r, 4, &ex);
            for (int i = 0; i < 4; i++) hits[x] += real_row(&set, ex.tok + (size_t)i * t.seq_len, t.seq_len);
        }
    }
    CHECK(hits[0] > 0 && hits[1] == 0, "relabelled real input rows in relabelled training tasks: %d, excluded %d",
          hits[0], hits[1]);
    examples_free(&ex);
    examples_free(&raw);
    examples_free(&rel);
    free(real);
    free(d);
    arc_set_free(&set);
    task_free(&t);
}

/* arc-demo-all is arc-demo with every family trained: the three families arc-demo holds out draw
 * train, validation and test tasks like the others (never a real input row in training), nothing
 * is OOD, and the defaults are arc-demo's with the task's own id recorded. */
TEST(arcdemo_all_trains_every_family) {
    Task t;
    Err e = {{0}};
    CHECK(task_get("1D-ARC-demo-ALL", &t, &e) == 0, "%s", e.msg);
    if (t.kind != TASK_ARC_DEMO) return;
    CHECK(t.n_train == ARCD_N_FAMILIES && t.n_ood == 0 && !strcmp(t.id, "arc-demo-all") &&
              !strcmp(t.name, "arc-demo") && !strcmp(task_label(&t), "arc-demo-all") && t.n_excluded == 5653,
          "train %d ood %d id %s name %s excluded %d", t.n_train, t.n_ood, t.id, t.name, t.n_excluded);
    for (int f = 0; f < ARCD_N_FAMILIES; f++) {
        int listed = 0;
        for (int i = 0; i < t.n_train; i++) listed += t.train[i].family == f && t.train[i].param == -1;
        CHECK(listed == 1 && !task_is_ood(&t, (Intent){f, -1}), "%s: listed %d times", arc_demo_name(f), listed);
    }
    CHECK(!strcmp(task_builtin_id("arc-demo-all"), "arc-demo-all") &&
              !strcmp(task_builtin_id("1d-arc-demo"), "arc-demo"),
          "ids");
    ArcSet set = {0};
    char dir[1024];
    CHECK(data_dir("1d-arc", dir, sizeof dir, &e) == 0 && arc_load_dir(dir, &set, &e) == 0, "%s", e.msg);
    Examples ex;
    examples_alloc(&t, 4, &ex);
    Rng r;
    rng_seed(&r, 5);
    const int fam[3] = {ARCD_MOVE_3P, ARCD_PCOPY_MC, ARCD_RECOLOR_OE};
    int real_hits = 0, per = test_quick() ? 6 : 60;
    for (int k = 0; k < 3 * per; k++) {
        Intent u = {fam[k % 3], -1};
        Split s = (Split)(k / 3 % 3); /* train, val, test */
        task_sample(&t, u, s, &r, 4, &ex);
        for (int i = 0; i < 4; i++) {
            CHECK(task_split_of(&t, u, &ex, i) == s, "%s row %d: split %d, asked %d", arc_demo_name(u.family), i,
                  task_split_of(&t, u, &ex, i), s);
            if (s == SPLIT_TRAIN) real_hits += real_row(&set, ex.tok + (size_t)i * t.seq_len, t.seq_len);
        }
    }
    CHECK(real_hits == 0, "%d real input rows in training tasks", real_hits);
    TrainConfig a, b;
    CHECK(!config_defaults("arc-demo-all", METHOD_GNN, &a, &e) && !config_defaults("arc-demo", METHOD_GNN, &b, &e),
          "%s", e.msg);
    CHECK(!strcmp(a.task, "arc-demo-all") && !strcmp(b.task, "arc-demo"), "recorded tasks %s, %s", a.task, b.task);
    TrainConfig c;
    CHECK(!config_defaults("arc", METHOD_GNN, &c, &e) && a.relabel == 1 && c.relabel == 0,
          "relabel: arc-demo-all %d, arc %d", a.relabel, c.relabel);
    TrainConfig m;
    CHECK(!config_defaults("arc-demo-all", METHOD_MLP, &m, &e) && m.focus == 0.5f && a.focus == 0.5f && c.focus == 0 &&
              a.steps == 30000 && a.meta.width == 16,
          "focus: arc-demo Meta-MLP %g, Meta-GNN %g (%ld steps, width %d), arc %g", m.focus, a.focus, a.steps,
          a.meta.width, c.focus);
    memcpy(a.task, b.task, sizeof a.task);
    char fa[2048], fb[2048];
    config_format(&a, fa, sizeof fa);
    config_format(&b, fb, sizeof fb);
    CHECK(!strcmp(fa, fb), "arc-demo-all's defaults differ from arc-demo's:\n%s\n%s", fa, fb);
    examples_free(&ex);
    arc_set_free(&set);
    task_free(&t);
}

/* Evaluation sets: distinct tasks of the split, a row each (the test pair), and never a
 * training task's examples: a hash split on the examples keeps them apart. */
TEST(arcdemo_eval_sets) {
    Task t;
    Err e = {{0}};
    CHECK(task_get("arc-demo", &t, &e) == 0, "%s", e.msg);
    if (t.kind != TASK_ARC_DEMO) return;
    Intent u = {ARCD_MOVE_1P, -1};
    Examples val, tr;
    int n = task_eval_set(&t, u, SPLIT_VAL, 60, 7, &val);
    CHECK(n == 60, "%d val tasks", n);
    size_t nd = (size_t)t.demo_pairs * t.seq_len;
    ArcDemo *d = malloc(sizeof *d);
    for (int i = 0; i < n; i++) {
        CHECK(task_split_of(&t, u, &val, i) == SPLIT_VAL, "val row %d", i);
        row_task(&t, &val, i, d);
        d->family = u.family;
        int out[ARC_DEMO_MAX_LEN] = {0};
        CHECK(arc_demo_rule(d, val.tok + (size_t)i * t.seq_len, out) == 0 &&
                  !memcmp(out, val.lab + (size_t)i * t.out_len, sizeof *out * (size_t)d->len),
              "val row %d: the test pair does not follow its examples", i);
        for (int k = 0; k < i; k++)
            CHECK(memcmp(val.demo + i * nd, val.demo + k * nd, nd * sizeof(int)) ||
                      memcmp(val.tok + (size_t)i * t.seq_len, val.tok + (size_t)k * t.seq_len, t.seq_len * sizeof(int)),
                  "val rows %d and %d are one task", k, i);
    }
    examples_alloc(&t, 1, &tr);
    Rng r;
    rng_seed(&r, 8);
    int shared = 0;
    for (int k = 0; k < 2000; k++) {
        task_sample(&t, u, SPLIT_TRAIN, &r, 1, &tr);
        for (int i = 0; i < n; i++) shared += !memcmp(tr.demo, val.demo + i * nd, nd * sizeof(int));
    }
    CHECK(shared == 0, "%d training tasks show a validation task's examples", shared);
    Examples again;
    CHECK(task_eval_set(&t, u, SPLIT_VAL, 60, 7, &again) == n && !memcmp(again.demo, val.demo, n * nd * sizeof(int)),
          "the same seed gives the same set");
    free(d);
    examples_free(&again);
    examples_free(&tr);
    examples_free(&val);
    task_free(&t);
}

/* The published results that ship beside the data: their totals are the paper's. */
TEST(arcdemo_published_results) {
    char dir[1024], path[1100];
    Err e = {{0}};
    Published p;
    CHECK(data_dir("published", dir, sizeof dir, &e) == 0, "%s", e.msg);
    snprintf(path, sizeof path, "%s/llm4arc-1d-arc.csv", dir);
    CHECK(published_load(path, &p, &e) == 0 && p.n == 72, "%d rows: %s", p.n, e.msg);
    static const struct {
        const char *setting;
        int solved, attempted;
    } want[] = {{"GPT-4 direct-grid", 375, 900},
                {"GPT-4 object-based", 755, 900},
                {"GPT-3.5 direct-grid", 141, 899},
                {"GPT-3.5 object-based", 468, 900}};
    for (int k = 0; k < 4; k++) {
        int s = 0, n = 0;
        for (int f = 0; f < ARCD_N_FAMILIES; f++) {
            const PublishedRow *r = published_find(&p, arc_demo_name(f), want[k].setting);
            CHECK(r, "%s: no %s", arc_demo_name(f), want[k].setting);
            if (r) s += r->solved, n += r->attempted;
        }
        CHECK(s == want[k].solved && n == want[k].attempted, "%s: %d/%d", want[k].setting, s, n);
    }
    published_free(&p);
    char tmp[] = "/tmp/neurop-test-pub-XXXXXX";
    int fd = mkstemp(tmp);
    NP_ASSERT(fd >= 0, "mkstemp");
    FILE *f = fdopen(fd, "w");
    fputs("family,setting,solved,attempted\n1d_flip,GPT-4 direct-grid,35,50\n1d_fill,GPT-4 direct-grid,51,50\n", f);
    fclose(f);
    CHECK(published_load(tmp, &p, &e) == -1 && strstr(e.msg, ":3: want"), "malformed: '%s'", e.msg);
    unlink(tmp);
}
