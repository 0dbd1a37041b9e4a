/* The ADDMOD "clock" analysis (the paper's, docs/clock.md) of the token embeddings a
 * meta-learner generates, θ = M(p), with no training and no data:
 *
 * - one prime p (the unseen 83, as in the paper): PCA of the p used rows of `embed.weight`, the
 *   share of variance in PC1, PC2 and both, each token's (PC1, PC2) point, the dominant frequency
 *   k of that plane, and how well the tokens ordered by a·k mod p go round it;
 * - every prime (train and OOD): PCA of each prime's whole flattened `embed.weight` (all vocab
 *   rows), the PC1 score per prime, and the closed form PC1(p) ≈ A·cos(ω/p + φ) fitted to it (and
 *   the same with an offset c).
 *
 * What it promises: everything is computed in double from θ alone, deterministically (same run,
 * same numbers, on every machine up to floating-point summation order); PC signs are fixed by a
 * stated rule (the largest-magnitude entry is positive); fractions are in [0, 1]; A ≥ 0,
 * φ ∈ [0, 2π), ω in [CLOCK_OMEGA_MIN, CLOCK_OMEGA_MAX]. The core functions take plain arrays, so
 * they are usable (and tested) without a Run. */
#ifndef NEUROP_CLOCK_H
#define NEUROP_CLOCK_H
#include "train/train.h"
#include <cJSON.h>

#define CLOCK_PRIME 83       /* the paper's unseen prime */
#define CLOCK_MAX_P 128      /* tokens of the analysed prime (ADDMOD's vocab is 101) */
#define CLOCK_MAX_PRIMES 32  /* ADDMOD has 25 */
#define CLOCK_OMEGA_MIN 0.05 /* the fit's search range for ω */
#define CLOCK_OMEGA_MAX 50.0

/* ---- the core, on plain arrays ------------------------------------------------------------ */

/* Eigen-decomposition of a symmetric n×n matrix a (row-major; overwritten) by cyclic Jacobi
 * rotations: w[n] the eigenvalues in descending order, v[n*n] row i the unit eigenvector of w[i]
 * (its largest-magnitude entry positive). Returns the number of sweeps, or -1 if the off-diagonal
 * part did not vanish within 100 sweeps (w and v then hold the last iterate). */
int clock_eigen_sym(int n, double *a, double *w, double *v);

/* One prime's clock: PCA of the p used embedding rows and the frequency analysis of the plane of
 * the top two components. */
typedef struct ClockPlane {
    int p, d;
    double var_pc1, var_pc2, var_top2; /* shares of the total variance of the p centred rows */
    /* z_a = PC1_a + i·PC2_a; F(k) = Σ_a z_a e^{-2πi k a/p}. The power of frequency k is
     * |F(k)|² + |F(p-k)|² (both orientations: a PC's sign is arbitrary); k maximizes it over
     * 1..(p-1)/2 and k_power is its share of the total power Σ_k |F(k)|² = p·Σ_a |z_a|². */
    int k;
    double k_power;
    /* Tokens in the order m = a·k mod p, m = 0..p-1 and back to 0: the p cyclic steps' angle
     * changes Δ (wrapped into (-π, π]) in the whitened plane (PC1 and PC2 each scaled to unit
     * variance, so that a clock seen through a linear map, an ellipse, is a circle again).
     * circularity: the share of steps turning the way the total turn goes (1 for a clock, about
     * 0.5 for unordered points); winding: that total turn in whole turns (1 for a clock);
     * max_gap: the largest |Δ| as a share of a turn (1/p for evenly spaced tokens; an arc that
     * does not close has one large gap); radius_cv: std/mean of the whitened |z_a| (0: a circle). */
    double circularity, max_gap, radius_cv;
    int winding;
    double xy[CLOCK_MAX_P][2]; /* token a's (PC1, PC2) */
} ClockPlane;
/* What the summaries call a clock: circularity >= 0.9, winding 1 and max_gap <= 3/p (the tokens
 * go round once, nearly evenly: an arc, which an untrained Meta-GNN's positional encodings already
 * give, has circularity 1 and winding 1 but one gap of the missing part of the circle). */
int clock_is_clock(const ClockPlane *pl);
/* emb: the p×d rows (row-major, float32 as in θ). -1 with a message if p or d is out of range
 * (p in 3..CLOCK_MAX_P, d >= 2), a value is not finite, or the rows do not vary at all. */
int clock_plane(const float *emb, int p, int d, ClockPlane *pl, Err *e);

/* PCA of n row vectors of length m (x row-major, n small: it works on the n×n Gram matrix of the
 * centred rows): score[i] = row i's coordinate on PC1 (centred: they sum to 0), *var_pc1 = PC1's
 * share of the variance. Sign rule: the largest-magnitude score is positive. -1 if n < 2, a
 * value is not finite or the rows are all equal. */
int clock_pc1(const double *x, int n, long m, double *score, double *var_pc1, Err *e);

/* y ≈ A·cos(ω/p + φ) + c over n points, least squares: for each ω on a grid of step 0.005 over
 * [CLOCK_OMEGA_MIN, CLOCK_OMEGA_MAX], A and φ (and c) by linear least squares on cos(ω/p),
 * sin(ω/p) (and 1); the best ω is then refined by golden-section search within one grid step.
 * with_offset = 0 fixes c = 0 (the paper's form). r2 = 1 - SS_res/SS_tot (SS_tot about the mean).
 * Changing the sign of y gives φ + π (and -c). */
/* span: ω·(1/p_min - 1/p_max), the phase the cosine sweeps over the data; when it is small (say
 * below 1 rad) the cosine is only a line or parabola in 1/p there and A, φ mean little. */
