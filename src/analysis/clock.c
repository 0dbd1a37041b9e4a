/* The ADDMOD clock analysis of generated token embeddings (clock.h, docs/clock.md). */
#include "analysis/clock.h"
#include "io/fileio.h"
#include "io/gnuplot.h"
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- symmetric eigen-decomposition (cyclic Jacobi) ---------------------------------------- */

/* The sign rule for every principal axis and score vector: the largest-magnitude entry (the
 * first of equals) is positive. PCs have no sign of their own; this one makes runs comparable. */
static void fix_sign(double *v, int n, int stride) {
    int j = 0;
    for (int i = 1; i < n; i++)
        if (fabs(v[i * stride]) > fabs(v[j * stride])) j = i;
    if (v[j * stride] < 0)
        for (int i = 0; i < n; i++) v[i * stride] = -v[i * stride];
}

int clock_eigen_sym(int n, double *a, double *w, double *v) {
    double *q = xcalloc((size_t)n * n, sizeof *q); /* accumulated rotations: column j -> eigenvector j */
    for (int i = 0; i < n; i++) q[(size_t)i * n + i] = 1;
    double total = 0;
    for (size_t i = 0; i < (size_t)n * n; i++) total += a[i] * a[i];
    int sweeps = -1;
    for (int s = 0; s <= 100; s++) {
        double off = 0;
        for (int i = 0; i < n; i++)
            for (int j = i + 1; j < n; j++) off += a[(size_t)i * n + j] * a[(size_t)i * n + j];
        /* done once the off-diagonal part is below 1e-15 of the matrix (Frobenius norms) */
        if (off <= 1e-30 * total) {
            sweeps = s;
            break;
        }
        if (s == 100) break;
        for (int p = 0; p < n; p++)
            for (int r = p + 1; r < n; r++) {
                double apr = a[(size_t)p * n + r];
                if (fabs(apr) < 1e-300) continue;
                /* the rotation that zeroes a[p][r]: tan of its angle, the smaller root */
                double th = (a[(size_t)r * n + r] - a[(size_t)p * n + p]) / (2 * apr);
                double t = fabs(th) > 1e150 ? 0.5 / th : (th >= 0 ? 1.0 : -1.0) / (fabs(th) + sqrt(th * th + 1));
                double c = 1 / sqrt(t * t + 1), sn = t * c;
                for (int k = 0; k < n; k++) { /* A J */
                    double x = a[(size_t)k * n + p], y = a[(size_t)k * n + r];
                    a[(size_t)k * n + p] = c * x - sn * y;
                    a[(size_t)k * n + r] = sn * x + c * y;
                }
                for (int k = 0; k < n; k++) { /* Jᵀ (A J) */
                    double x = a[(size_t)p * n + k], y = a[(size_t)r * n + k];
                    a[(size_t)p * n + k] = c * x - sn * y;
                    a[(size_t)r * n + k] = sn * x + c * y;
                }
                a[(size_t)p * n + r] = a[(size_t)r * n + p] = 0;
                for (int k = 0; k < n; k++) { /* Q J */
                    double x = q[(size_t)k * n + p], y = q[(size_t)k * n + r];
                    q[(size_t)k * n + p] = c * x - sn * y;
                    q[(size_t)k * n + r] = sn * x + c * y;
                }
            }
    }
    /* descending order (selection: n is small), eigenvectors out as rows */
    int *idx = xmalloc(n * sizeof *idx);
    for (int i = 0; i < n; i++) idx[i] = i;
    for (int i = 0; i < n; i++) {
        int b = i;
        for (int j = i + 1; j < n; j++)
            if (a[(size_t)idx[j] * n + idx[j]] > a[(size_t)idx[b] * n + idx[b]]) b = j;
        int tmp = idx[i];
        idx[i] = idx[b];
        idx[b] = tmp;
    }
    for (int i = 0; i < n; i++) {
        w[i] = a[(size_t)idx[i] * n + idx[i]];
        for (int k = 0; k < n; k++) v[(size_t)i * n + k] = q[(size_t)k * n + idx[i]];
        fix_sign(v + (size_t)i * n, n, 1);
    }
    free(idx);
    free(q);
    return sweeps;
}

/* ---- one prime's plane -------------------------------------------------------------------- */

