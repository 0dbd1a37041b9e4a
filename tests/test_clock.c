/* The ADDMOD clock analysis (src/analysis/clock.h), on known answers:
 * - the Jacobi eigen solver: the closed-form eigenpairs of a tridiagonal matrix; on a random
 *   symmetric matrix, orthonormal eigenvectors that rebuild it, eigenvalues summing to its trace;
 * - the plane of a synthetic clock E[a] = M·(cos 2πka/p, ±sin 2πka/p) + noise (p = 83, k = 7,
 *   random M, both orientations): k = 7 found, top-2 variance > 0.95, one turn with every step
 *   the same way and evenly spaced; an arc (tokens 0..82 at 2πa/101) and noise are not clocks;
 * - PC1 across vectors along one direction recovers the coordinate (centred);
 * - the cosine fit on the paper's curve 23.43·cos(5.672/p + 3.631) over the 25 primes (+ tiny
 *   noise) recovers A, ω, φ (and φ + π for the negated curve), R² > 0.99; with the offset, the
 *   same curve centred (as PC scores are) gives the same A, ω, φ and c = -mean;
 * - end to end on an untrained addmod Meta-GNN run: a finite, well-formed report, the data
 *   files, JSON and plot; direct and non-addmod runs are refused with a message. */
#include "test.h"
#include "analysis/clock.h"
#include "io/fileio.h"
#include <cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const int PRIMES[25] = {2,  3,  5,  7,  11, 13, 17, 19, 23, 29, 31, 37, 41,
                               43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97};

/* ---- eigen solver ---- */

TEST(clock_eigen_known_matrix) {
    /* tridiag(1, 2, 1), n = 3: eigenvalues 2 + √2, 2, 2 - √2 with eigenvectors
     * (1, √2, 1)/2, (1, 0, -1)/√2, (1, -√2, 1)/2 (signs by the largest-entry-positive rule) */
    double a[9] = {2, 1, 0, 1, 2, 1, 0, 1, 2}, w[3], v[9];
    int sweeps = clock_eigen_sym(3, a, w, v);
    CHECK(sweeps >= 0, "Jacobi did not converge");
    CHECK_NEAR(w[0], 2 + sqrt(2.0), 1e-12);
    CHECK_NEAR(w[1], 2.0, 1e-12);
    CHECK_NEAR(w[2], 2 - sqrt(2.0), 1e-12);
    const double want[9] = {0.5, sqrt(0.5), 0.5, sqrt(0.5), 0, -sqrt(0.5), -0.5, sqrt(0.5), -0.5};
    /* the middle one's two largest entries tie, so its sign is rounding's choice: compare ±v */
    for (int i = 0; i < 9; i++) CHECK_NEAR(i / 3 == 1 ? fabs(v[i]) : v[i], i / 3 == 1 ? fabs(want[i]) : want[i], 1e-12);
    CHECK_NEAR(v[3] * v[5], -0.5, 1e-12);

    /* a random symmetric 12×12: V is orthonormal, Σ λ v vᵀ rebuilds A, Σ λ = trace */
    enum { N = 12 };
    static double m[N * N], m0[N * N], ww[N], vv[N * N];
    Rng r;
    rng_seed(&r, 5);
    for (int i = 0; i < N; i++)
        for (int j = 0; j <= i; j++) m[i * N + j] = m[j * N + i] = rng_normal(&r);
    memcpy(m0, m, sizeof m);
    CHECK(clock_eigen_sym(N, m, ww, vv) >= 0, "Jacobi did not converge on 12x12");
    double tr = 0, sw = 0, maxo = 0, maxr = 0;
    for (int i = 0; i < N; i++) {
        tr += m0[i * N + i];
        sw += ww[i];
    }
    CHECK_NEAR(sw, tr, 1e-10);
    for (int i = 1; i < N; i++) CHECK(ww[i] <= ww[i - 1], "eigenvalues not descending at %d", i);
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            double dot = 0, rec = 0;
            for (int k = 0; k < N; k++) {
                dot += vv[i * N + k] * vv[j * N + k];
                rec += ww[k] * vv[k * N + i] * vv[k * N + j];
            }
            maxo = fmax(maxo, fabs(dot - (i == j)));
            maxr = fmax(maxr, fabs(rec - m0[i * N + j]));
        }
    CHECK(maxo < 1e-12, "V Vᵀ differs from I by %g", maxo);
    CHECK(maxr < 1e-11, "Σ λ v vᵀ differs from A by %g", maxr);
}

