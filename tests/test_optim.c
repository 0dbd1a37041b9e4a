/* Optimizer and friends: AdamW one and two steps against the formulas written out by hand (and
 * against torch.optim.AdamW's numbers), decay only where the view asks for it, gradient clipping,
 * the gradient norm's independence of the thread count, Grokfast's gradient filter, the warmup +
 * cosine schedule, and the RNG (known answers, determinism, ranges, uniformity). */
#include "test.h"
#include "engine/adamw.h"
#include "engine/params.h"
#include "engine/rng.h"
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

/* ================================ AdamW ================================ */

/* Three views: "w.weight" [2,3] (a matrix: decayed), "b" [3] (not decayed), "m.weight" [2,2] (a matrix
 * whose decay the caller switched off). */
static const float W0[6] = {0.5f, -1.0f, 2.0f, 0.0f, -0.25f, 1.5f}, B0[3] = {0.1f, -0.2f, 0.3f},
                   M0[4] = {1.0f, -2.0f, 0.5f, 0.25f};
static const float GW1[6] = {0.1f, -0.3f, 0.0f, 2.0f, -1e-3f, 0.7f}, GB1[3] = {1.0f, 0.0f, -0.5f},
                   GM1[4] = {0.2f, 0.2f, -0.2f, 1e-4f};
static const float GW2[6] = {-0.2f, 0.1f, 0.4f, 0.5f, 0.0f, -0.7f}, GB2[3] = {0.3f, -0.6f, 0.5f},
                   GM2[4] = {0.0f, 1.0f, -1.0f, 2.0f};

static void adam_setup(ParamSet *ps, int *iw, int *ib, int *im) {
    params_init(ps);
    *iw = params_add(ps, "w.weight", SHAPE(2, 3));
    *ib = params_add(ps, "b", SHAPE(3));
    *im = params_add(ps, "m.weight", SHAPE(2, 2));
    params_finalize(ps);
    ps->views[*im].decay = 0;
    memcpy(params_data(ps, *iw), W0, sizeof W0);
    memcpy(params_data(ps, *ib), B0, sizeof B0);
    memcpy(params_data(ps, *im), M0, sizeof M0);
}
static void set_grads(ParamSet *ps, int iw, int ib, int im, const float *gw, const float *gb, const float *gm) {
    memcpy(ps->grad + ps->views[iw].off, gw, 6 * sizeof(float));
    memcpy(ps->grad + ps->views[ib].off, gb, 3 * sizeof(float));
    memcpy(ps->grad + ps->views[im].off, gm, 4 * sizeof(float));
}

/* The update, in double, exactly as in Loshchilov & Hutter / torch.optim.AdamW:
 *   m_t = b1 m + (1 - b1) g          v_t = b2 v + (1 - b2) g^2
 *   mhat = m_t / (1 - b1^t)           vhat = v_t / (1 - b2^t)
 *   p  <- p - lr * (wd * p + mhat / (sqrt(vhat) + eps))      (wd = 0 for views without decay) */
static void adam_by_hand(double *p, double *m, double *v, const float *g, int n, int t, double lr, double wd) {
    const double b1 = 0.9, b2 = 0.999, eps = 1e-8;
    for (int k = 0; k < n; k++) {
        m[k] = b1 * m[k] + (1 - b1) * g[k];
        v[k] = b2 * v[k] + (1 - b2) * (double)g[k] * g[k];
        double mhat = m[k] / (1 - pow(b1, t)), vhat = v[k] / (1 - pow(b2, t));
        p[k] -= lr * (wd * p[k] + mhat / (sqrt(vhat) + eps));
    }
}