int clock_plane(const float *emb, int p, int d, ClockPlane *pl, Err *e) {
    memset(pl, 0, sizeof *pl);
    if (p < 3 || p > CLOCK_MAX_P) return err_set(e, "clock: p = %d tokens, want 3..%d", p, CLOCK_MAX_P);
    if (d < 2) return err_set(e, "clock: embedding width %d, want at least 2", d);
    for (long i = 0; i < (long)p * d; i++)
        if (!isfinite(emb[i])) return err_set(e, "clock: embedding row %ld has a non-finite value", i / d);
    pl->p = p;
    pl->d = d;
    double *x = xmalloc((size_t)p * d * sizeof *x), *cov = xcalloc((size_t)d * d, sizeof *cov);
    double *w = xmalloc(d * sizeof *w), *v = xmalloc((size_t)d * d * sizeof *v);
    for (int j = 0; j < d; j++) {
        double m = 0;
        for (int a = 0; a < p; a++) m += emb[(size_t)a * d + j];
        m /= p;
        for (int a = 0; a < p; a++) x[(size_t)a * d + j] = emb[(size_t)a * d + j] - m;
    }
    for (int i = 0; i < d; i++)
        for (int j = i; j < d; j++) {
            double s = 0;
            for (int a = 0; a < p; a++) s += x[(size_t)a * d + i] * x[(size_t)a * d + j];
            cov[(size_t)i * d + j] = cov[(size_t)j * d + i] = s / p;
        }
    clock_eigen_sym(d, cov, w, v);
    double tot = 0;
    for (int j = 0; j < d; j++) tot += fmax(w[j], 0); /* rounding can leave -1e-17 on a null direction */
    if (!(tot > 0)) {
        free(x);
        free(cov);
        free(w);
        free(v);
        return err_set(e, "clock: the %d embedding rows are all equal", p);
    }
    pl->var_pc1 = fmax(w[0], 0) / tot;
    pl->var_pc2 = fmax(w[1], 0) / tot;
    pl->var_top2 = fmin(1.0, pl->var_pc1 + pl->var_pc2);
    for (int a = 0; a < p; a++) {
        double s0 = 0, s1 = 0;
        for (int j = 0; j < d; j++) {
            s0 += x[(size_t)a * d + j] * v[j];
            s1 += x[(size_t)a * d + j] * v[d + j];
        }
        pl->xy[a][0] = s0;
        pl->xy[a][1] = s1;
    }
    /* the plane whitened (each PC scaled to unit variance) for the circle measures: a clock seen
     * through a linear map is an ellipse with its axes on the PCs, which this makes a circle again */
    double sd0 = sqrt(fmax(w[0], 0)), sd1 = sqrt(fmax(w[1], 0));
    if (!(sd1 > 1e-12 * sd0)) sd0 = sd1 = 1; /* points on a line: no circle to restore */
    free(x);
    free(cov);
    free(w);
    free(v);

    /* F(k) for every k; angles as exact multiples of 2π/p (k·a reduced mod p first) */
    double cs[CLOCK_MAX_P], sn[CLOCK_MAX_P], pw[CLOCK_MAX_P], total = 0;
    for (int m = 0; m < p; m++) {
        cs[m] = cos(2 * M_PI * m / p);
        sn[m] = sin(2 * M_PI * m / p);
    }
    for (int k = 0; k < p; k++) {
        double re = 0, im = 0;
        for (int a = 0; a < p; a++) {
            int m = (int)((long)k * a % p);
            double zx = pl->xy[a][0], zy = pl->xy[a][1];
            re += zx * cs[m] + zy * sn[m]; /* (zx + i zy)(cos - i sin) */
            im += zy * cs[m] - zx * sn[m];
        }
        pw[k] = re * re + im * im;
        total += pw[k];
    }
    pl->k = 1;
    double best = -1;
    for (int k = 1; k <= (p - 1) / 2; k++)
        if (pw[k] + pw[p - k] > best) {
            best = pw[k] + pw[p - k];
            pl->k = k;
        }
    pl->k_power = total > 0 ? fmin(1.0, best / total) : 0;

    /* round the circle in the order m = a·k mod p */
    int ord[CLOCK_MAX_P];
    for (int a = 0; a < p; a++) ord[(long)a * pl->k % p] = a;
    double dth[CLOCK_MAX_P], turn = 0;
    for (int m = 0; m < p; m++) {
        const double *z0 = pl->xy[ord[m]], *z1 = pl->xy[ord[(m + 1) % p]];
        double dd = atan2(z1[1] / sd1, z1[0] / sd0) - atan2(z0[1] / sd1, z0[0] / sd0);
        while (dd > M_PI) dd -= 2 * M_PI;
        while (dd <= -M_PI) dd += 2 * M_PI;
        dth[m] = dd;
        turn += dd;
    }
    double dir = turn >= 0 ? 1 : -1;
    int same = 0;
    for (int m = 0; m < p; m++) {
        same += dir * dth[m] > 0;
        pl->max_gap = fmax(pl->max_gap, fabs(dth[m]) / (2 * M_PI));
    }
    pl->circularity = (double)same / p;
    pl->winding = (int)lround(fabs(turn) / (2 * M_PI));
    double rm = 0, rv = 0;
    for (int a = 0; a < p; a++) rm += hypot(pl->xy[a][0] / sd0, pl->xy[a][1] / sd1);
    rm /= p;
    for (int a = 0; a < p; a++) {
        double r = hypot(pl->xy[a][0] / sd0, pl->xy[a][1] / sd1) - rm;
        rv += r * r;
    }
    pl->radius_cv = rm > 0 ? sqrt(rv / p) / rm : 0;
    return 0;
}

int clock_is_clock(const ClockPlane *pl) {
    return pl->p > 0 && pl->circularity >= 0.9 && pl->winding == 1 && pl->max_gap <= 3.0 / pl->p;
}