/* ---- the plane ---- */

static void synth_clock(float *emb, int p, int d, int k, int orient, double noise, uint64_t seed) {
    Rng r;
    rng_seed(&r, seed);
    double M[64][2];
    for (int j = 0; j < d; j++) {
        M[j][0] = rng_normal(&r);
        M[j][1] = rng_normal(&r);
    }
    for (int a = 0; a < p; a++) {
        double t = 2 * M_PI * (double)((long)k * a % p) / p, c = cos(t), s = orient * sin(t);
        for (int j = 0; j < d; j++) emb[a * d + j] = (float)(M[j][0] * c + M[j][1] * s + noise * rng_normal(&r) + 0.3);
    }
}

TEST(clock_plane_detects_frequency) {
    enum { P = 83, D = 16 };
    static float emb[P * D];
    Err e = {{0}};
    for (int orient = -1; orient <= 1; orient += 2) {
        static ClockPlane pl;
        synth_clock(emb, P, D, 7, orient, 0.01, 11 + orient);
        CHECK(!clock_plane(emb, P, D, &pl, &e), "clock_plane: %s", e.msg);
        CHECK(pl.k == 7, "orientation %d: dominant frequency %d, want 7", orient, pl.k);
        CHECK(pl.var_top2 > 0.95, "orientation %d: top-2 variance %.4f", orient, pl.var_top2);
        CHECK_NEAR(pl.var_top2, pl.var_pc1 + pl.var_pc2, 1e-12);
        CHECK(pl.var_pc1 >= pl.var_pc2 && pl.var_pc2 >= 0 && pl.var_pc1 <= 1, "shares %.4f %.4f", pl.var_pc1,
              pl.var_pc2);
        CHECK(pl.k_power > 0.95 && pl.k_power <= 1, "orientation %d: power share at k %.4f", orient, pl.k_power);
        CHECK(pl.circularity == 1.0 && pl.winding == 1, "orientation %d: circularity %.3f, winding %d", orient,
              pl.circularity, pl.winding);
        CHECK(pl.max_gap < 1.2 / P && pl.radius_cv < 0.05 && clock_is_clock(&pl),
              "orientation %d: largest gap %.4f of a turn", orient, pl.max_gap);
        double sx = 0, sy = 0;
        for (int a = 0; a < P; a++) {
            sx += pl.xy[a][0];
            sy += pl.xy[a][1];
        }
        CHECK(fabs(sx) < 1e-9 && fabs(sy) < 1e-9, "projections not centred: %g %g", sx, sy);
    }
    /* a clock at k = 40 (the top of the range (p-1)/2 = 41 is reachable) */
    static ClockPlane pk;
    synth_clock(emb, P, D, 40, 1, 0.01, 3);
    CHECK(!clock_plane(emb, P, D, &pk, &e) && pk.k == 40 && pk.winding == 1, "k = 40: found %d, winding %d", pk.k,
          pk.winding);
    /* an arc: tokens 0..82 at angles 2πa/101 (what the neural graph's positional encodings give an
     * untrained Meta-GNN): frequency 1, every step the same way and one turn with the closing
     * step, but a gap of 19/101 of a turn: not a clock */
    {
        Rng ra;
        rng_seed(&ra, 21);
        double M[D][2];
        for (int j = 0; j < D; j++) {
            M[j][0] = rng_normal(&ra);
            M[j][1] = rng_normal(&ra);
        }
        for (int a = 0; a < P; a++)
            for (int j = 0; j < D; j++)
                emb[a * D + j] = (float)(M[j][0] * cos(2 * M_PI * a / 101) + M[j][1] * sin(2 * M_PI * a / 101));
        static ClockPlane pa;
        CHECK(!clock_plane(emb, P, D, &pa, &e), "clock_plane on an arc: %s", e.msg);
        CHECK(pa.k == 1 && pa.winding == 1 && pa.circularity == 1.0, "arc: k %d winding %d circularity %.3f", pa.k,
              pa.winding, pa.circularity);
        CHECK(pa.max_gap > 0.1, "arc: largest gap %.4f of a turn", pa.max_gap);
        CHECK(!clock_is_clock(&pa), "an arc taken for a clock");
    }
    /* noise alone: no frequency dominates, no ordered circle */
    Rng r;
    rng_seed(&r, 9);
    for (int i = 0; i < P * D; i++) emb[i] = rng_normal(&r);
    static ClockPlane pn;
    CHECK(!clock_plane(emb, P, D, &pn, &e), "clock_plane on noise: %s", e.msg);
    CHECK(pn.k_power < 0.3 && pn.circularity < 0.8 && pn.var_top2 < 0.5 && !clock_is_clock(&pn),
          "noise looks like a clock: power %.3f, circularity %.3f, top-2 %.3f", pn.k_power, pn.circularity,
          pn.var_top2);
    /* refused */
    for (int i = 0; i < P * D; i++) emb[i] = 1.5f;
    CHECK(clock_plane(emb, P, D, &pn, &e) == -1 && strstr(e.msg, "equal"), "constant rows: '%s'", e.msg);
    emb[5] = NAN;
    CHECK(clock_plane(emb, P, D, &pn, &e) == -1 && strstr(e.msg, "non-finite"), "NaN: '%s'", e.msg);
}