TEST(adamw_one_and_two_steps_by_hand) {
    ParamSet ps;
    int iw, ib, im;
    adam_setup(&ps, &iw, &ib, &im);
    CHECK(ps.views[iw].decay == 1 && ps.views[ib].decay == 0, "default decay flags: w %d, b %d", ps.views[iw].decay,
          ps.views[ib].decay);
    AdamW o = adamw_default(0.1f);
    CHECK(o.beta1 == 0.9f && o.beta2 == 0.999f && o.eps == 1e-8f && o.weight_decay == 0.1f && o.t == 0,
          "adamw_default");
    const double lr = 0.01;
    double p[3][6], m[3][6] = {{0}}, v[3][6] = {{0}};
    const float *init[3] = {W0, B0, M0};
    int n[3] = {6, 3, 4}, idx[3] = {iw, ib, im};
    double wd[3] = {0.1, 0.0, 0.0};
    for (int j = 0; j < 3; j++)
        for (int k = 0; k < n[j]; k++) p[j][k] = init[j][k];

    set_grads(&ps, iw, ib, im, GW1, GB1, GM1);
    adamw_step(&o, &ps, (float)lr);
    CHECK(o.t == 1, "t = %ld after one step", o.t);
    adam_by_hand(p[0], m[0], v[0], GW1, 6, 1, lr, wd[0]);
    adam_by_hand(p[1], m[1], v[1], GB1, 3, 1, lr, wd[1]);
    adam_by_hand(p[2], m[2], v[2], GM1, 4, 1, lr, wd[2]);
    for (int j = 0; j < 3; j++)
        for (int k = 0; k < n[j]; k++) {
            long off = ps.views[idx[j]].off + k;
            CHECK_NEAR(ps.data[off], p[j][k], 2e-7 * fmax(1, fabs(p[j][k])));
            CHECK_NEAR(ps.m[off], m[j][k], 1e-7);
            CHECK_NEAR(ps.v[off], v[j][k], 3e-5 * v[j][k] + 1e-12); /* 1 - 0.999f = 0.00099998713 in float */
        }
    /* Step 1 moves every coordinate with a non-zero gradient by about lr (mhat/sqrt(vhat) = sign g):
     * w[3] = 0 with g = 2 -> -0.01; a zero gradient gives no Adam step, only decay (w[2] = 2 -> 1.998). */
    CHECK_NEAR(params_data(&ps, iw)[3], -0.01, 1e-7);
    CHECK_NEAR(params_data(&ps, iw)[2], 2.0 - 0.01 * 0.1 * 2.0, 1e-6);
    CHECK(params_data(&ps, ib)[1] == B0[1], "b[1] with zero gradient and no decay moved to %g",
          params_data(&ps, ib)[1]);
    /* torch.optim.AdamW(lr=0.01, weight_decay=0.1 for w, 0 for b and m), float32, after step 1 */
    static const float t1w[6] = {0.489500016f, -0.989000022f, 1.99800003f, -0.00999999978f, -0.239750102f, 1.4885f};
    static const float t1b[3] = {0.0900000036f, -0.200000003f, 0.310000002f},
                       t1m[4] = {0.99000001f, -2.00999999f, 0.50999999f, 0.240000993f};
    for (int k = 0; k < 6; k++) CHECK_NEAR(params_data(&ps, iw)[k], t1w[k], 1e-6);
    for (int k = 0; k < 3; k++) CHECK_NEAR(params_data(&ps, ib)[k], t1b[k], 1e-6);
    for (int k = 0; k < 4; k++) CHECK_NEAR(params_data(&ps, im)[k], t1m[k], 1e-6);

    set_grads(&ps, iw, ib, im, GW2, GB2, GM2);
    adamw_step(&o, &ps, (float)lr);
    CHECK(o.t == 2, "t = %ld after two steps", o.t);
    adam_by_hand(p[0], m[0], v[0], GW2, 6, 2, lr, wd[0]);
    adam_by_hand(p[1], m[1], v[1], GB2, 3, 2, lr, wd[1]);
    adam_by_hand(p[2], m[2], v[2], GM2, 4, 2, lr, wd[2]);
    for (int j = 0; j < 3; j++)
        for (int k = 0; k < n[j]; k++) {
            long off = ps.views[idx[j]].off + k;
            CHECK_NEAR(ps.data[off], p[j][k], 5e-7 * fmax(1, fabs(p[j][k])));
            CHECK_NEAR(ps.m[off], m[j][k], 1e-7);
            CHECK_NEAR(ps.v[off], v[j][k], 3e-5 * v[j][k] + 1e-12); /* 1 - 0.999f = 0.00099998713 in float */
        }
    static const float t2w[6] = {0.492671549f, -0.984008849f, 1.98856068f, -0.0182959735f, -0.232809871f, 1.48753786f};
    static const float t2b[3] = {0.0814430341f, -0.192558631f, 0.309473693f},
                       t2m[4] = {0.983299434f, -2.01861048f, 0.518610477f, 0.232559294f};
    for (int k = 0; k < 6; k++) CHECK_NEAR(params_data(&ps, iw)[k], t2w[k], 1e-6);
    for (int k = 0; k < 3; k++) CHECK_NEAR(params_data(&ps, ib)[k], t2b[k], 1e-6);
    for (int k = 0; k < 4; k++) CHECK_NEAR(params_data(&ps, im)[k], t2m[k], 1e-6);
    params_free(&ps);
}