/* ---- PC1 across primes -------------------------------------------------------------------- */

int clock_pc1(const double *x, int n, long m, double *score, double *var_pc1, Err *e) {
    if (n < 2 || n > 4096 || m < 1)
        return err_set(e, "clock: PCA of %d vectors of length %ld, want 2..4096 vectors", n, m);
    for (long i = 0; i < (long)n * m; i++)
        if (!isfinite(x[i])) return err_set(e, "clock: vector %ld has a non-finite value", i / m);
    double *mu = xcalloc(m, sizeof *mu), *g = xmalloc((size_t)n * n * sizeof *g);
    double *w = xmalloc(n * sizeof *w), *v = xmalloc((size_t)n * n * sizeof *v);
    for (int i = 0; i < n; i++)
        for (long l = 0; l < m; l++) mu[l] += x[(size_t)i * m + l];
    for (long l = 0; l < m; l++) mu[l] /= n;
    /* the Gram matrix of the centred rows: its eigenvectors, scaled by sqrt(λ), are the PC scores
     * (the same as projecting on the m×m covariance's eigenvectors, at n×n cost) */
    for (int i = 0; i < n; i++)
        for (int j = i; j < n; j++) {
            double s = 0;
            for (long l = 0; l < m; l++) s += (x[(size_t)i * m + l] - mu[l]) * (x[(size_t)j * m + l] - mu[l]);
            g[(size_t)i * n + j] = g[(size_t)j * n + i] = s;
        }
    clock_eigen_sym(n, g, w, v);
    double tot = 0;
    for (int i = 0; i < n; i++) tot += fmax(w[i], 0);
    int rc = 0;
    if (!(tot > 0)) rc = err_set(e, "clock: the %d vectors are all equal", n);
    else {
        double s = sqrt(fmax(w[0], 0));
        for (int i = 0; i < n; i++) score[i] = s * v[i];
        *var_pc1 = fmax(w[0], 0) / tot;
    }
    free(mu);
    free(g);
    free(w);
    free(v);
    return rc;
}

/* ---- the closed form in 1/p --------------------------------------------------------------- */

typedef struct LinFit {
    double sse, a, b, c;
    int ok;
} LinFit;

/* y ≈ a·cos(ωx) + b·sin(ωx) (+ c) by least squares; with the offset, on centred columns (the
 * same solution, and better conditioned for small ω where cos(ωx) is nearly constant). */
static LinFit lin_fit(const double *x, const double *y, int n, double om, int off) {
    LinFit f = {0};
    double cm = 0, sm = 0, ym = 0;
    if (off) {
        for (int i = 0; i < n; i++) {
            cm += cos(om * x[i]);
            sm += sin(om * x[i]);
            ym += y[i];
        }
        cm /= n;
        sm /= n;
        ym /= n;
    }
    double scc = 0, scs = 0, sss = 0, syc = 0, sys = 0;
    for (int i = 0; i < n; i++) {
        double c = cos(om * x[i]) - cm, s = sin(om * x[i]) - sm, yy = y[i] - ym;
        scc += c * c;
        scs += c * s;
        sss += s * s;
        syc += yy * c;
        sys += yy * s;
    }
    double det = scc * sss - scs * scs;
    if (!(det > 1e-12 * scc * sss) || !(scc > 0) || !(sss > 0)) return f; /* cos and sin collinear here */
    f.a = (syc * sss - sys * scs) / det;
    f.b = (sys * scc - syc * scs) / det;
    f.c = off ? ym - f.a * cm - f.b * sm : 0;
    for (int i = 0; i < n; i++) {
        double r = y[i] - f.a * cos(om * x[i]) - f.b * sin(om * x[i]) - f.c;
        f.sse += r * r;
    }
    f.ok = 1;
    return f;
}