TEST(clock_pc1_recovers_coordinate) {
    /* rows x_i = s_i·u + 2·w + tiny noise: PC1 is ±(s_i - mean s)·|u| and holds ~all variance */
    enum { N = 25, M = 300 };
    static double x[N * M], sc[N];
    double s[N], u[M], w[M], sm = 0, nu = 0;
    Rng r;
    rng_seed(&r, 4);
    for (int l = 0; l < M; l++) {
        u[l] = rng_normal(&r);
        w[l] = rng_normal(&r);
        nu += u[l] * u[l];
    }
    nu = sqrt(nu);
    for (int i = 0; i < N; i++) {
        s[i] = 10 * cos(3.0 * i);
        sm += s[i];
    }
    sm /= N;
    for (int i = 0; i < N; i++)
        for (int l = 0; l < M; l++) x[i * M + l] = s[i] * u[l] + 2 * w[l] + 1e-6 * rng_normal(&r);
    double var;
    Err e = {{0}};
    CHECK(!clock_pc1(x, N, M, sc, &var, &e), "clock_pc1: %s", e.msg);
    CHECK(var > 0.999999, "PC1 share %.9f", var);
    double sign = sc[0] * (s[0] - sm) >= 0 ? 1 : -1, sum = 0;
    for (int i = 0; i < N; i++) {
        CHECK_NEAR(sc[i], sign * (s[i] - sm) * nu, 1e-4);
        sum += sc[i];
    }
    CHECK_NEAR(sum, 0, 1e-8);
}

/* ---- the fit ---- */

static double paper(int p) { return 23.43 * cos(5.672 / p + 3.631); }

TEST(clock_fit_recovers_paper_curve) {
    double y[25], yn[25], yc[25], mean = 0;
    Rng r;
    rng_seed(&r, 8);
    for (int i = 0; i < 25; i++) {
        y[i] = paper(PRIMES[i]) + 1e-3 * rng_normal(&r);
        yn[i] = -y[i];
        mean += y[i];
    }
    mean /= 25;
    for (int i = 0; i < 25; i++) yc[i] = y[i] - mean;
    ClockFit f;
    Err e = {{0}};
    /* the paper's form */
    CHECK(!clock_fit_cos(PRIMES, y, 25, 0, &f, &e), "fit: %s", e.msg);
    CHECK_NEAR(f.A, 23.43, 0.02);
    CHECK_NEAR(f.omega, 5.672, 0.005);
    CHECK_NEAR(f.phi, 3.631, 0.002);
    CHECK(f.c == 0 && f.r2 > 0.99, "c %g, R² %.6f", f.c, f.r2);
    CHECK_NEAR(clock_fit_eval(&f, 83), paper(83), 0.01);
    /* the negated curve: the same A and ω, φ - π (PC signs are arbitrary) */
    CHECK(!clock_fit_cos(PRIMES, yn, 25, 0, &f, &e), "fit of -y: %s", e.msg);
    CHECK_NEAR(f.A, 23.43, 0.02);
    CHECK_NEAR(f.omega, 5.672, 0.005);
    CHECK_NEAR(f.phi, 3.631 - M_PI, 0.002);
    CHECK(f.r2 > 0.99, "R² %.6f", f.r2);
    /* with the offset, on the centred curve (as PC1 scores are): c takes the mean back */
    CHECK(!clock_fit_cos(PRIMES, yc, 25, 1, &f, &e), "fit with offset: %s", e.msg);
    CHECK_NEAR(f.A, 23.43, 0.05);
    CHECK_NEAR(f.omega, 5.672, 0.01);
    CHECK_NEAR(f.phi, 3.631, 0.005);
    CHECK_NEAR(f.c, -mean, 0.05);
    CHECK(f.with_offset && f.r2 > 0.99, "R² %.6f", f.r2);
    /* the paper's form cannot follow the centred curve as well: the offset is what it lacks */
    ClockFit f0;
    CHECK(!clock_fit_cos(PRIMES, yc, 25, 0, &f0, &e) && f0.r2 < f.r2, "no-offset fit of the centred curve: R² %.4f",
          f0.r2);
    /* refused */
    double flat[25];
    for (int i = 0; i < 25; i++) flat[i] = 3;
    CHECK(clock_fit_cos(PRIMES, flat, 25, 1, &f, &e) == -1, "a constant was fitted");
    CHECK(clock_fit_cos(PRIMES, y, 3, 1, &f, &e) == -1, "3 points were fitted");
}