TEST(adamw_decay_only_where_asked) {
    /* zero gradients: the only change is decoupled decay p <- p (1 - lr wd), on decayed views only */
    ParamSet ps;
    int iw, ib, im;
    adam_setup(&ps, &iw, &ib, &im);
    params_zero_grad(&ps);
    AdamW o = adamw_default(0.5f);
    adamw_step(&o, &ps, 0.1f);
    for (int k = 0; k < 6; k++) CHECK_NEAR(params_data(&ps, iw)[k], W0[k] * (1 - 0.1 * 0.5), 1e-7);
    for (int k = 0; k < 3; k++) CHECK(params_data(&ps, ib)[k] == B0[k], "b[%d] decayed", k);
    for (int k = 0; k < 4; k++) CHECK(params_data(&ps, im)[k] == M0[k], "m[%d] decayed though decay = 0", k);
    /* lr 0 changes no parameter but still advances the moments */
    set_grads(&ps, iw, ib, im, GW1, GB1, GM1);
    float before[13];
    memcpy(before, ps.data, sizeof before);
    adamw_step(&o, &ps, 0.0f);
    CHECK(memcmp(before, ps.data, sizeof before) == 0, "lr 0 moved parameters");
    CHECK_NEAR(ps.m[ps.views[iw].off + 3], 0.1 * 2.0, 1e-7);
    params_free(&ps);
}

TEST(adamw_large_view_parallel_matches_serial) {
    /* a view over 65536 elements takes the OpenMP path; it must equal the per-element formula */
    ParamSet ps;
    params_init(&ps);
    int i = params_add(&ps, "big.weight", SHAPE(300, 300));
    params_finalize(&ps);
    Rng r;
    rng_seed(&r, 3);
    params_fill_normal(&ps, i, &r, 1.0f);
    for (long k = 0; k < ps.n; k++) ps.grad[k] = rng_normal(&r);
    float *p0 = xmalloc(ps.n * sizeof(float));
    memcpy(p0, ps.data, ps.n * sizeof(float));
    AdamW o = adamw_default(0.01f);
    adamw_step(&o, &ps, 1e-3f);
    long bad = 0;
    for (long k = 0; k < ps.n; k++) {
        double g = ps.grad[k], mh = g, vh = g * g; /* step 1: mhat = g, vhat = g^2 */
        double want = p0[k] - 1e-3 * (0.01 * p0[k] + mh / (sqrt(vh) + 1e-8));
        if (fabs(ps.data[k] - want) > 1e-6 * fmax(1, fabs(want))) bad++;
    }
    CHECK(bad == 0, "%ld of %ld elements off", bad, ps.n);
    free(p0);
    params_free(&ps);
}

/* ================================ clipping and schedule ================================ */

TEST(clip_grad_norm_global) {
    ParamSet ps;
    params_init(&ps);
    int a = params_add(&ps, "a", SHAPE(1)), b = params_add(&ps, "b", SHAPE(1, 1));
    params_finalize(&ps);
    ps.grad[ps.views[a].off] = 3;
    ps.grad[ps.views[b].off] = -4; /* global norm 5 across views */
    float n = clip_grad_norm(&ps, 10.0f);
    CHECK_NEAR(n, 5.0, 1e-6);
    CHECK(ps.grad[0] == 3 && ps.grad[1] == -4, "clipped below the limit: %g %g", ps.grad[0], ps.grad[1]);
    n = clip_grad_norm(&ps, 4.0f); /* just above the limit */
    CHECK_NEAR(n, 5.0, 1e-6);
    CHECK_NEAR(ps.grad[0], 2.4, 1e-5);
    CHECK_NEAR(ps.grad[1], -3.2, 1e-5);
    n = clip_grad_norm(&ps, 1.0f);
    CHECK_NEAR(n, 4.0, 1e-5);
    CHECK_NEAR(ps.grad[0], 0.6, 1e-6);
    CHECK_NEAR(ps.grad[1], -0.8, 1e-6);
    double after = sqrt((double)ps.grad[0] * ps.grad[0] + (double)ps.grad[1] * ps.grad[1]);
    CHECK(after <= 1.0 && after > 0.999999, "norm after clipping %.9g", after);
    params_zero_grad(&ps);
    n = clip_grad_norm(&ps, 1.0f);
    CHECK(n == 0 && ps.grad[0] == 0 && ps.grad[1] == 0, "zero gradients: norm %g", n);
    params_free(&ps);
}