int clock_fit_cos(const int *primes, const double *y, int n, int with_offset, ClockFit *f, Err *e) {
    memset(f, 0, sizeof *f);
    f->with_offset = with_offset;
    if (n < 4) return err_set(e, "clock: %d points for a 3- or 4-parameter fit, want at least 4", n);
    double *x = xmalloc(n * sizeof *x), ym = 0, sst = 0, xmin = INFINITY, xmax = -INFINITY;
    for (int i = 0; i < n; i++) {
        if (primes[i] <= 0 || !isfinite(y[i])) {
            free(x);
            return err_set(e, "clock: bad point p = %d, y = %g", primes[i], y[i]);
        }
        x[i] = 1.0 / primes[i];
        xmin = fmin(xmin, x[i]);
        xmax = fmax(xmax, x[i]);
        ym += y[i];
    }
    ym /= n;
    for (int i = 0; i < n; i++) sst += (y[i] - ym) * (y[i] - ym);
    if (!(sst > 0)) {
        free(x);
        return err_set(e, "clock: the %d values to fit are all equal", n);
    }
    /* grid: 0.005 in ω moves ω/p by at most 0.0025 rad (p >= 2), far finer than any feature of
     * the residual at the ranges 1/p takes */
    const double h = 0.005;
    const int steps = (int)lround((CLOCK_OMEGA_MAX - CLOCK_OMEGA_MIN) / h);
    double best_om = 0;
    LinFit best = {0};
    for (int i = 0; i <= steps; i++) {
        double om = CLOCK_OMEGA_MIN + i * h;
        LinFit lf = lin_fit(x, y, n, om, with_offset);
        if (lf.ok && (!best.ok || lf.sse < best.sse)) {
            best = lf;
            best_om = om;
        }
    }
    if (!best.ok) {
        free(x);
        return err_set(e, "clock: no ω in [%g, %g] gives a solvable fit", CLOCK_OMEGA_MIN, CLOCK_OMEGA_MAX);
    }
    /* golden-section refinement within one grid step on each side */
    double lo = fmax(CLOCK_OMEGA_MIN, best_om - h), hi = fmin(CLOCK_OMEGA_MAX, best_om + h);
    const double gr = (sqrt(5.0) - 1) / 2;
    double x1 = hi - gr * (hi - lo), x2 = lo + gr * (hi - lo);
    LinFit f1 = lin_fit(x, y, n, x1, with_offset), f2 = lin_fit(x, y, n, x2, with_offset);
    for (int it = 0; it < 80 && f1.ok && f2.ok; it++) {
        if (f1.sse < f2.sse) {
            hi = x2;
            x2 = x1;
            f2 = f1;
            x1 = hi - gr * (hi - lo);
            f1 = lin_fit(x, y, n, x1, with_offset);
        } else {
            lo = x1;
            x1 = x2;
            f1 = f2;
            x2 = lo + gr * (hi - lo);
            f2 = lin_fit(x, y, n, x2, with_offset);
        }
    }
    if (f1.ok && f1.sse < best.sse) {
        best = f1;
        best_om = x1;
    }
    if (f2.ok && f2.sse < best.sse) {
        best = f2;
        best_om = x2;
    }
    free(x);
    /* a·cos + b·sin = A·cos(ωx + φ) with a = A cos φ, b = -A sin φ */
    f->A = hypot(best.a, best.b);
    f->phi = atan2(-best.b, best.a);
    if (f->phi < 0) f->phi += 2 * M_PI;
    if (f->phi >= 2 * M_PI) f->phi -= 2 * M_PI;
    f->omega = best_om;
    f->c = best.c;
    f->r2 = 1 - best.sse / sst;
    f->span = best_om * (xmax - xmin);
    return 0;
}

double clock_fit_eval(const ClockFit *f, double p) { return f->A * cos(f->omega / p + f->phi) + f->c; }

/* ---- the modulus a program computes ------------------------------------------------------- */

void clock_modulus(const int *pred, int p, int m_max, int *mod, double *agree, double *acc) {
    long n = (long)p * p, best = -1;
    *mod = p;
    *acc = 0;
    for (int m = 2; m <= m_max; m++) {
        long hit = 0;
        for (int a = 0; a < p; a++)
            for (int b = 0; b < p; b++) hit += pred[a * p + b] == (a + b) % m;
        if (m == p) *acc = (double)hit / (double)n;
        if (hit > best || (hit == best && abs(m - p) < abs(*mod - p))) {
            best = hit;
            *mod = m;
        }
    }
    *agree = (double)best / (double)n;
}