typedef struct ClockFit {
    double A, omega, phi, c, r2, span;
    int with_offset;
} ClockFit;
int clock_fit_cos(const int *primes, const double *y, int n, int with_offset, ClockFit *f, Err *e);
double clock_fit_eval(const ClockFit *f, double p);

/* The modulus a program computes. pred[a·p + b] is its answer to a + b for every pair a, b < p;
 * m runs over 2..m_max. *mod is the m whose (a + b) mod m agrees with most answers (on a tie, the
 * one nearest p, then the smaller), *agree that share; *acc the share at m = p. A program that
 * has learned an unseen prime computes mod p; one that snaps to a train prime computes mod that
 * prime (docs/clock.md). For m >= 2p - 1 the sum never wraps, so plain addition is mod 2p - 1. */
void clock_modulus(const int *pred, int p, int m_max, int *mod, double *agree, double *acc);

/* ---- on a run ------------------------------------------------------------------------------ */

typedef struct ClockReport {
    char method[16];  /* method_id of the run */
    long step;        /* the checkpoint's step */
    ClockPlane plane; /* the analysed prime */
    int plane_ood;    /* it is an OOD prime */
    /* across primes, ascending */
    int n_primes;
    int primes[CLOCK_MAX_PRIMES], ood[CLOCK_MAX_PRIMES];
    int held[CLOCK_MAX_PRIMES];   /* a train prime the run kept out of training (--set hold) */
    double pc1[CLOCK_MAX_PRIMES]; /* PC1 score of each prime's flattened embed.weight */
    int flat_rows, d;             /* flattened: rows 0..flat_rows-1 (all vocab rows) × d */
    double pc1_var;               /* PC1's share of the variance across primes */
    ClockFit fit;                 /* the paper's form A·cos(ω/p + φ), c = 0 */
    ClockFit fit_c;               /* with an offset c (PC1 scores are centred: docs/clock.md) */
    /* each prime's program on all its p² pairs: exact match, and the modulus it computes
     * (clock_modulus over m = 2..vocab-1) with that modulus' agreement */
    double acc[CLOCK_MAX_PRIMES], mod_agree[CLOCK_MAX_PRIMES];
    int mod[CLOCK_MAX_PRIMES];
    /* the dominant frequency k of each prime's own plane (clock_plane on its p used rows; 0 for
     * p < 3) and its share of the plane's power. A generator whose programs follow p uses one
     * family across primes (k = (p - 1)/2 or a fixed k: the angle per token a smooth function of
     * p); k/p roughly constant with k jumping between neighbours is a family that cannot be
     * interpolated (docs/clock.md) */
    int freq[CLOCK_MAX_PRIMES];
    double freq_power[CLOCK_MAX_PRIMES];
    /* how sure and how large each program is: the median over its p² pairs of the correct class's
     * logit minus the largest other (all classes; > 0 where it is right), and the mean square of θ
     * over the template's weight matrices (what theta_l2 penalizes above theta_ms). A clock of more
     * positions puts neighbouring answers closer, so a large prime needs a larger program or finer
     * angles to be answered as surely as a small one (docs/clock.md) */
    double margin[CLOCK_MAX_PRIMES], size[CLOCK_MAX_PRIMES];
    /* moduli between the train primes that are not primes: every odd composite q from 9 to the
     * largest train prime, its program made from the intent features at q (run_synth_at) and scored
     * mod q on all q² pairs, with the modulus it computes. No run trains, validates or is tested
     * on them; they ask what the OOD primes ask (does the program follow the modulus between the
     * trained ones, across the same gaps?) without being OOD intents (docs/clock.md). Odd only:
     * every train prime but 2 is odd, and a clock of k = (q − 1)/2 needs an odd q. */
    int n_off;
    int off_q[CLOCK_MAX_PRIMES], off_mod[CLOCK_MAX_PRIMES];
    double off_acc[CLOCK_MAX_PRIMES], off_agree[CLOCK_MAX_PRIMES];
    double off_mean; /* mean of off_acc */
} ClockReport;

/* Runs the analysis on an opened ADDMOD run whose method generates weights (not direct): θ =
 * run_synth(p) for every train and OOD prime, their `embed.weight` and the modulus each program
 * computes, the programs of the odd composite moduli between them, and the plane of prime p
 * (CLOCK_PRIME for the paper's). -1 with a one-line message for another task, the direct method,
 * a template without embed.weight, an invalid p, or non-finite generated weights. */
int clock_analyze(Run *r, int p, ClockReport *rep, Err *e);

/* Writes, atomically, dir/clock_embed.dat (the plane: tokens in a·k mod p order, the first
 * repeated at the end to close the circle) and dir/clock_pc1.dat (block 0: PC1 and the fit per
 * prime; block 1: the fitted curve, 1000 points evenly spaced in 1/p). dir must exist. */
int clock_write_data(const ClockReport *rep, const char *dir, Err *e);
/* Adds the report's numbers to obj (keys in docs/clock.md). */
void clock_to_json(const ClockReport *rep, cJSON *obj);
/* Writes dir/clock.gp and, when render, runs gnuplot in dir on the two data files (write them
 * first with clock_write_data): dir/clock.png, written to a temporary name and renamed. Returns 0
 * with the PNG written, 1 when gnuplot is not installed, 2 when not asked to render (the script
 * is written in both cases), -1 with a message if gnuplot failed (its messages are in
 * dir/gnuplot.log) or a file could not be written. */
int clock_plot(const ClockReport *rep, const char *dir, int render, Err *e);

#endif