/* Many blocks of the parallel sum: the norm of a double sum, and the same bits on 1 and 2 threads. */
TEST(clip_grad_norm_thread_count_independent) {
    ParamSet ps;
    params_init(&ps);
    params_add(&ps, "big.weight", SHAPE(301, 299)); /* 89,999: 11 blocks, the last one short */
    params_finalize(&ps);
    Rng r;
    rng_seed(&r, 5);
    float *g0 = xmalloc(ps.n * sizeof(float));
    double want = 0;
    for (long k = 0; k < ps.n; k++) {
        g0[k] = rng_normal(&r);
        want += (double)g0[k] * g0[k];
    }
    want = sqrt(want);
    float norm[2];
    int same = 1;
    float *g1 = xmalloc(ps.n * sizeof(float));
#ifdef _OPENMP
    int nt = omp_get_max_threads();
#endif
    for (int t = 0; t < 2; t++) {
#ifdef _OPENMP
        omp_set_num_threads(t + 1);
#endif
        memcpy(ps.grad, g0, ps.n * sizeof(float));
        norm[t] = clip_grad_norm(&ps, 100.0f); /* below the norm (~300): scaled */
        if (t == 0) memcpy(g1, ps.grad, ps.n * sizeof(float));
        else same = !memcmp(g1, ps.grad, ps.n * sizeof(float));
    }
#ifdef _OPENMP
    omp_set_num_threads(nt);
#endif
    CHECK_NEAR(norm[0], want, 1e-6 * want);
    CHECK(norm[0] == norm[1] && same, "1 and 2 threads: norms %.9g and %.9g, gradients %s", norm[0], norm[1],
          same ? "equal" : "differ");
    CHECK_NEAR(ps.grad[12345], g0[12345] * 100.0 / (want + 1e-6), 1e-6);
    free(g0);
    free(g1);
    params_free(&ps);
}

/* Grokfast-EMA: the first step starts the average at the gradient (g' = (1 + λ) g), later steps
 * decay it; the large view takes the parallel path. */
TEST(grokfast_ema_by_hand) {
    ParamSet ps;
    params_init(&ps);
    params_add(&ps, "a", SHAPE(3));
    params_add(&ps, "big.weight", SHAPE(300, 300));
    params_finalize(&ps);
    float *ema = xcalloc(ps.n, sizeof(float));
    const float alpha = 0.9f, lambda = 2.0f;
    Rng r;
    rng_seed(&r, 9);
    double *e = xcalloc(ps.n, sizeof(double));
    long bad = 0;
    for (int step = 0; step < 3; step++) {
        float *g = xmalloc(ps.n * sizeof(float));
        for (long k = 0; k < ps.n; k++) ps.grad[k] = g[k] = rng_normal(&r);
        grad_filter_ema(&ps, ema, alpha, lambda, step == 0);
        for (long k = 0; k < ps.n; k++) {
            e[k] = step == 0 ? g[k] : alpha * e[k] + (1.0 - alpha) * g[k];
            double want = g[k] + lambda * e[k];
            if (fabs(ps.grad[k] - want) > 1e-5 * fmax(1, fabs(want)) ||
                fabs(ema[k] - e[k]) > 1e-5 * fmax(1, fabs(e[k])))
                bad++;
        }
        if (step == 0) CHECK_NEAR(ps.grad[1], 3.0 * g[1], 1e-6 * fmax(1, fabs(g[1])));
        free(g);
    }
    CHECK(bad == 0, "%ld of %ld elements off over 3 steps", bad, 3 * ps.n);
    free(e);
    free(ema);
    params_free(&ps);
}