/* ---- end to end ---- */

static int file_ok(const char *dir, const char *name) {
    char p[1024];
    struct stat st;
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return stat(p, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0;
}

/* The modulus a program computes: a program that wraps at 73 is "mod 73" whatever p it was made
 * for, plain addition wraps at none (mod 2p - 1), and exact match is counted at m = p. */
TEST(clock_modulus_of_known_answers) {
    static int pred[71 * 71];
    int mod;
    double agree, acc;
    long same = 0;
    for (int a = 0; a < 71; a++)
        for (int b = 0; b < 71; b++) {
            pred[a * 71 + b] = (a + b) % 73;
            same += (a + b) % 73 == (a + b) % 71;
        }
    clock_modulus(pred, 71, 100, &mod, &agree, &acc);
    CHECK(mod == 73 && agree == 1.0 && fabs(acc - same / (71.0 * 71)) < 1e-12, "mod %d agree %g acc %g (want %g)", mod,
          agree, acc, same / (71.0 * 71));
    for (int a = 0; a < 11; a++)
        for (int b = 0; b < 11; b++) pred[a * 11 + b] = a + b;
    clock_modulus(pred, 11, 100, &mod, &agree, &acc);
    CHECK(mod == 21 && agree == 1.0 && fabs(acc - 66.0 / 121) < 1e-12, "plain addition: mod %d agree %g acc %g", mod,
          agree, acc);
    for (int a = 0; a < 11; a++)
        for (int b = 0; b < 11; b++) pred[a * 11 + b] = (a + b) % 11 + (a == 3 && b == 4);
    clock_modulus(pred, 11, 100, &mod, &agree, &acc);
    CHECK(mod == 11 && agree == acc && fabs(acc - 120.0 / 121) < 1e-12, "one wrong answer: mod %d agree %g acc %g", mod,
          agree, acc);
}

TEST(clock_analyze_untrained_run) {
    TrainConfig c;
    Err e = {{0}};
    CHECK(!config_defaults("addmod", METHOD_GNN, &c, &e), "%s", e.msg);
    c.meta.width = 8;
    c.meta.rounds = 1;
    c.meta.mixer = 8;
    c.seed = 3;
    c.hold = 0; /* every train prime trained; hold=3, the default, below */
    c.restarts = 1;
    Run r;
    if (run_init(&r, &c, &e)) {
        CHECK(0, "run_init: %s", e.msg);
        return;
    }
    static ClockReport rep;
    CHECK(clock_analyze(&r, 1000, &rep, &e) == -1 && strstr(e.msg, "1000"), "p = 1000 accepted: '%s'", e.msg);
    CHECK(clock_analyze(&r, 4, &rep, &e) == -1, "p = 4 accepted");
    if (clock_analyze(&r, CLOCK_PRIME, &rep, &e)) {
        CHECK(0, "clock_analyze: %s", e.msg);
        run_free(&r);
        return;
    }
    const ClockPlane *pl = &rep.plane;
    CHECK(pl->p == 83 && pl->d == 16 && rep.plane_ood, "plane p %d d %d ood %d", pl->p, pl->d, rep.plane_ood);
    CHECK(pl->k >= 1 && pl->k <= 41, "k = %d", pl->k);
    double fr[6] = {pl->var_pc1, pl->var_pc2, pl->var_top2, pl->k_power, pl->circularity, rep.pc1_var};
    for (int i = 0; i < 6; i++) CHECK(isfinite(fr[i]) && fr[i] >= 0 && fr[i] <= 1, "fraction %d = %g", i, fr[i]);
    CHECK(pl->max_gap >= 0 && pl->max_gap <= 0.5, "largest gap %g", pl->max_gap);
    CHECK(pl->var_pc1 >= pl->var_pc2 && isfinite(pl->radius_cv) && pl->winding >= 0, "plane: %g %g %g %d", pl->var_pc1,
          pl->var_pc2, pl->radius_cv, pl->winding);
    for (int a = 0; a < pl->p; a++) CHECK(isfinite(pl->xy[a][0]) && isfinite(pl->xy[a][1]), "token %d not finite", a);
    CHECK(rep.n_primes == 25 && rep.flat_rows == 101 && rep.d == 16 && !strcmp(rep.method, "gnn"),
          "%d primes, %d rows, d %d, %s", rep.n_primes, rep.flat_rows, rep.d, rep.method);
    int n_ood = 0;
    double sum = 0;
    for (int i = 0; i < rep.n_primes; i++) {
        CHECK(rep.primes[i] == PRIMES[i], "prime %d is %d", i, rep.primes[i]);
        CHECK(isfinite(rep.pc1[i]), "PC1 of p = %d", rep.primes[i]);
        CHECK(rep.mod[i] >= 2 && rep.mod[i] <= 100 && rep.acc[i] >= 0 && rep.acc[i] <= rep.mod_agree[i] &&
                  rep.mod_agree[i] <= 1 && (rep.mod[i] != rep.primes[i] || rep.acc[i] == rep.mod_agree[i]),
              "p = %d: exact %g, mod %d at %g", rep.primes[i], rep.acc[i], rep.mod[i], rep.mod_agree[i]);
        int q = rep.primes[i];
        CHECK(q < 3 ? rep.freq[i] == 0 && rep.freq_power[i] == 0
                    : rep.freq[i] >= 1 && rep.freq[i] <= (q - 1) / 2 && rep.freq_power[i] > 0 && rep.freq_power[i] <= 1,
              "p = %d: clock k %d (power %g)", q, rep.freq[i], rep.freq_power[i]);
        if (q == CLOCK_PRIME)
            CHECK(rep.freq[i] == pl->k && rep.freq_power[i] == pl->k_power, "p = 83: k %d, plane's %d", rep.freq[i],
                  pl->k);
        /* the median margin's sign is the majority's: > 0 means at least half the pairs right */
        CHECK(isfinite(rep.margin[i]) && (rep.margin[i] <= 0 || rep.acc[i] >= 0.5) &&
                  (rep.margin[i] >= 0 || rep.acc[i] <= 0.5) && rep.size[i] > 0 && isfinite(rep.size[i]),
              "p = %d: margin %g with exact %g, size %g", q, rep.margin[i], rep.acc[i], rep.size[i]);
        n_ood += rep.ood[i];
        sum += rep.pc1[i];
    }
    CHECK(n_ood == 3 && rep.ood[8] && rep.ood[15] && rep.ood[22], "OOD flags: %d", n_ood);
    /* the odd composites from 9 to 97, the largest train prime, each scored mod itself */
    static const int OFF[] = {9,  15, 21, 25, 27, 33, 35, 39, 45, 49, 51, 55,
                              57, 63, 65, 69, 75, 77, 81, 85, 87, 91, 93, 95};
    CHECK(rep.n_off == 24, "%d moduli between the primes", rep.n_off);
    double off_sum = 0;
    for (int j = 0; j < rep.n_off && j < 24; j++) {
        CHECK(rep.off_q[j] == OFF[j], "modulus %d is %d", j, rep.off_q[j]);
        CHECK(rep.off_mod[j] >= 2 && rep.off_mod[j] <= 100 && rep.off_acc[j] >= 0 &&
                  rep.off_acc[j] <= rep.off_agree[j] && rep.off_agree[j] <= 1,
              "q = %d: exact %g, mod %d at %g", rep.off_q[j], rep.off_acc[j], rep.off_mod[j], rep.off_agree[j]);
        off_sum += rep.off_acc[j];
    }
    CHECK(fabs(rep.off_mean - off_sum / 24) < 1e-12, "mean %g, want %g", rep.off_mean, off_sum / 24);
    { /* the program at x is the intent's when x is one: the same features, the same θ */
        float *a = xmalloc(r.tpl.n_theta * sizeof *a), *b = xmalloc(r.tpl.n_theta * sizeof *b);
        run_synth_at(&r, 83, a);
        run_synth(&r, (Intent){0, 83}, b);
        CHECK(!memcmp(a, b, r.tpl.n_theta * sizeof *a), "run_synth_at(83) differs from run_synth(p=83)");
        double ss = 0; /* the size, from the template's own list of weight matrices */
        long nw = 0;
        for (int k = 0; k < r.tpl.n_tensors; k++)
            if (r.tpl.tensors[k].ndim == 2)
                for (long l = 0; l < r.tpl.tensors[k].numel; l++, nw++)
                    ss += (double)b[r.tpl.tensors[k].off + l] * b[r.tpl.tensors[k].off + l];
        /* 6052 less the biases: q, k, v, o and fc2 16 each, fc1 48, unembed 100 */
        CHECK(nw == 6052 - 5 * 16 - 48 - 100 && fabs(rep.size[22] - ss / nw) < 1e-12 * ss / nw,
              "p = 83: size %g over %ld matrix entries, want %g", rep.size[22], nw, ss / nw);
        free(a);
        free(b);
    }
    CHECK(fabs(sum) < 1e-6 * (1 + fabs(rep.pc1[0])), "PC1 scores sum to %g", sum);
    const ClockFit *fs[2] = {&rep.fit, &rep.fit_c};
    for (int i = 0; i < 2; i++) {
        const ClockFit *f = fs[i];
        CHECK(f->A >= 0 && f->phi >= 0 && f->phi < 2 * M_PI && f->omega >= CLOCK_OMEGA_MIN &&
                  f->omega <= CLOCK_OMEGA_MAX && isfinite(f->c) && f->r2 <= 1 && isfinite(f->r2) && f->span > 0,
              "fit %d: A %g ω %g φ %g c %g R² %g", i, f->A, f->omega, f->phi, f->c, f->r2);
    }
    CHECK(rep.fit.c == 0 && !rep.fit.with_offset && rep.fit_c.with_offset, "fit kinds");
    CHECK(rep.fit_c.r2 >= 0 && rep.fit_c.r2 >= rep.fit.r2 - 1e-9,
          "the offset fit (R² %g) is worse than the one without (%g)", rep.fit_c.r2, rep.fit.r2);

    if (getenv("NEUROP_GC_VERBOSE"))
        printf("    untrained: p=83 top-2 %.3f k %d (power %.3f) circularity %.2f winding %d gap %.3f; PC1 %.3f of the "
               "variance, "
               "fit %.4g*cos(%.4g/p + %.4g) R² %.3f, with c R² %.3f\n",
               pl->var_top2, pl->k, pl->k_power, pl->circularity, pl->winding, pl->max_gap, rep.pc1_var, rep.fit.A,
               rep.fit.omega, rep.fit.phi, rep.fit.r2, rep.fit_c.r2);
    /* the same run analysed twice: the same numbers */
    static ClockReport rep2;
    CHECK(!clock_analyze(&r, CLOCK_PRIME, &rep2, &e) && !memcmp(&rep, &rep2, sizeof rep), "a second analysis differs");

    /* files */
    char dir[] = "/tmp/neurop-test-clock-XXXXXX";
    if (!mkdtemp(dir)) {
        CHECK(0, "mkdtemp");
        run_free(&r);
        return;
    }
    CHECK(!clock_write_data(&rep, dir, &e), "clock_write_data: %s", e.msg);
    CHECK(file_ok(dir, "clock_embed.dat") && file_ok(dir, "clock_pc1.dat"), "data files missing");
    char path[1100];
    snprintf(path, sizeof path, "%s/clock_embed.dat", dir);
    unsigned char *buf;
    size_t len;
    if (!read_file(path, &buf, &len, &e)) {
        int rows = 0, first_m = -1, last_m = -1;
        for (char *line = strtok((char *)buf, "\n"); line; line = strtok(NULL, "\n")) {
            int m, a;
            if (line[0] == '#' || sscanf(line, "%d %d", &m, &a) != 2) continue;
            CHECK(m == (long)a * pl->k % 83, "row %d: m %d for token %d", rows, m, a);
            if (!rows) first_m = m;
            last_m = m;
            rows++;
        }
        CHECK(rows == 84 && first_m == 0 && last_m == 0, "clock_embed.dat: %d rows, m from %d to %d", rows, first_m,
              last_m);
        free(buf);
    }
    cJSON *j = cJSON_CreateObject();
    clock_to_json(&rep, j);
    const cJSON *plane = cJSON_GetObjectItemCaseSensitive(j, "plane"),
                *across = cJSON_GetObjectItemCaseSensitive(j, "across_primes");
    CHECK(cJSON_IsObject(plane) && cJSON_IsObject(across), "JSON sections missing");
    CHECK(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(plane, "points")) == 83, "83 points");
    CHECK(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(across, "primes")) == 25, "25 primes");
    const cJSON *between = cJSON_GetObjectItemCaseSensitive(j, "between_primes");
    CHECK(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(between, "moduli")) == 24 &&
              cJSON_GetObjectItemCaseSensitive(between, "mean")->valuedouble == rep.off_mean,
          "between_primes in JSON");
    const cJSON *fit = cJSON_GetObjectItemCaseSensitive(across, "fit");
    CHECK(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(fit, "r2")) &&
              cJSON_GetObjectItemCaseSensitive(fit, "r2")->valuedouble == rep.fit.r2,
          "fit.r2 in JSON");
    char *txt = cJSON_PrintUnformatted(j);
    cJSON *back = txt ? cJSON_Parse(txt) : NULL;
    CHECK(back != NULL, "the JSON does not parse back (NaN?)");
    cJSON_Delete(back);
    cJSON_free(txt);
    cJSON_Delete(j);
    CHECK(clock_plot(&rep, dir, 0, &e) == 2 && file_ok(dir, "clock.gp") && !file_ok(dir, "clock.png"),
          "clock_plot without rendering");
    int pr = clock_plot(&rep, dir, 1, &e);
    CHECK(pr == 0 || pr == 1, "clock_plot: %d %s", pr, e.msg);
    if (pr == 0) CHECK(file_ok(dir, "clock.png"), "clock.png missing");
    if (pr == 0) {
        /* a PNG, and no temporary file left beside it */
        char png[1100];
        unsigned char h[8] = {0};
        snprintf(png, sizeof png, "%s/clock.png", dir);
        FILE *f = fopen(png, "rb");
        size_t got = f ? fread(h, 1, 8, f) : 0;
        if (f) fclose(f);
        CHECK(got == 8 && !memcmp(h, "\x89PNG\r\n\x1a\n", 8), "clock.png is not a PNG");
        char ls[1200];
        snprintf(ls, sizeof ls, "ls '%s' | grep -q tmp", dir);
        CHECK(system(ls) != 0, "a temporary file is left in %s", dir);
    }
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd)) {}
    run_free(&r);

    /* a run that held p = 17, 41 and 71 out of training: exactly those are marked held */
    c.hold = 3;
    if (run_init(&r, &c, &e)) {
        CHECK(0, "run_init with hold=3: %s", e.msg);
        return;
    }
    CHECK(!clock_analyze(&r, CLOCK_PRIME, &rep2, &e), "%s", e.msg);
    for (int i = 0; i < rep2.n_primes; i++) {
        int p = rep2.primes[i];
        CHECK(rep2.held[i] == (p == 17 || p == 41 || p == 71) && !rep.held[i], "p = %d: held %d (hold=3), %d (hold=0)",
              p, rep2.held[i], rep.held[i]);
    }
    run_free(&r);
}

TEST(clock_refuses_direct_and_other_tasks) {
    TrainConfig c;
    Err e = {{0}};
    static ClockReport rep;
    Run r;
    CHECK(!config_defaults("addmod", METHOD_DIRECT, &c, &e), "%s", e.msg);
    c.meta.width = 8;
    if (!run_init(&r, &c, &e)) {
        CHECK(clock_analyze(&r, CLOCK_PRIME, &rep, &e) == -1 && strstr(e.msg, "direct"), "direct: '%s'", e.msg);
        run_free(&r);
    } else CHECK(0, "run_init direct: %s", e.msg);
    CHECK(!config_defaults("sumfirst", METHOD_GNN, &c, &e), "%s", e.msg);
    c.meta.width = 8;
    c.meta.rounds = 1;
    c.meta.mixer = 8;
    if (!run_init(&r, &c, &e)) {
        CHECK(clock_analyze(&r, CLOCK_PRIME, &rep, &e) == -1 && strstr(e.msg, "addmod"), "sumfirst: '%s'", e.msg);
        run_free(&r);
    } else CHECK(0, "run_init sumfirst: %s", e.msg);
}
