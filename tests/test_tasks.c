/* Tasks: generators obey their rules (checked by independent code), splits never overlap, same
 * seed -> same data, ADDMOD split sizes, generated 1D-ARC geometry, intents, features, scoring. */
#include "test.h"
#include "arc_runs.h"
#include "tasks/task.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static Task get_task(const char *name) {
    Task t;
    Err e;
    NP_ASSERT(task_get(name, &t, &e) == 0, "%s", e.msg);
    return t;
}

/* ---- helpers, independent of the library's own hashing and run-finding ---- */

static uint64_t fnv(const void *p, size_t n) {
    const unsigned char *b = p;
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 1099511628211ULL;
    return h;
}

/* Hash of example i's input as the network sees it. */
static uint64_t input_key(const Task *t, const Examples *ex, int i) {
    if (ex->x) return fnv(ex->x + (size_t)i * t->in_dim, sizeof *ex->x * (size_t)t->in_dim);
    return fnv(ex->tok + (size_t)i * t->seq_len, sizeof *ex->tok * (size_t)t->seq_len);
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Number of values common to two sorted arrays. */
static int n_common(const uint64_t *a, int na, const uint64_t *b, int nb) {
    int i = 0, j = 0, c = 0;
    while (i < na && j < nb) {
        if (a[i] < b[j]) i++;
        else if (a[i] > b[j]) j++;
        else {
            c++;
            i++;
            j++;
        }
    }
    return c;
}

/* Row length of ARC example i: labels are -1 beyond it. */
static int arc_len(const Task *t, const Examples *ex, int i) {
    const int *lab = ex->lab + (size_t)i * t->out_len;
    int L = 0;
    while (L < t->out_len && lab[L] >= 0) L++;
    return L;
}

static int n_intents(const Task *t) { return t->n_train + t->n_ood; }
static Intent intent_at(const Task *t, int k) { return k < t->n_train ? t->train[k] : t->ood[k - t->n_train]; }

/* ---- registry ---- */

TEST(tasks_registry) {
    Task t;
    Err e;
    const char *names[] = {"sumfirst", "SUMFIRST-n", "addmod", "AddMod-P", "arc", "1D-ARC", "arc1d"};
    TaskKind kinds[] = {TASK_SUMFIRST, TASK_SUMFIRST, TASK_ADDMOD, TASK_ADDMOD, TASK_ARC, TASK_ARC, TASK_ARC};
    for (int i = 0; i < 7; i++) {
        CHECK(task_get(names[i], &t, &e) == 0, "task_get(%s) failed", names[i]);
        CHECK(t.kind == kinds[i], "%s: kind %d", names[i], t.kind);
    }
    CHECK(task_get("sorting", &t, &e) == -1 && strstr(e.msg, "sorting") && strstr(e.msg, "addmod"), "msg: %s", e.msg);

    t = get_task("sumfirst");
    CHECK(t.n_train == 8 && t.n_ood == 2 && t.in_dim == 10 && t.seq_len == 0 && t.out_len == 1, "sumfirst shape");
    CHECK(t.ood[0].param == 4 && t.ood[1].param == 7, "sumfirst OOD intents");
    t = get_task("addmod");
    CHECK(t.n_train == 22 && t.n_ood == 3 && t.seq_len == 3 && t.vocab == 101 && t.n_classes == 100 && t.out_len == 1,
          "addmod shape");
    int primes = 0;
    for (int p = 2; p < 100; p++) {
        int prime = 1;
        for (int d = 2; d * d <= p; d++)
            if (p % d == 0) prime = 0;
        Intent u = {0, p};
        CHECK(task_intent_valid(&t, u) == prime, "p=%d validity", p);
        primes += prime;
        CHECK(task_is_ood(&t, u) == (p == 23 || p == 53 || p == 83), "p=%d OOD", p);
    }
    CHECK(primes == 25, "%d primes", primes);
    t = get_task("arc");
    CHECK(t.n_train == 17 && t.n_ood == 2 && t.seq_len == ARC_MAX_LEN && t.out_len == ARC_MAX_LEN && t.vocab == 10 &&
              t.n_classes == 10,
          "arc shape");
    /* No intent is both train and OOD. */
    const char *all[] = {"sumfirst", "addmod", "arc"};
    for (int k = 0; k < 3; k++) {
        t = get_task(all[k]);
        for (int i = 0; i < t.n_train; i++)
            CHECK(!task_is_ood(&t, t.train[i]), "%s: train intent %d is also OOD", all[k], i);
    }
}

/* ---- generators obey their rules ---- */

TEST(tasks_sumfirst_rule) {
    Task t = get_task("sumfirst");
    Examples ex;
    examples_alloc(&t, 500, &ex);
    Rng r;
    rng_seed(&r, 11);
    for (int k = 0; k < n_intents(&t); k++) {
        Intent u = intent_at(&t, k);
        for (Split s = SPLIT_TRAIN; s <= SPLIT_TEST; s++) {
            Split sp = task_is_ood(&t, u) ? SPLIT_OOD : s;
            task_sample(&t, u, sp, &r, 500, &ex);
            for (int i = 0; i < ex.n; i++) {
                const float *x = ex.x + (size_t)i * 10;
                float want = 0;
                for (int j = 0; j < 10; j++) {
                    CHECK(x[j] == (int)x[j] && x[j] >= 0 && x[j] <= 9, "digit %g", x[j]);
                    if (j < u.param) want += x[j];
                }
                CHECK(ex.y[i] == want, "n=%d: y=%g want %g", u.param, ex.y[i], want);
            }
        }
    }
    examples_free(&ex);
}

TEST(tasks_addmod_rule) {
    Task t = get_task("addmod");
    Examples ex;
    examples_alloc(&t, 300, &ex);
    Rng r;
    rng_seed(&r, 12);
    for (int k = 0; k < n_intents(&t); k++) {
        Intent u = intent_at(&t, k);
        task_sample(&t, u, task_is_ood(&t, u) ? SPLIT_OOD : SPLIT_TRAIN, &r, 300, &ex);
        for (int i = 0; i < ex.n; i++) {
            const int *tok = ex.tok + (size_t)i * 3;
            CHECK(tok[0] >= 0 && tok[0] < u.param && tok[1] >= 0 && tok[1] < u.param && tok[2] == 100,
                  "p=%d tokens %d %d %d", u.param, tok[0], tok[1], tok[2]);
            int sum = tok[0] + tok[1];
            CHECK(ex.lab[i] == (sum >= u.param ? sum - u.param : sum), "p=%d: %d+%d -> %d", u.param, tok[0], tok[1],
                  ex.lab[i]);
        }
    }
    examples_free(&ex);
}

/* Every generated pair of every intent and split: the reference rule maps the input to the
 * labels; padding is background in the input and -1 in the labels; the rule changes the row. */
TEST(tasks_arc_generators_obey_rule) {
    Task t = get_task("arc");
    int n = test_quick() ? 300 : 2000;
    Examples ex;
    examples_alloc(&t, n, &ex);
    Rng r;
    rng_seed(&r, 13);
    for (int k = 0; k < n_intents(&t); k++) {
        Intent u = intent_at(&t, k);
        char name[32];
        task_intent_format(&t, u, name, sizeof name);
        for (Split s = SPLIT_TRAIN; s <= SPLIT_TEST; s++) {
            task_sample(&t, u, task_is_ood(&t, u) ? SPLIT_OOD : s, &r, n, &ex);
            for (int i = 0; i < ex.n; i++) {
                const int *in = ex.tok + (size_t)i * t.seq_len, *lab = ex.lab + (size_t)i * t.out_len;
                int L = arc_len(&t, &ex, i), want[ARC_MAX_LEN];
                CHECK(L >= 7 && L <= ARC_MAX_LEN, "%s: length %d", name, L);
                for (int j = L; j < t.seq_len; j++) CHECK(in[j] == 0 && lab[j] == -1, "%s: padding at %d", name, j);
                arc_rule(u, in, L, want);
                CHECK(!memcmp(want, lab, sizeof *want * (size_t)L), "%s: example %d breaks the rule", name, i);
                CHECK(memcmp(in, lab, sizeof *in * (size_t)L), "%s: example %d leaves the row unchanged", name, i);
            }
        }
    }
    examples_free(&ex);
}

/* ---- generated 1D-ARC geometry within the ranges measured on the real files ---- */

/* NULL when the pair fits its family's measured geometry (docs/tasks.md), else the failed check. */
static const char *geometry_error(Intent u, const int *in, const int *out, int L) {
    Seg r[ARC_MAX_LEN], o[ARC_MAX_LEN];
    int n = segs(in, L, r), no = segs(out, L, o);
    switch (u.family) {
    case ARC_MOVE: GEOM(n == 1); return geom_move(r[0], L, u.param > 3 ? u.param : 3);
    case ARC_RECOLOR: {
        GEOM(IN(L, 12, 33) && IN(n, 2, 5) && IN(r[0].start, 1, 3) && IN(L - r[n - 1].start - r[n - 1].len, 0, 5));
        for (int i = 0; i < n; i++) GEOM(r[i].colour == r[0].colour && r[i].colour != u.param && IN(r[i].len, 1, 6));
        for (int i = 1; i < n; i++) GEOM(IN(r[i].start - r[i - 1].start - r[i - 1].len, 1, 3));
        return NULL;
    }
    case ARC_FLIP: return geom_flip(r, n, L);
    case ARC_FILL:
    case ARC_HOLLOW: return geom_fill(u.family == ARC_FILL, r, n, L);
    case ARC_MIRROR: return geom_mirror(r, n, o, no, L);
    case ARC_DENOISE: return geom_denoise(r, n, L);
    }
    return "unknown family";
}

TEST(tasks_arc_geometry) {
    Task t = get_task("arc");
    int n = test_quick() ? 300 : 3000;
    Examples ex;
    examples_alloc(&t, n, &ex);
    Rng r;
    rng_seed(&r, 14);
    for (int k = 0; k < n_intents(&t); k++) {
        Intent u = intent_at(&t, k);
        char name[32];
        task_intent_format(&t, u, name, sizeof name);
        task_sample(&t, u, task_is_ood(&t, u) ? SPLIT_OOD : SPLIT_TRAIN, &r, n, &ex);
        int min_len = 99, max_len = 0;
        for (int i = 0; i < ex.n; i++) {
            int L = arc_len(&t, &ex, i);
            const char *why = geometry_error(u, ex.tok + (size_t)i * t.seq_len, ex.lab + (size_t)i * t.out_len, L);
            CHECK(!why, "%s example %d: %s", name, i, why);
            if (L < min_len) min_len = L;
            if (L > max_len) max_len = L;
        }
        /* The generator covers its range, not one corner of it. */
        CHECK(max_len - min_len >= 1 && (u.family == ARC_DENOISE || max_len - min_len >= 10), "%s: lengths only %d..%d",
              name, min_len, max_len);
    }
    examples_free(&ex);
}

/* The measured ranges above also hold for the real files of the covered families: the checker
 * is the data's geometry, not the generator's. */
TEST(tasks_arc_geometry_matches_real_files) {
    char dir[1024];
    ArcSet set = {0};
    Err e;
    CHECK(data_dir("1d-arc", dir, sizeof dir, &e) == 0 && arc_load_dir(dir, &set, &e) == 0, "%s", e.msg);
    int checked = 0;
    for (int i = 0; i < set.n; i++) {
        Intent u;
        const ArcPair *p = &set.pairs[i];
        if (!arc_family_intent(p->family, &u)) continue;
        const char *why = geometry_error(u, p->in, p->out, p->len);
        CHECK(!why, "%s %s[%d]: %s", p->path, p->is_test ? "test" : "train", p->index, why);
        checked++;
    }
    CHECK(checked == 1600, "%d real pairs of covered families", checked);
    arc_set_free(&set);
}

/* ---- splits ---- */

/* Draws n examples per split (of all of the task's train intents together, and of its OOD
 * intents), checks task_split_of agrees with the split asked for, and that no input occurs in
 * two splits. */
static void check_disjoint(TestCtx *t_, const char *task, int n) {
    Task t = get_task(task);
    Examples ex;
    examples_alloc(&t, n, &ex);
    Rng r;
    rng_seed(&r, 15);
    uint64_t *keys[3];
    int nk[3] = {0, 0, 0};
    for (Split s = SPLIT_TRAIN; s <= SPLIT_TEST; s++) {
        keys[s] = malloc(sizeof *keys[s] * (size_t)n * (size_t)t.n_train);
        for (int k = 0; k < t.n_train; k++) {
            task_sample(&t, t.train[k], s, &r, n, &ex);
            for (int i = 0; i < ex.n; i++) {
                CHECK(task_split_of(&t, t.train[k], &ex, i) == s, "%s: example in the wrong split", task);
                keys[s][nk[s]++] = input_key(&t, &ex, i);
            }
        }
        qsort(keys[s], (size_t)nk[s], sizeof *keys[s], cmp_u64);
    }
    /* ADDMOD pairs are split per prime, so its keys must include p: check per prime instead. */
    if (t.kind != TASK_ADDMOD) {
        CHECK(n_common(keys[0], nk[0], keys[1], nk[1]) == 0, "%s: train and val share inputs", task);
        CHECK(n_common(keys[0], nk[0], keys[2], nk[2]) == 0, "%s: train and test share inputs", task);
        CHECK(n_common(keys[1], nk[1], keys[2], nk[2]) == 0, "%s: val and test share inputs", task);
    }
    for (int k = 0; k < t.n_ood; k++) {
        task_sample(&t, t.ood[k], SPLIT_OOD, &r, n, &ex);
        for (int i = 0; i < ex.n; i++) CHECK(task_split_of(&t, t.ood[k], &ex, i) == SPLIT_OOD, "%s: OOD split", task);
    }
    for (int s = 0; s < 3; s++) free(keys[s]);
    examples_free(&ex);
}

TEST(tasks_splits_disjoint_sumfirst) { check_disjoint(t_, "sumfirst", test_quick() ? 500 : 3000); }
TEST(tasks_splits_disjoint_arc) { check_disjoint(t_, "arc", test_quick() ? 300 : 2000); }

TEST(tasks_splits_disjoint_addmod) {
    check_disjoint(t_, "addmod", 200);
    Task t = get_task("addmod");
    Rng r;
    rng_seed(&r, 16);
    Examples ex;
    examples_alloc(&t, 2000, &ex);
    for (int k = 0; k < t.n_train; k++) {
        int p = t.train[k].param;
        char *seen = calloc((size_t)(p * p), 1); /* bit s set: pair drawn from split s */
        for (Split s = SPLIT_TRAIN; s <= SPLIT_TEST; s++) {
            task_sample(&t, t.train[k], s, &r, 2000, &ex);
            for (int i = 0; i < ex.n; i++) seen[ex.tok[3 * i] * p + ex.tok[3 * i + 1]] |= (char)(1 << s);
        }
        for (int i = 0; i < p * p; i++)
            CHECK(seen[i] == 0 || seen[i] == 1 || seen[i] == 2 || seen[i] == 4, "p=%d: pair %d in two splits", p, i);
        free(seen);
    }
    examples_free(&ex);
}

/* Each train prime: val and test hold round(10% of p²) pairs each (at least 1), train the rest;
 * the three eval sets partition the p² pairs. OOD primes: all p² pairs are OOD. */
TEST(tasks_addmod_split_sizes) {
    Task t = get_task("addmod");
    int held = 0, total = 0;
    for (int k = 0; k < t.n_train; k++) {
        int p = t.train[k].param, hold = (p * p + 5) / 10 > 0 ? (p * p + 5) / 10 : 1, sizes[3];
        char *seen = calloc((size_t)(p * p), 1);
        for (Split s = SPLIT_TRAIN; s <= SPLIT_TEST; s++) {
            Examples ex;
            sizes[s] = task_eval_set(&t, t.train[k], s, 1 << 20, 5, &ex);
            for (int i = 0; i < ex.n; i++) {
                CHECK(task_split_of(&t, t.train[k], &ex, i) == s, "p=%d: eval pair in wrong split", p);
                seen[ex.tok[3 * i] * p + ex.tok[3 * i + 1]]++;
            }
            examples_free(&ex);
        }
        CHECK(sizes[SPLIT_VAL] == hold && sizes[SPLIT_TEST] == hold && sizes[SPLIT_TRAIN] == p * p - 2 * hold,
              "p=%d: sizes %d/%d/%d, want %d/%d/%d", p, sizes[0], sizes[1], sizes[2], p * p - 2 * hold, hold, hold);
        CHECK(task_train_size(&t, t.train[k]) == sizes[SPLIT_TRAIN], "p=%d: task_train_size %ld, train split %d", p,
              task_train_size(&t, t.train[k]), sizes[SPLIT_TRAIN]);
        for (int i = 0; i < p * p; i++) CHECK(seen[i] == 1, "p=%d: pair %d in %d eval sets", p, i, seen[i]);
        free(seen);
        held += 2 * hold;
        total += p * p;
    }
    CHECK(held > 0.19 * total && held < 0.21 * total, "held out %d of %d", held, total);
    for (int k = 0; k < t.n_ood; k++) {
        Examples ex;
        int p = t.ood[k].param, m = task_eval_set(&t, t.ood[k], SPLIT_OOD, 1 << 20, 5, &ex);
        CHECK(m == p * p, "OOD p=%d: %d pairs", p, m);
        examples_free(&ex);
    }
    /* A smaller max_n gives a subset of that size, from that split. */
    Examples ex;
    Intent u = {0, 97};
    int m = task_eval_set(&t, u, SPLIT_TEST, 100, 5, &ex);
    CHECK(m == 100 && ex.n == 100, "max_n subset: %d", m);
    for (int i = 0; i < ex.n; i++) CHECK(task_split_of(&t, u, &ex, i) == SPLIT_TEST, "subset pair outside test");
    examples_free(&ex);
}

/* intent_mix and hold: mix 0, hold 0 draw the uniform stream of rng_int; ADDMOD at mix 1 draws
 * each prime as often as its share of all training pairs, at mix 0.5 halfway between that and
 * uniform; held intents (17, 41, 71 for hold=3) are never drawn; SUMFIRST (unbounded) is uniform. */
static void check_draws(TestCtx *t_, const Task *t, const double *cdf, Rng *r, float mix, int hold) {
    enum { DRAWS = 200000 };
    int count[100] = {0};
    double total = 0;
    for (int k = 0; k < t->n_train; k++)
        if (!task_held(t, hold, k)) total += task_train_size(t, t->train[k]);
    for (int i = 0; i < DRAWS; i++) count[t->train[task_draw_intent(t, cdf, r)].param]++;
    int n = t->n_train - hold;
    for (int k = 0; k < t->n_train; k++) {
        int p = t->train[k].param;
        double want =
                   task_held(t, hold, k) ? 0 : DRAWS * ((1 - mix) / n + mix * task_train_size(t, t->train[k]) / total),
               sd = sqrt(want) + 1;
        CHECK(fabs(count[p] - want) < 5 * sd, "mix %g hold %d: p=%d drawn %d times, want %.0f", mix, hold, p, count[p],
              want);
    }
    CHECK(count[23] == 0 && count[53] == 0 && count[83] == 0, "an OOD prime was drawn");
}

TEST(tasks_intent_draw) {
    Task t = get_task("addmod"), sf = get_task("sumfirst");
    CHECK(task_intent_cdf(&t, 0.0f, 0.0f, 0) == NULL && task_intent_cdf(&sf, 1.0f, 0.0f, 0) == NULL,
          "expected the uniform draw");
    Rng a, b;
    rng_seed(&a, 9);
    rng_seed(&b, 9);
    for (int i = 0; i < 1000; i++) {
        Intent u = t.train[task_draw_intent(&t, NULL, &a)];
        CHECK(u.param == t.train[rng_int(&b, t.n_train)].param, "uniform draw %d is not rng_int's", i);
    }
    int held[] = {17, 41, 71}, n_held = 0;
    for (int k = 0; k < t.n_train; k++)
        if (task_held(&t, 3, k)) CHECK(n_held < 3 && t.train[k].param == held[n_held++], "held p=%d", t.train[k].param);
    CHECK(n_held == 3, "%d held intents, want 3", n_held);
    const float mixes[] = {1.0f, 0.5f, 0.0f};
    const int holds[] = {0, 3, 3};
    for (int c = 0; c < 3; c++) {
        double *cdf = task_intent_cdf(&t, mixes[c], 0.0f, holds[c]);
        CHECK(cdf && fabs(cdf[t.n_train - 1] - 1) < 1e-12, "mix %g hold %d: no cdf ending at 1", mixes[c], holds[c]);
        if (cdf) check_draws(t_, &t, cdf, &a, mixes[c], holds[c]);
        free(cdf);
    }
}

/* family_mix: 1D-ARC at 1 draws each of its 7 rules as often (a recolour colour 1/56, a move
 * distance 1/28, flip 1/7), at 0.5 halfway from the uniform draw over its 17 intents; ADDMOD (one
 * family) draws as without it, through a cdf. */
TEST(tasks_intent_draw_by_family) {
    Task t = get_task("arc"), am = get_task("addmod");
    enum { DRAWS = 200000 };
    int fams = 0, size[16] = {0};
    for (int k = 0; k < t.n_train; k++) fams += size[t.train[k].family]++ == 0;
    CHECK(fams == 7 && t.n_train == 17, "1D-ARC: %d families over %d train intents", fams, t.n_train);
    Rng r;
    rng_seed(&r, 3);
    const float fm[] = {1.0f, 0.5f};
    for (int c = 0; c < 2; c++) {
        double *cdf = task_intent_cdf(&t, 0.0f, fm[c], 0);
        CHECK(cdf && fabs(cdf[t.n_train - 1] - 1) < 1e-12, "family_mix %g: no cdf ending at 1", fm[c]);
        if (!cdf) continue;
        int count[32] = {0};
        for (int i = 0; i < DRAWS; i++) {
            Intent u = t.train[task_draw_intent(&t, cdf, &r)];
            for (int k = 0; k < t.n_train; k++)
                count[k] += t.train[k].family == u.family && t.train[k].param == u.param;
        }
        for (int k = 0; k < t.n_train; k++) {
            double want = DRAWS * ((1 - fm[c]) / t.n_train + fm[c] / (fams * (double)size[t.train[k].family])),
                   sd = sqrt(want) + 1;
            CHECK(fabs(count[k] - want) < 5 * sd, "family_mix %g: intent %d drawn %d times, want %.0f", fm[c], k,
                  count[k], want);
        }
        free(cdf);
    }
    double *one = task_intent_cdf(&am, 0.0f, 1.0f, 0);
    for (int k = 0; one && k < am.n_train; k++)
        CHECK(fabs(one[k] - (k + 1.0) / am.n_train) < 1e-12, "ADDMOD family_mix 1: cdf[%d] %g", k, one[k]);
    CHECK(one != NULL, "ADDMOD family_mix 1: no cdf");
    free(one);
    double *held = task_intent_cdf(&am, 0.0f, 1.0f, 3);
    for (int k = 0; held && k < am.n_train; k++)
        CHECK(!task_held(&am, 3, k) || (k > 0 ? held[k] == held[k - 1] : held[k] == 0), "a held prime drawn");
    free(held);
    task_free(&t);
    task_free(&am);
}

/* ---- determinism ---- */

static int same_examples(const Task *t, const Examples *a, const Examples *b) {
    if (a->n != b->n) return 0;
    if (a->x)
        return !memcmp(a->x, b->x, sizeof *a->x * (size_t)a->n * t->in_dim) &&
               !memcmp(a->y, b->y, sizeof *a->y * (size_t)a->n);
    return !memcmp(a->tok, b->tok, sizeof *a->tok * (size_t)a->n * t->seq_len) &&
           !memcmp(a->lab, b->lab, sizeof *a->lab * (size_t)a->n * t->out_len);
}

TEST(tasks_same_seed_same_data) {
    const char *names[] = {"sumfirst", "addmod", "arc"};
    for (int k = 0; k < 3; k++) {
        Task t = get_task(names[k]);
        for (int j = 0; j < n_intents(&t); j++) {
            Intent u = intent_at(&t, j);
            /* Train: the one split with enough distinct inputs for every intent (ADDMOD p=2 has
             * a single val pair, so two seeds could not differ there). */
            Split s = task_is_ood(&t, u) ? SPLIT_OOD : SPLIT_TRAIN;
            Examples a, b, c;
            examples_alloc(&t, 64, &a);
            examples_alloc(&t, 64, &b);
            examples_alloc(&t, 64, &c);
            Rng r1, r2, r3;
            rng_seed(&r1, 99);
            rng_seed(&r2, 99);
            rng_seed(&r3, 100);
            task_sample(&t, u, s, &r1, 64, &a);
            task_sample(&t, u, s, &r2, 64, &b);
            task_sample(&t, u, s, &r3, 64, &c);
            CHECK(same_examples(&t, &a, &b), "%s intent %d: same seed, different data", names[k], j);
            CHECK(!same_examples(&t, &a, &c), "%s intent %d: different seeds, same data", names[k], j);
            examples_free(&a);
            examples_free(&b);
            examples_free(&c);
            Examples e1, e2, e3;
            s = task_is_ood(&t, u) ? SPLIT_OOD : SPLIT_VAL;
            task_eval_set(&t, u, s, 200, 7, &e1);
            task_eval_set(&t, u, s, 200, 7, &e2);
            CHECK(same_examples(&t, &e1, &e2), "%s intent %d: eval set not deterministic", names[k], j);
            if (!task_is_ood(&t, u)) {
                task_eval_set(&t, u, SPLIT_TEST, 200, 7, &e3);
                CHECK(!same_examples(&t, &e1, &e3), "%s intent %d: val and test eval sets equal", names[k], j);
                examples_free(&e3);
            }
            examples_free(&e1);
            examples_free(&e2);
        }
    }
}

/* Evaluation sets have distinct inputs, all from the split asked for: max_n of them, or the
 * whole split when it is smaller (1D-ARC move/fill/hollow/mirror rows are a few thousand
 * distinct padded rows in all, so their IID-test split holds a few hundred). */
TEST(tasks_eval_sets_distinct) {
    const char *names[] = {"sumfirst", "arc"};
    for (int k = 0; k < 2; k++) {
        Task t = get_task(names[k]);
        for (int j = 0; j < n_intents(&t); j++) {
            Intent u = intent_at(&t, j);
            Split s = task_is_ood(&t, u) ? SPLIT_OOD : SPLIT_TEST;
            Examples ex;
            int n = task_eval_set(&t, u, s, 500, 3, &ex);
            uint64_t *keys = malloc(sizeof *keys * (size_t)n);
            for (int i = 0; i < n; i++) {
                keys[i] = input_key(&t, &ex, i);
                CHECK(task_split_of(&t, u, &ex, i) == s, "%s intent %d: eval example outside its split", names[k], j);
            }
            qsort(keys, (size_t)n, sizeof *keys, cmp_u64);
            for (int i = 1; i < n; i++)
                CHECK(keys[i] != keys[i - 1], "%s intent %d: duplicate eval input", names[k], j);
            CHECK(n == 500 || (t.kind == TASK_ARC && n >= 200), "%s intent %d: eval set of %d", names[k], j, n);
            if (n < 500) { /* then it is (nearly) the whole split: fresh draws are in it */
                Examples more;
                examples_alloc(&t, 5000, &more);
                Rng r;
                rng_seed(&r, 77);
                task_sample(&t, u, s, &r, 5000, &more);
                int missing = 0;
                for (int i = 0; i < more.n; i++) {
                    uint64_t key = input_key(&t, &more, i);
                    missing += !bsearch(&key, keys, (size_t)n, sizeof *keys, cmp_u64);
                }
                CHECK(missing <= 5, "%s intent %d: eval set of %d misses %d of 5000 fresh draws", names[k], j, n,
                      missing);
                examples_free(&more);
            }
            free(keys);
            examples_free(&ex);
        }
    }
}

/* ---- intents ---- */

TEST(tasks_intent_parse_format) {
    const char *names[] = {"sumfirst", "addmod", "arc"};
    for (int k = 0; k < 3; k++) { /* every intent survives format -> parse */
        Task t = get_task(names[k]);
        for (int j = 0; j < n_intents(&t); j++) {
            Intent u = intent_at(&t, j), v;
            char buf[64];
            Err e;
            task_intent_format(&t, u, buf, sizeof buf);
            CHECK(task_intent_parse(&t, buf, &v, &e) == 0 && v.family == u.family && v.param == u.param,
                  "%s: '%s' does not round-trip", names[k], buf);
        }
    }
    Task s = get_task("sumfirst"), a = get_task("addmod"), r = get_task("arc");
    struct {
        const Task *t;
        const char *text;
        int family, param;
    } good[] = {{&s, "n=4", 0, 4},
                {&s, "7", 0, 7},
                {&s, " N = 10 ", 0, 10},
                {&a, "p=83", 0, 83},
                {&a, "2", 0, 2},
                {&r, "move:k=3", ARC_MOVE, 3},
                {&r, "MOVE : K = 5", ARC_MOVE, 5},
                {&r, "move:1", ARC_MOVE, 1},
                {&r, "recolor:c=5", ARC_RECOLOR, 5},
                {&r, "flip", ARC_FLIP, -1},
                {&r, "Denoise", ARC_DENOISE, -1},
                {&r, "hollow", ARC_HOLLOW, -1}};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        Intent u;
        Err e;
        int rc = task_intent_parse(good[i].t, good[i].text, &u, &e);
        CHECK(rc == 0 && u.family == good[i].family && u.param == good[i].param, "'%s' rejected or misread: %s",
              good[i].text, rc ? e.msg : "");
    }
    /* Rejections say what is wrong and list what is valid. */
    struct {
        const Task *t;
        const char *text, *want1, *want2;
    } bad[] = {{&s, "n=0", "n=1..10", "OOD 4,7"},
               {&s, "n=11", "n=1..10", "train 1,2,3"},
               {&s, "n=four", "n=four", "n=1..10"},
               {&s, "", "n=1..10", "sumfirst"},
               {&s, "n=-3", "n=1..10", "sumfirst"},
               {&a, "p=4", "prime below 100", "OOD 23,53,83"},
               {&a, "p=101", "prime below 100", "97"},
               {&a, "q=5", "prime below 100", "q=5"},
               {&r, "rotate", "unknown 1D-ARC intent 'rotate'", "move:k=1..5"},
               {&r, "move", "move needs k=1..5", "recolor:c=1..9"},
               {&r, "move:k=6", "move needs k=1..5", "denoise"},
               {&r, "move:k=0", "move needs k=1..5", "flip"},
               {&r, "move:c=2", "move needs k=1..5", "move:k=1"},
               {&r, "recolor:c=0", "recolor needs c=1..9", "recolor:c=1"},
               {&r, "recolor:c=10", "recolor needs c=1..9", "mirror"},
               {&r, "flip:k=1", "flip takes no parameter", "fill"}};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        Intent u;
        Err e = {{0}};
        int rc = task_intent_parse(bad[i].t, bad[i].text, &u, &e);
        CHECK(rc == -1, "'%s' accepted", bad[i].text);
        CHECK(strstr(e.msg, bad[i].want1) && strstr(e.msg, bad[i].want2), "'%s': message '%s' lacks '%s' / '%s'",
              bad[i].text, e.msg, bad[i].want1, bad[i].want2);
    }
}