TEST(lr_schedule_warmup_cosine) {
    const float mx = 1e-3f, mn = 1e-5f;
    /* warmup 10 steps: (step + 1) / warmup of the peak */
    CHECK_NEAR(lr_schedule(0, 10, 110, mx, mn), 1e-4, 1e-10);
    CHECK_NEAR(lr_schedule(4, 10, 110, mx, mn), 5e-4, 1e-10);
    CHECK_NEAR(lr_schedule(9, 10, 110, mx, mn), 1e-3, 1e-10);
    /* cosine from the peak at the end of warmup to the floor at total; midpoint halfway */
    CHECK_NEAR(lr_schedule(10, 10, 110, mx, mn), 1e-3, 1e-10);
    CHECK_NEAR(lr_schedule(60, 10, 110, mx, mn), (1e-3 + 1e-5) / 2, 1e-10);
    CHECK_NEAR(lr_schedule(35, 10, 110, mx, mn), mn + 0.5 * (mx - mn) * (1 + cos(M_PI * 0.25)), 1e-10);
    CHECK_NEAR(lr_schedule(110, 10, 110, mx, mn), 1e-5, 1e-12);
    CHECK_NEAR(lr_schedule(500, 10, 110, mx, mn), 1e-5, 1e-12);
    /* no warmup: starts at the peak */
    CHECK_NEAR(lr_schedule(0, 0, 100, mx, mn), 1e-3, 1e-10);
    /* increasing during warmup, non-increasing after */
    float prev = 0;
    int bad_up = 0, bad_down = 0;
    for (long s = 0; s < 120; s++) {
        float lr = lr_schedule(s, 10, 110, mx, mn);
        if (s < 10 && !(lr > prev)) bad_up++;
        if (s >= 10 && lr > prev + 1e-12f) bad_down++;
        if (lr < mn - 1e-12f || lr > mx + 1e-12f) bad_down++;
        prev = lr;
    }
    CHECK(bad_up == 0 && bad_down == 0, "schedule shape: %d / %d steps wrong", bad_up, bad_down);
}

/* ================================ RNG ================================ */

TEST(rng_known_answers_xoshiro256ss) {
    /* xoshiro256** seeded by splitmix64 (reference algorithms, computed independently in Python) */
    Rng r;
    rng_seed(&r, 0);
    CHECK(rng_u64(&r) == 0x99ec5f36cb75f2b4ULL, "seed 0, draw 1");
    CHECK(rng_u64(&r) == 0xbf6e1f784956452aULL, "seed 0, draw 2");
    CHECK(rng_u64(&r) == 0x1a5f849d4933e6e0ULL, "seed 0, draw 3");
    rng_seed(&r, 42);
    CHECK(rng_u64(&r) == 0x15780b2e0c2ec716ULL, "seed 42, draw 1");
    CHECK(rng_u64(&r) == 0x6104d9866d113a7eULL, "seed 42, draw 2");
    CHECK(rng_u64(&r) == 0xae17533239e499a1ULL, "seed 42, draw 3");
    for (int i = 3; i < 99; i++) rng_u64(&r);
    CHECK(rng_u64(&r) == 0x0e67446e763165cdULL, "seed 42, draw 100");
    /* rng_int = u64 % n after rejection; rng_uniform = (u64 >> 11) * 2^-53 */
    rng_seed(&r, 7);
    static const int ints[5] = {4, 4, 8, 4, 4};
    for (int i = 0; i < 5; i++) {
        int k = rng_int(&r, 10);
        CHECK(k == ints[i], "seed 7 rng_int(10) draw %d = %d, want %d", i, k, ints[i]);
    }
    CHECK(rng_uniform(&r) == 0.872773938745132, "seed 7 rng_uniform after five ints");
}