static int cmp_double(const void *x, const void *y) {
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

/* mean square of θ over the template's weight matrices */
static double program_size(const Template *tp, const float *theta) {
    double s = 0;
    long n = 0;
    for (int k = 0; k < tp->n_tensors; k++)
        if (tp->tensors[k].ndim == 2) {
            for (long j = 0; j < tp->tensors[k].numel; j++)
                s += (double)theta[tp->tensors[k].off + j] * theta[tp->tensors[k].off + j];
            n += tp->tensors[k].numel;
        }
    return n ? s / (double)n : 0;
}

/* prime p's program θ on its p² pairs [a, b, '='], argmax per pair into pred and, if margin is
 * not NULL, the median of (the correct class's logit − the largest other's); a is reset and
 * reused, one arena for all the primes */
static void program_answers(Run *r, Arena *a, const float *theta, int p, int *pred, double *margin) {
    const Template *tp = &r->tpl;
    int n = p * p, eq = r->task.vocab - 1; /* '=' is ADDMOD's last token */
    int *tok = xmalloc((size_t)n * 3 * sizeof *tok);
    for (int i = 0; i < n; i++) {
        tok[3 * i] = i / p;
        tok[3 * i + 1] = i % p;
        tok[3 * i + 2] = eq;
    }
    Graph g;
    arena_reset(a);
    graph_init(&g, a);
    g.no_grad = 1;
    Tensor *y = exec_transformer(&g, tp, tensor_wrap(&g, (float *)theta, NULL, SHAPE(1, tp->n_theta)), tok, 1, n);
    const int C = tp->classes;
    double *mg = margin ? xmalloc((size_t)n * sizeof *mg) : NULL;
    for (int i = 0; i < n; i++) {
        const float *l = y->data + (long)i * C;
        pred[i] = logits_argmax(l, C);
        if (!mg) continue;
        int lab = (i / p + i % p) % p;
        double other = -INFINITY;
        for (int c = 0; c < C; c++)
            if (c != lab && l[c] > other) other = l[c];
        mg[i] = (double)l[lab] - other;
    }
    if (mg) {
        qsort(mg, (size_t)n, sizeof *mg, cmp_double);
        *margin = n % 2 ? mg[n / 2] : 0.5 * (mg[n / 2 - 1] + mg[n / 2]);
        free(mg);
    }
    graph_free(&g);
    free(tok);
}

/* ---- on a run ----------------------------------------------------------------------------- */

int clock_analyze(Run *r, int p, ClockReport *rep, Err *e) {
    memset(rep, 0, sizeof *rep);
    const Task *t = &r->task;
    if (t->kind != TASK_ADDMOD)
        return err_set(e, "the clock analysis is for addmod runs; this run's task is %s", t->name);
    if (r->cfg.method == METHOD_DIRECT)
        return err_set(
            e, "the clock analysis needs generated weights; this run is the direct baseline, which generates none");
    int ti = r->tpl.kind == TPL_TRANSFORMER ? template_find(&r->tpl, "embed.weight") : -1;
    if (ti < 0) return err_set(e, "the run's template has no embed.weight tensor");
    const TplTensor *emb = &r->tpl.tensors[ti];
    const int V = emb->shape[0], d = emb->shape[1];
    Intent u0 = {0, p};
    if (!task_intent_valid(t, u0))
        return err_set(e, "p = %d is not an addmod prime (a train or OOD prime below 100)", p);
    if (p > V || p < 3) return err_set(e, "p = %d: the embedding has %d rows; want a prime in 3..%d", p, V, V);
    if (t->n_train + t->n_ood > CLOCK_MAX_PRIMES)
        return err_set(e, "%d primes, at most %d", t->n_train + t->n_ood, CLOCK_MAX_PRIMES);

    snprintf(rep->method, sizeof rep->method, "%s", method_id(r->cfg.method));
    rep->step = r->step;
    rep->d = d;
    rep->flat_rows = V;
    rep->plane_ood = task_is_ood(t, u0);
    /* every prime, ascending */
    rep->n_primes = 0;
    for (int i = 0; i < t->n_train + t->n_ood; i++) {
        Intent u = i < t->n_train ? t->train[i] : t->ood[i - t->n_train];
        int j = rep->n_primes++;
        while (j > 0 && rep->primes[j - 1] > u.param) {
            rep->primes[j] = rep->primes[j - 1];
            rep->ood[j] = rep->ood[j - 1];
            rep->held[j] = rep->held[j - 1];
            j--;
        }
        rep->primes[j] = u.param;
        rep->ood[j] = i >= t->n_train;
        rep->held[j] = i < t->n_train && task_held(t, r->cfg.hold, i);
    }
    const long L = (long)V * d;
    float *theta = xmalloc(r->tpl.n_theta * sizeof *theta);
    double *flat = xmalloc((size_t)rep->n_primes * L * sizeof *flat);
    int *pred = xmalloc((size_t)V * V * sizeof *pred);
    Arena prog;
    arena_init(&prog, 1 << 22);
    ClockPlane own;
    int rc = 0;
    for (int i = 0; i < rep->n_primes && !rc; i++) {
        Intent u = {0, rep->primes[i]};
        run_synth(r, u, theta);
        const float *E = theta + emb->off;
        for (long l = 0; l < L; l++) {
            if (!isfinite(E[l])) {
                rc = err_set(e, "the generated embed.weight of p = %d has a non-finite value", u.param);
                break;
            }
            flat[(size_t)i * L + l] = E[l];
        }
        if (!rc && u.param >= 3) { /* each prime's own plane; the analysed prime's is the report's */
            Err pe;
            int bad = clock_plane(E, u.param, d, &own, &pe);
            if (u.param == p) {
                if (bad) rc = err_set(e, "%s", pe.msg);
                else rep->plane = own;
            }
            rep->freq[i] = bad ? 0 : own.k; /* rows that do not vary have no frequency: k 0 */
            rep->freq_power[i] = bad ? 0 : own.k_power;
        }
        if (!rc) {
            program_answers(r, &prog, theta, u.param, pred, &rep->margin[i]);
            rep->size[i] = program_size(&r->tpl, theta);
            clock_modulus(pred, u.param, t->vocab - 1, &rep->mod[i], &rep->mod_agree[i], &rep->acc[i]);
        }
    }
    /* the odd composites between the train primes */
    int top = 0;
    for (int i = 0; i < t->n_train; i++)
        if (t->train[i].param > top) top = t->train[i].param;
    for (int q = 9; q <= top && q < V && !rc; q += 2) {
        int prime = 1;
        for (int f = 3; f * f <= q; f += 2) prime = prime && q % f;
        if (prime || rep->n_off == CLOCK_MAX_PRIMES) continue;
        int j = rep->n_off++;
        run_synth_at(r, q, theta);
        program_answers(r, &prog, theta, q, pred, NULL);
        rep->off_q[j] = q;
        clock_modulus(pred, q, t->vocab - 1, &rep->off_mod[j], &rep->off_agree[j], &rep->off_acc[j]);
        rep->off_mean += rep->off_acc[j];
    }
    if (rep->n_off) rep->off_mean /= rep->n_off;
    if (!rc) rc = clock_pc1(flat, rep->n_primes, L, rep->pc1, &rep->pc1_var, e);
    if (!rc) rc = clock_fit_cos(rep->primes, rep->pc1, rep->n_primes, 0, &rep->fit, e);
    if (!rc) rc = clock_fit_cos(rep->primes, rep->pc1, rep->n_primes, 1, &rep->fit_c, e);
    arena_free(&prog);
    free(pred);
    free(flat);
    free(theta);
    return rc;
}

/* ---- files -------------------------------------------------------------------------------- */

static int write_embed(FILE *f, void *ctx, Err *e) {
    const ClockReport *rep = ctx;
    const ClockPlane *pl = &rep->plane;
    fprintf(f,
            "# neurop clock: the generated token embedding of p = %d (%s), rows 0..%d of embed.weight on their\n"
            "# top two principal components (PC1 %.1f%%, PC2 %.1f%% of the variance). Dominant frequency k = %d\n"
            "# (%.1f%% of the power); rows in the order m = a*k mod p, the first repeated last to close the circle.\n"
            "# columns: m, token a, PC1, PC2, angle (rad)\n",
            pl->p, rep->plane_ood ? "never seen in training" : "a train prime", pl->p - 1, 100 * pl->var_pc1,
            100 * pl->var_pc2, pl->k, 100 * pl->k_power);
    int ord[CLOCK_MAX_P];
    for (int a = 0; a < pl->p; a++) ord[(long)a * pl->k % pl->p] = a;
    for (int i = 0; i <= pl->p; i++) {
        int m = i % pl->p, a = ord[m];
        fprintf(f, "%d %d %.9g %.9g %.6f\n", m, a, pl->xy[a][0], pl->xy[a][1], atan2(pl->xy[a][1], pl->xy[a][0]));
    }
    return ferror(f) ? err_set(e, "write failed") : 0;
}

static int write_pc1(FILE *f, void *ctx, Err *e) {
    const ClockReport *rep = ctx;
    const ClockFit *a = &rep->fit, *b = &rep->fit_c;
    fprintf(f,
            "# neurop clock: PC1 of each prime's flattened embed.weight (%d rows x %d = %d values), %.1f%% of the\n"
            "# variance across the %d primes, and the fits PC1(p) = A*cos(w/p + phi) (+ c):\n"
            "#   c = 0:  A = %.6g, w = %.6g, phi = %.6g, R2 = %.6f (phase span %.3g rad)\n"
            "#   with c: A = %.6g, w = %.6g, phi = %.6g, c = %.6g, R2 = %.6f (phase span %.3g rad)\n"
            "# block 0 columns: p, 1/p, PC1, fit, fit with c, OOD (1) or train (0) prime\n",
            rep->flat_rows, rep->d, rep->flat_rows * rep->d, 100 * rep->pc1_var, rep->n_primes, a->A, a->omega, a->phi,
            a->r2, a->span, b->A, b->omega, b->phi, b->c, b->r2, b->span);
    for (int i = 0; i < rep->n_primes; i++) {
        int p = rep->primes[i];
        fprintf(f, "%d %.9g %.9g %.9g %.9g %d\n", p, 1.0 / p, rep->pc1[i], clock_fit_eval(a, p), clock_fit_eval(b, p),
                rep->ood[i]);
    }
    /* the curves, evenly spaced in 1/p: even steps in the cosine's phase */
    fprintf(f, "\n\n# block 1: the fitted curves. columns: p, 1/p, fit, fit with c\n");
    if (rep->n_primes > 0) {
        double u0 = 1.0 / rep->primes[0], u1 = 1.0 / rep->primes[rep->n_primes - 1];
        for (int i = 0; i < 1000; i++) {
            double u = u0 + (u1 - u0) * i / 999.0, p = 1 / u;
            fprintf(f, "%.9g %.9g %.9g %.9g\n", p, u, clock_fit_eval(a, p), clock_fit_eval(b, p));
        }
    }
    return ferror(f) ? err_set(e, "write failed") : 0;
}

static void join(char *buf, size_t n, const char *dir, const char *file) { snprintf(buf, n, "%s/%s", dir, file); }

int clock_write_data(const ClockReport *rep, const char *dir, Err *e) {
    char path[1200];
    join(path, sizeof path, dir, "clock_embed.dat");
    if (atomic_write(path, write_embed, (void *)rep, e)) return -1;
    join(path, sizeof path, dir, "clock_pc1.dat");
    return atomic_write(path, write_pc1, (void *)rep, e);
}

static cJSON *fit_json(const ClockFit *f) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "form", f->with_offset ? "A*cos(omega/p + phi) + c" : "A*cos(omega/p + phi)");
    cJSON_AddNumberToObject(o, "A", f->A);
    cJSON_AddNumberToObject(o, "omega", f->omega);
    cJSON_AddNumberToObject(o, "phi", f->phi);
    cJSON_AddNumberToObject(o, "c", f->c);
    cJSON_AddNumberToObject(o, "r2", f->r2);
    cJSON_AddNumberToObject(o, "phase_span", f->span);
    return o;
}