/* ---- features ---- */

TEST(tasks_features) {
    const char *names[] = {"sumfirst", "addmod", "arc"};
    int want_dim[] = {1, 3, 19};
    for (int k = 0; k < 3; k++) {
        Task t = get_task(names[k]);
        CHECK(t.n_feat == want_dim[k], "%s: n_feat %d", names[k], t.n_feat);
        int n = n_intents(&t);
        float *f = malloc(sizeof *f * (size_t)n * (size_t)t.n_feat);
        for (int j = 0; j < n; j++) {
            task_features(&t, intent_at(&t, j), f + (size_t)j * t.n_feat);
            for (int d = 0; d < t.n_feat; d++)
                CHECK(f[(size_t)j * t.n_feat + d] >= 0 && f[(size_t)j * t.n_feat + d] <= 1, "%s: feature out of [0,1]",
                      names[k]);
            for (int i = 0; i < j; i++)
                CHECK(memcmp(f + (size_t)i * t.n_feat, f + (size_t)j * t.n_feat, sizeof *f * (size_t)t.n_feat),
                      "%s: intents %d and %d share features", names[k], i, j);
        }
        free(f);
    }
    Task t = get_task("sumfirst");
    float f[32];
    task_features(&t, (Intent){0, 4}, f);
    CHECK_NEAR(f[0], 0.4, 1e-6);
    t = get_task("addmod");
    task_features(&t, (Intent){0, 83}, f);
    CHECK_NEAR(f[0], 0.83, 1e-6);
    CHECK_NEAR(f[1], 2.0 / 83, 1e-6);
    t = get_task("arc");
    task_features(&t, (Intent){ARC_MOVE, 3}, f);
    CHECK(f[ARC_MOVE] == 1 && f[ARC_RECOLOR] == 0, "move one-hot");
    CHECK_NEAR(f[ARC_N_FAMILIES], 0.6, 1e-6);
    task_features(&t, (Intent){ARC_RECOLOR, 5}, f);
    CHECK(f[ARC_RECOLOR] == 1 && f[ARC_N_FAMILIES] == 0 && f[ARC_N_FAMILIES + 1 + 5] == 1, "recolor one-hot");
    CHECK_NEAR(f[ARC_N_FAMILIES + 1 + ARC_COLOURS], 5.0 / 9, 1e-6);
    task_features(&t, (Intent){ARC_FLIP, -1}, f);
    float sum = 0;
    for (int d = 0; d < t.n_feat; d++) sum += f[d];
    CHECK(f[ARC_FLIP] == 1 && sum == 1, "flip: only its one-hot");
}