TEST(rng_streams_deterministic_and_distinct) {
    Rng a, b, c;
    rng_seed(&a, 7);
    rng_seed(&b, 7);
    rng_seed(&c, 8);
    int same = 1, diff = 0;
    for (int i = 0; i < 1000; i++) {
        uint64_t x = rng_u64(&a), y = rng_u64(&b), z = rng_u64(&c);
        same &= x == y;
        diff += x != z;
    }
    CHECK(same, "same seed gave different streams");
    CHECK(diff == 1000, "different seeds agree on %d of 1000 draws", 1000 - diff);
    /* forks: deterministic, distinct per tag and from the parent, and leave the parent untouched */
    rng_seed(&a, 7);
    Rng saved = a;
    Rng f1 = rng_fork(&a, 1), f1b = rng_fork(&a, 1), f2 = rng_fork(&a, 2);
    CHECK(memcmp(&a, &saved, sizeof a) == 0, "rng_fork changed the parent");
    uint64_t p = rng_u64(&a), x1 = rng_u64(&f1), x1b = rng_u64(&f1b), x2 = rng_u64(&f2);
    CHECK(x1 == x1b, "fork with the same tag differs");
    CHECK(x1 != x2 && x1 != p && x2 != p, "fork streams collide");
    /* the float helpers are functions of the stream too */
    rng_seed(&a, 9);
    rng_seed(&b, 9);
    int eq = 1;
    for (int i = 0; i < 100; i++) {
        eq &= rng_uniform(&a) == rng_uniform(&b);
        eq &= rng_normal(&a) == rng_normal(&b);
        eq &= rng_int(&a, 17) == rng_int(&b, 17);
    }
    CHECK(eq, "uniform/normal/int not reproducible");
}

TEST(rng_ranges_and_uniformity) {
    Rng r;
    rng_seed(&r, 2024);
    /* rng_int: in range and uniform (chi-square, 9 degrees of freedom; 40 is p < 1e-5) */
    long cnt[10] = {0};
    int out = 0;
    const int N = 200000;
    for (int i = 0; i < N; i++) {
        int k = rng_int(&r, 10);
        if (k < 0 || k >= 10) out++;
        else cnt[k]++;
    }
    CHECK(out == 0, "%d draws of rng_int(10) out of range", out);
    double chi = 0;
    for (int k = 0; k < 10; k++) chi += (cnt[k] - N / 10.0) * (cnt[k] - N / 10.0) / (N / 10.0);
    CHECK(chi < 40, "rng_int(10) chi-square %.2f", chi);
    /* a non power of two near 2^31 stays in range */
    int big_bad = 0;
    for (int i = 0; i < 10000; i++) {
        int k = rng_int(&r, 2000000011);
        big_bad += k < 0 || k >= 2000000011;
    }
    CHECK(big_bad == 0, "rng_int(2e9) out of range %d times", big_bad);
    int one = 0;
    for (int i = 0; i < 100; i++) one += rng_int(&r, 1);
    CHECK(one == 0, "rng_int(1) returned non-zero");
    /* rng_range is inclusive at both ends */
    int seen_lo = 0, seen_hi = 0, rbad = 0;
    for (int i = 0; i < 10000; i++) {
        int k = rng_range(&r, -3, 3);
        seen_lo |= k == -3;
        seen_hi |= k == 3;
        rbad += k < -3 || k > 3;
    }
    CHECK(seen_lo && seen_hi && !rbad, "rng_range(-3, 3): lo %d hi %d out %d", seen_lo, seen_hi, rbad);
    /* uniform in [0, 1) with mean 1/2; normal with mean 0, variance 1 */
    double su = 0, sn = 0, sn2 = 0, umin = 1, umax = 0;
    for (int i = 0; i < N; i++) {
        double u = rng_uniform(&r);
        su += u;
        umin = fmin(umin, u);
        umax = fmax(umax, u);
        double z = rng_normal(&r);
        sn += z;
        sn2 += z * z;
    }
    CHECK(umin >= 0 && umax < 1, "uniform range [%g, %g]", umin, umax);
    CHECK_NEAR(su / N, 0.5, 0.005);
    CHECK_NEAR(sn / N, 0.0, 0.01);
    CHECK_NEAR(sn2 / N, 1.0, 0.02);
    /* shuffle is a permutation, and actually moves things */
    int a[100], seen[100] = {0}, moved = 0, perm_ok = 1;
    for (int i = 0; i < 100; i++) a[i] = i;
    rng_shuffle_int(&r, a, 100);
    for (int i = 0; i < 100; i++) {
        if (a[i] < 0 || a[i] >= 100 || seen[a[i]]++) perm_ok = 0;
        moved += a[i] != i;
    }
    CHECK(perm_ok, "shuffle is not a permutation");
    CHECK(moved > 50, "shuffle moved only %d of 100", moved);
}