void clock_to_json(const ClockReport *rep, cJSON *obj) {
    const ClockPlane *pl = &rep->plane;
    cJSON_AddStringToObject(obj, "method", rep->method);
    cJSON_AddNumberToObject(obj, "step", rep->step);
    cJSON *o = cJSON_AddObjectToObject(obj, "plane");
    cJSON_AddNumberToObject(o, "p", pl->p);
    cJSON_AddBoolToObject(o, "ood", rep->plane_ood);
    cJSON_AddNumberToObject(o, "d", pl->d);
    cJSON_AddNumberToObject(o, "var_pc1", pl->var_pc1);
    cJSON_AddNumberToObject(o, "var_pc2", pl->var_pc2);
    cJSON_AddNumberToObject(o, "var_top2", pl->var_top2);
    cJSON_AddNumberToObject(o, "k", pl->k);
    cJSON_AddNumberToObject(o, "k_power", pl->k_power);
    cJSON_AddNumberToObject(o, "circularity", pl->circularity);
    cJSON_AddNumberToObject(o, "winding", pl->winding);
    cJSON_AddNumberToObject(o, "max_gap", pl->max_gap);
    cJSON_AddNumberToObject(o, "radius_cv", pl->radius_cv);
    cJSON *pts = cJSON_AddArrayToObject(o, "points"); /* [a, PC1, PC2] per token */
    for (int a = 0; a < pl->p; a++) {
        double v[3] = {a, pl->xy[a][0], pl->xy[a][1]};
        cJSON_AddItemToArray(pts, cJSON_CreateDoubleArray(v, 3));
    }
    cJSON *x = cJSON_AddObjectToObject(obj, "across_primes");
    char flat[128];
    snprintf(flat, sizeof flat, "embed.weight rows 0..%d x %d channels, row-major (%d values per prime)",
             rep->flat_rows - 1, rep->d, rep->flat_rows * rep->d);
    cJSON_AddStringToObject(x, "flattening", flat);
    cJSON_AddNumberToObject(x, "pc1_var", rep->pc1_var);
    cJSON *ps = cJSON_AddArrayToObject(x, "primes");
    for (int i = 0; i < rep->n_primes; i++) {
        cJSON *q = cJSON_CreateObject();
        cJSON_AddNumberToObject(q, "p", rep->primes[i]);
        cJSON_AddBoolToObject(q, "ood", rep->ood[i]);
        cJSON_AddNumberToObject(q, "pc1", rep->pc1[i]);
        cJSON_AddNumberToObject(q, "fit", clock_fit_eval(&rep->fit, rep->primes[i]));
        cJSON_AddBoolToObject(q, "held", rep->held[i]);
        cJSON_AddNumberToObject(q, "acc", rep->acc[i]);
        cJSON_AddNumberToObject(q, "modulus", rep->mod[i]);
        cJSON_AddNumberToObject(q, "modulus_agree", rep->mod_agree[i]);
        cJSON_AddNumberToObject(q, "k", rep->freq[i]);
        cJSON_AddNumberToObject(q, "k_power", rep->freq_power[i]);
        cJSON_AddNumberToObject(q, "margin", rep->margin[i]);
        cJSON_AddNumberToObject(q, "size", rep->size[i]);
        cJSON_AddItemToArray(ps, q);
    }
    cJSON_AddItemToObject(x, "fit", fit_json(&rep->fit));
    cJSON_AddItemToObject(x, "fit_offset", fit_json(&rep->fit_c));
    cJSON *pp = cJSON_AddObjectToObject(x, "paper");
    cJSON_AddStringToObject(pp, "form", "A*cos(omega/p + phi)");
    cJSON_AddNumberToObject(pp, "A", 23.43);
    cJSON_AddNumberToObject(pp, "omega", 5.672);
    cJSON_AddNumberToObject(pp, "phi", 3.631);
    cJSON_AddNumberToObject(pp, "r2_min", 0.94);
    cJSON *b = cJSON_AddObjectToObject(obj, "between_primes");
    cJSON_AddNumberToObject(b, "mean", rep->off_mean);
    cJSON *qs = cJSON_AddArrayToObject(b, "moduli");
    for (int j = 0; j < rep->n_off; j++) {
        cJSON *q = cJSON_CreateObject();
        cJSON_AddNumberToObject(q, "q", rep->off_q[j]);
        cJSON_AddNumberToObject(q, "acc", rep->off_acc[j]);
        cJSON_AddNumberToObject(q, "modulus", rep->off_mod[j]);
        cJSON_AddNumberToObject(q, "modulus_agree", rep->off_agree[j]);
        cJSON_AddItemToArray(qs, q);
    }
}