/* ---- scoring ---- */

TEST(tasks_correct) {
    Task t = get_task("sumfirst");
    Examples ex;
    examples_alloc(&t, 1, &ex);
    ex.n = 1;
    ex.y[0] = 9;
    float p[1];
    float preds[] = {9.0f, 9.49f, 8.51f, 9.51f, 8.49f, -9.0f, NAN};
    int want[] = {1, 1, 1, 0, 0, 0, 0};
    for (int i = 0; i < 7; i++) {
        p[0] = preds[i];
        CHECK(task_correct(&t, p, &ex, 0) == want[i], "sumfirst pred %g", preds[i]);
    }
    examples_free(&ex);

    t = get_task("addmod");
    examples_alloc(&t, 1, &ex);
    Rng r;
    rng_seed(&r, 1);
    task_sample(&t, (Intent){0, 97}, SPLIT_TRAIN, &r, 1, &ex);
    float logits[100] = {0};
    logits[ex.lab[0]] = 1;
    CHECK(task_correct(&t, logits, &ex, 0), "addmod right argmax");
    logits[(ex.lab[0] + 1) % 100] = 2;
    CHECK(!task_correct(&t, logits, &ex, 0), "addmod wrong argmax");
    examples_free(&ex);

    t = get_task("arc");
    examples_alloc(&t, 1, &ex);
    task_sample(&t, (Intent){ARC_FLIP, -1}, SPLIT_TRAIN, &r, 1, &ex);
    float *lg = calloc((size_t)t.out_len * t.n_classes, sizeof *lg);
    int L = arc_len(&t, &ex, 0);
    for (int j = 0; j < t.out_len; j++) lg[j * t.n_classes + (ex.lab[j] >= 0 ? ex.lab[j] : 3)] = 1;
    CHECK(task_correct(&t, lg, &ex, 0), "arc all cells right");
    if (L < t.out_len) { /* a wrong cell beyond the row is ignored */
        lg[(t.out_len - 1) * t.n_classes + 3] = 0;
        lg[(t.out_len - 1) * t.n_classes + 7] = 1;
        CHECK(task_correct(&t, lg, &ex, 0), "arc padding cell counted");
    }
    lg[(L - 1) * t.n_classes + (ex.lab[L - 1] + 1) % 10] = 5; /* one wrong cell inside */
    CHECK(!task_correct(&t, lg, &ex, 0), "arc one wrong cell accepted");
    free(lg);
    examples_free(&ex);
}

/* Which OOD intents are ordinal: every one of SUMFIRST and ADDMOD; on 1D-ARC move:k=3, not the
 * recolor to an unseen colour; no train intent is. */
TEST(tasks_ood_ordinal) {
    Task t;
    Err e = {{0}};
    const char *names[] = {"sumfirst", "addmod", "arc"};
    for (int k = 0; k < 3; k++) {
        CHECK(!task_get(names[k], &t, &e), "%s", e.msg);
        int ord = 0;
        for (int i = 0; i < t.n_ood; i++) ord += task_ood_ordinal(&t, t.ood[i]);
        for (int i = 0; i < t.n_train; i++)
            CHECK(!task_ood_ordinal(&t, t.train[i]), "%s: a train intent counted as OOD", names[k]);
        CHECK(ord == (k == 2 ? 1 : t.n_ood), "%s: %d ordinal OOD intents of %d", names[k], ord, t.n_ood);
        if (k == 2) {
            Intent u;
            CHECK(!task_intent_parse(&t, "move:k=3", &u, &e) && task_ood_ordinal(&t, u),
                  "arc: move:k=3 is not ordinal");
        }
    }
}