/* ---- the plot ----------------------------------------------------------------------------- */

static int write_gp(FILE *f, void *ctx, Err *e) {
    const ClockReport *rep = ctx;
    const ClockPlane *pl = &rep->plane;
    const ClockFit *a = &rep->fit;
    fprintf(f, "# neurop clock: the plot of clock_embed.dat and clock_pc1.dat. Re-plot: cd into this folder, gnuplot "
               "clock.gp\n"
               "if (!exists(\"out\")) out = \"clock.png\"\n");
    fprintf(f, gnuplot_png_terminal, 1300, 560, 1300, 560);
    fprintf(f,
            "set output out\n"
            "set multiplot layout 1,2 title \"ADDMOD clock (%s, step %ld)\"\n",
            rep->method, rep->step);
    /* left: the plane, points coloured by a*k mod p, labelled by a, joined in that order */
    fprintf(f,
            "set title \"p = %d%s: token embedding on PC1/PC2 (%.0f%% + %.0f%% of the variance)\\n"
            "dominant frequency k = %d (%.0f%% of the power)\\n"
            "in a*k mod p order: circularity %.2f, winding %d, largest gap %.3f turn%s\"\n"
            "set size ratio -1\nset grid\nset xlabel \"PC1\"\nset ylabel \"PC2\"\n"
            "set palette rgbformulae 33,13,10\nset cbrange [0:%d]\nset cblabel \"a*k mod p\"\n"
            "plot \"clock_embed.dat\" using 3:4 with lines lc rgb \"#c0c0c0\" notitle, \\\n"
            "     \"\" every ::0::%d using 3:4:1 with points pt 7 ps 1.3 lc palette notitle, \\\n"
            "     \"\" every ::0::%d using 3:4:(sprintf(\"%%d\", $2)) with labels offset 0,0.7 font \",7\" notitle\n",
            pl->p, rep->plane_ood ? " (unseen)" : "", 100 * pl->var_pc1, 100 * pl->var_pc2, pl->k, 100 * pl->k_power,
            pl->circularity, pl->winding, pl->max_gap, clock_is_clock(pl) ? ": a clock" : "", pl->p - 1, pl->p - 1,
            pl->p - 1);
    /* right: PC1 per prime and both fits */
    const ClockFit *b = &rep->fit_c;
    fprintf(
        f,
        "unset colorbox\nset size noratio\nset key top right\n"
        "set title \"PC1 of the flattened embed.weight per prime (%.0f%% of the variance)\\n"
        "%.4g*cos(%.4g/p + %.4g): R2 = %.3f;  with offset: R2 = %.3f\\n"
        "paper: 23.43*cos(5.672/p + 3.631), R2 > 0.94\"\n"
        "set xlabel \"p\"\nset ylabel \"PC1\"\nset xrange [0:100]\nset autoscale y\n"
        "plot \"clock_pc1.dat\" index 1 using 1:3 with lines lw 2 lc rgb \"#1f77b4\" title \"A*cos(w/p + phi)\", \\\n"
        "     \"\" index 1 using 1:4 with lines lw 1 dt 2 lc rgb \"#2ca02c\" title \"A*cos(w/p + phi) + c\", \\\n"
        "     \"\" index 0 using ($6 == 0 ? $1 : 1/0):3 with points pt 7 ps 1.1 lc rgb \"#333333\" title \"train "
        "primes\", \\\n"
        "     \"\" index 0 using ($6 == 1 ? $1 : 1/0):3 with points pt 9 ps 1.8 lc rgb \"#d62728\" title \"OOD "
        "primes\"\n"
        "unset multiplot\n",
        100 * rep->pc1_var, a->A, a->omega, a->phi, a->r2, b->r2);
    return ferror(f) ? err_set(e, "write failed") : 0;
}

int clock_plot(const ClockReport *rep, const char *dir, int render, Err *e) {
    char path[1200], tmp[64], tmppath[1300];
    join(path, sizeof path, dir, "clock.gp");
    if (atomic_write(path, write_gp, (void *)rep, e)) return -1;
    if (!render) return 2;
    if (!gnuplot_installed()) return 1;
    /* gnuplot writes a temporary name; the rename makes clock.png appear whole or not at all */
    snprintf(tmp, sizeof tmp, "clock.png.tmp.%ld", (long)getpid());
    join(tmppath, sizeof tmppath, dir, tmp);
    join(path, sizeof path, dir, "clock.png");
    char setting[128];
    snprintf(setting, sizeof setting, "out='%s'", tmp);
    if (gnuplot_run(dir, "clock.gp", setting)) {
        unlink(tmppath);
        return err_set(e, "gnuplot failed on %s/clock.gp (its messages are in %s/gnuplot.log)", dir, dir);
    }
    if (rename(tmppath, path)) {
        int er = errno;
        unlink(tmppath);
        return err_set(e, "cannot write %s: %s", path, strerror(er));
    }
    return 0;
}
