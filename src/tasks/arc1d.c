/* 1D-ARC generators: the seven families of the mixed task, and the ten real families that only
 * the demonstration tasks draw, following the geometry measured on the real files in data/1d-arc
 * (docs/tasks.md lists the ranges). Each generator builds the output
 * from what it placed, by construction; the tests check it against the independent reference
 * rule of arc_rules.c. A generator draws its free values uniformly and redraws the whole row
 * whenever one derived quantity (a margin, the row length) falls outside its measured range.
 *
 * Splits: a fixed hash of the input row decides train/val/test (80/10/10). The row is hashed
 * without its trailing background, i.e. as the network sees it after padding, so two rows that
 * differ only in trailing background (identical model inputs) always share a split. The hash
 * ignores the intent: an IID-test row is never a training input of any intent. */
#include "tasks/arcdemo.h"
#include "tasks/internal.h"
#include <string.h>

#define ARC_SALT 0x4152u /* "AR" */
#define MAX_TRIES 100000 /* redraws per row; every family accepts a large fraction of draws */

static int imin(int a, int b) { return a < b ? a : b; }

static void paint(int *row, int from, int n, int colour) {
    for (int j = 0; j < n; j++) row[from + j] = colour;
}

/* A colour uniform in lo..hi other than avoid (avoid within lo..hi). */
static int colour_except(Rng *r, int lo, int hi, int avoid) {
    int c = rng_range(r, lo, hi - 1);
    return c >= avoid ? c + 1 : c;
}

/* move: one bar (length 3..26, colour 1..8) in a row of 7..30, left margin 0..22, right margin
 * max(3, k)..23 so that the bar never leaves the row (the real files have k <= 3 and margin >= 3). */
static int gen_move(int k, Rng *r, int *in, int *out) {
    int rmin = k > 3 ? k : 3;
    for (int t = 0; t < MAX_TRIES; t++) {
        int L = rng_range(r, 7, 30), len_hi = imin(26, L - rmin);
        if (len_hi < 3) continue;
        int len = rng_range(r, 3, len_hi), lm = rng_range(r, 0, imin(22, L - len - rmin));
        if (L - len - lm > 23) continue;
        int c = rng_range(r, 1, 8);
        paint(in, lm, len, c);
        paint(out, lm + k, len, c);
        return L;
    }
    NP_ASSERT(0, "move generator found no row");
    return 0;
}

/* Bars of one colour, as the 1d_recolor_* files lay them out: n_lo..n_hi bars of size_lo..size_hi
 * cells, 1..3 cells apart, left margin 1..3, right margin 0..rm_hi. Writes the count, sizes and
 * starts and returns the row length, or 0 when it falls outside L_lo..L_hi (draw again). */
typedef struct BarSpec {
    int n_lo, n_hi, size_lo, size_hi, rm_hi, L_lo, L_hi;
} BarSpec;
#define MAX_BARS 7

static int draw_bars(Rng *r, BarSpec s, int *nb, int *size, int *start) {
    *nb = rng_range(r, s.n_lo, s.n_hi);
    int gap[MAX_BARS], L = rng_range(r, 1, 3);
    for (int b = 0; b < *nb; b++) {
        size[b] = rng_range(r, s.size_lo, s.size_hi);
        gap[b] = b + 1 < *nb ? rng_range(r, 1, 3) : rng_range(r, 0, s.rm_hi); /* last: right margin */
        L += size[b] + gap[b];
    }
    if (L < s.L_lo || L > s.L_hi) return 0;
    for (int b = *nb - 1, pos = L; b >= 0; b--) start[b] = pos -= gap[b] + size[b]; /* the left margin remains */
    return L;
}

/* recolor (no real family; invented in the style of the 1d_recolor_* files): 2..5 bars of one
 * colour c_in != c, sizes 1..6, right margin 0..5, row 12..33; the output repaints every bar in c. */
static int gen_recolor(int c, Rng *r, int *in, int *out) {
    for (int t = 0; t < MAX_TRIES; t++) {
        int nb, size[MAX_BARS], start[MAX_BARS], L = draw_bars(r, (BarSpec){2, 5, 1, 6, 5, 12, 33}, &nb, size, start);
        if (!L) continue;
        int cin = colour_except(r, 1, 9, c);
        for (int b = 0; b < nb; b++) {
            paint(in, start[b], size[b], cin);
            paint(out, start[b], size[b], c);
        }
        return L;
    }
    NP_ASSERT(0, "recolor generator found no row");
    return 0;
}

/* flip: a head pixel h then a body of colour b != h (object 3..16 cells) in a row of 9..32,
 * left margin 0..21, right margin 1..21; the output is the object reversed in place. */
static int gen_flip(Rng *r, int *in, int *out) {
    for (int t = 0; t < MAX_TRIES; t++) {
        int L = rng_range(r, 9, 32), len = rng_range(r, 3, imin(16, L - 1));
        int lm = rng_range(r, 0, imin(21, L - len - 1));
        if (L - len - lm > 21) continue;
        int h = rng_range(r, 1, 9), b = colour_except(r, 1, 9, h);
        in[lm] = h;
        paint(in, lm + 1, len - 1, b);
        paint(out, lm, len - 1, b);
        out[lm + len - 1] = h;
        return L;
    }
    NP_ASSERT(0, "flip generator found no row");
    return 0;
}

/* fill and hollow share the real files' base geometry: a span of 3..26 cells (two end pixels,
 * inner gap 1..24) in colour 1..8, row 8..31, left margin 0..20, right margin 1..21. */
static int gen_span(Rng *r, int *lm, int *span, int *colour) {
    for (int t = 0; t < MAX_TRIES; t++) {
        int L = rng_range(r, 8, 31);
        *span = rng_range(r, 3, imin(26, L - 1));
        *lm = rng_range(r, 0, imin(20, L - *span - 1));
        if (L - *span - *lm > 21) continue;
        *colour = rng_range(r, 1, 8);
        return L;
    }
    NP_ASSERT(0, "fill/hollow generator found no row");
    return 0;
}

static int gen_fill(Rng *r, int *in, int *out) {
    int lm, span, c, L = gen_span(r, &lm, &span, &c);
    in[lm] = in[lm + span - 1] = c;
    paint(out, lm, span, c);
    return L;
}

static int gen_hollow(Rng *r, int *in, int *out) {
    int lm, span, c, L = gen_span(r, &lm, &span, &c);
    paint(in, lm, span, c);
    out[lm] = out[lm + span - 1] = c;
    return L;
}

/* mirror: a bar (3..9 cells, colour 1..7) left of a colour-9 pivot at gap 1..5, left margin
 * 0..11, row 12..32; the output has the bar at the same gap right of the pivot, whose right
 * margin is 1..11. */
static int gen_mirror(Rng *r, int *in, int *out) {
    for (int t = 0; t < MAX_TRIES; t++) {
        int len = rng_range(r, 3, 9), g = rng_range(r, 1, 5), lm = rng_range(r, 0, 11), rm = rng_range(r, 1, 11);
        int L = lm + len + g + 1 + g + len + rm;
        if (L < 12 || L > 32) continue;
        int c = rng_range(r, 1, 7), q = lm + len + g;
        paint(in, lm, len, c);
        in[q] = out[q] = 9;
        paint(out, q + 1 + g, len, c);
        return L;
    }
    NP_ASSERT(0, "mirror generator found no row");
    return 0;
}

/* denoise: a main bar (10..15 cells, colour 1..8) and 1..6 singleton noise pixels of the same
 * colour, 0..4 left and 0..5 right of it, 2..4 cells apart; gap noise->bar 1..13 on the left and
 * 2..4 on the right; left margin 0..5, right margin 1..15; row 32..33. Output: the bar alone. */
static int gen_denoise(Rng *r, int *in, int *out) {
    for (int t = 0; t < MAX_TRIES; t++) {
        int L = rng_range(r, 32, 33), len = rng_range(r, 10, 15), nl = rng_range(r, 0, 4), nr = rng_range(r, 0, 5);
        if (nl + nr < 1 || nl + nr > 6) continue;
        int pos[6], np = 0, x = rng_range(r, 0, 5);
        for (int i = 0; i < nl; i++) {
            pos[np++] = x;
            x += 1 + (i + 1 < nl ? rng_range(r, 2, 4) : rng_range(r, 1, 13));
        }
        int bar = x;
        x += len;
        for (int i = 0; i < nr; i++) {
            x += rng_range(r, 2, 4);
            pos[np++] = x++;
        }
        int rm = L - x;
        if (rm < 1 || rm > 15) continue;
        int c = rng_range(r, 1, 8);
        paint(in, bar, len, c);
        paint(out, bar, len, c);
        for (int i = 0; i < np; i++) in[pos[i]] = c;
        return L;
    }
    NP_ASSERT(0, "denoise generator found no row");
    return 0;
}

/* ---- the ten families that only the demonstration tasks (arcdemo.c) draw ---------------- */

/* The move base with a marker of colour v->marker right of the bar, gap_hi and dist_hi the
 * measured ranges of the gap and of the marker's distance to the right border:
 *   1d_move_dp (gap 2..14) and 1d_move_2p_dp (gap always 2): the bar moves right until it
 *   touches the marker; 1d_scale_dp (gap 2..19, stretch): its right end extends until it does.
 * The bar (colour 1..8, never the marker's) has the move base's geometry; the marker sits
 * uniformly in the cells at least two beyond the bar, as the real files' generator places it
 * (gap_hi 2: exactly two beyond). */
static int gen_marker(const ArcTaskVals *v, int gap_hi, int dist_hi, int stretch, Rng *r, int *in, int *out) {
    for (int t = 0; t < MAX_TRIES; t++) {
        int L = rng_range(r, 7, 30), len_hi = imin(26, L - 3);
        if (len_hi < 3) continue;
        int len = rng_range(r, 3, len_hi), lm = rng_range(r, 0, imin(22, L - len - 3)), end = lm + len;
        if (L - end > 23) continue;
        int gap = gap_hi == 2 ? 2 : rng_range(r, 2, L - end - 1), m = end + gap;
        if (gap > gap_hi || L - 1 - m > dist_hi) continue;
        int c = v->marker <= 8 ? colour_except(r, 1, 8, v->marker) : rng_range(r, 1, 8);
        paint(in, lm, len, c);
        paint(out, stretch ? lm : lm + gap, stretch ? len + gap : len, c);
        in[m] = out[m] = v->marker;
        return L;
    }
    NP_ASSERT(0, "marker generator found no row");
    return 0;
}

/* 1d_padded_fill: a fill row (its own geometry) written three times; so is its output. */
static int gen_padded_fill(Rng *r, int *in, int *out) {
    int m = gen_fill(r, in, out);
    for (int k = 1; k < 3; k++) {
        memcpy(in + k * m, in, sizeof *in * (size_t)m);
        memcpy(out + k * m, out, sizeof *out * (size_t)m);
    }
    return 3 * m;
}

/* 1d_denoising_mc: one segment of 20..26 cells in a main colour 1..9 (left margin 0..9, right
 * margin 3..12, row 32..33) with 1..4 noise cells of other colours at least two cells inside
 * either end; the output is the segment in its main colour. */
static int gen_denoise_mc(Rng *r, int *in, int *out) {
    for (int t = 0; t < MAX_TRIES; t++) {
        int L = rng_range(r, 32, 33), len = rng_range(r, 20, 26), lm = rng_range(r, 0, 9), rm = L - lm - len;
        if (rm < 3 || rm > 12) continue;
        int c = rng_range(r, 1, 9), n = rng_range(r, 1, 4);
        paint(in, lm, len, c);
        paint(out, lm, len, c);
        for (int i = 0; i < n; i++) in[rng_range(r, lm + 2, lm + len - 3)] = colour_except(r, 1, 9, c);
        return L;
    }
    NP_ASSERT(0, "denoise_mc generator found no row");
    return 0;
}

/* 1d_pcopy_1c / 1d_pcopy_mc: a 3-cell template from cell 1 or 2, then 1..3 single pixels, each
 * to become a 3-cell bar centred on it, 1..3 background cells between consecutive bars; right
 * margin of the input 11..26, row 32..33. The pixels take the template's colour (1c) or each its
 * own (mc); the output widens each to three cells. */
static int gen_pcopy(int multicolour, Rng *r, int *in, int *out) {
    for (int t = 0; t < MAX_TRIES; t++) {
        int L = rng_range(r, 32, 33), t0 = rng_range(r, 1, 2), n = rng_range(r, 1, 3), centre[3], x = t0 + 3;
        for (int i = 0; i < n; i++) {
            x += rng_range(r, 1, 3);
            centre[i] = x + 1;
            x += 3;
        }
        int rm = L - 1 - centre[n - 1];
        if (rm < 11 || rm > 26) continue;
        int c = rng_range(r, 1, 9);
        paint(in, t0, 3, c);
        paint(out, t0, 3, c);
        for (int i = 0; i < n; i++) {
            int ci = multicolour ? rng_range(r, 1, 9) : c;
            in[centre[i]] = ci;
            paint(out, centre[i] - 1, 3, ci);
        }
        return L;
    }
    NP_ASSERT(0, "pcopy generator found no row");
    return 0;
}

/* The three 1d_recolor_* families: bars of the task's colour v->cin, recoloured per bar by
 *   cmp: 2..7 bars of 1..v->maxlen cells, 1..4 of them v->maxlen long -> those in col[0], row 17..33;
 *   cnt: 2..5 bars of 1..3 cells, size s -> col[s - 1], row 12..33;
 *   oe:  1..5 bars of 1..6 cells, odd -> col[0], even -> col[1], row 13..33. */
static int gen_recolor_real(int fam, const ArcTaskVals *v, Rng *r, int *in, int *out) {
    BarSpec spec = fam == ARCD_RECOLOR_CMP   ? (BarSpec){2, 7, 1, v->maxlen, 9, 17, 33}
                   : fam == ARCD_RECOLOR_CNT ? (BarSpec){2, 5, 1, 3, 18, 12, 33}
                                             : (BarSpec){1, 5, 1, 6, 12, 13, 33};
    for (int t = 0; t < MAX_TRIES; t++) {
        int nb, size[MAX_BARS], start[MAX_BARS], L = draw_bars(r, spec, &nb, size, start), longest = 0;
        if (!L) continue;
        for (int b = 0; b < nb; b++) longest += fam == ARCD_RECOLOR_CMP && size[b] == v->maxlen;
        if (fam == ARCD_RECOLOR_CMP && (longest < 1 || longest > 4)) continue;
        for (int b = 0; b < nb; b++) {
            int c = fam == ARCD_RECOLOR_CMP   ? (size[b] == v->maxlen ? v->col[0] : v->cin)
                    : fam == ARCD_RECOLOR_CNT ? v->col[size[b] - 1]
                                              : v->col[size[b] % 2 ? 0 : 1];
            paint(in, start[b], size[b], v->cin);
            paint(out, start[b], size[b], c);
        }
        return L;
    }
    NP_ASSERT(0, "recolor generator found no row");
    return 0;
}

int arc_generate_demo_row(int fam, const ArcTaskVals *v, Rng *r, int *in, int *out) {
    memset(in, 0, sizeof *in * ARC_DEMO_MAX_LEN);
    memset(out, 0, sizeof *out * ARC_DEMO_MAX_LEN);
    switch (fam) {
    case ARCD_DENOISING_MC: return gen_denoise_mc(r, in, out);
    case ARCD_MOVE_DP: return gen_marker(v, 14, 20, 0, r, in, out);
    case ARCD_MOVE_2P_DP: return gen_marker(v, 2, 20, 0, r, in, out);
    case ARCD_SCALE_DP: return gen_marker(v, 19, 14, 1, r, in, out);
    case ARCD_PADDED_FILL: return gen_padded_fill(r, in, out);
    case ARCD_PCOPY_1C: return gen_pcopy(0, r, in, out);
    case ARCD_PCOPY_MC: return gen_pcopy(1, r, in, out);
    case ARCD_RECOLOR_CMP:
    case ARCD_RECOLOR_CNT:
    case ARCD_RECOLOR_OE: return gen_recolor_real(fam, v, r, in, out);
    }
    Intent u; /* one of the eight real families of the mixed task's intents */
    NP_ASSERT(arc_family_intent(arc_demo_name(fam), &u), "no generator for family %d", fam);
    return arc_generate(u, r, in, out);
}

int arc_generate(Intent u, Rng *r, int *in, int *out) {
    memset(in, 0, sizeof *in * ARC_MAX_LEN);
    memset(out, 0, sizeof *out * ARC_MAX_LEN);
    switch (u.family) {
    case ARC_MOVE: return gen_move(u.param, r, in, out);
    case ARC_RECOLOR: return gen_recolor(u.param, r, in, out);
    case ARC_FLIP: return gen_flip(r, in, out);
    case ARC_FILL: return gen_fill(r, in, out);
    case ARC_HOLLOW: return gen_hollow(r, in, out);
    case ARC_MIRROR: return gen_mirror(r, in, out);
    case ARC_DENOISE: return gen_denoise(r, in, out);
    }
    NP_ASSERT(0, "bad ARC family %d", u.family);
    return 0;
}

Split arc_split_of(const int *tok, int seq_len) {
    int n = seq_len;
    while (n > 0 && tok[n - 1] == 0) n--;
    return split_from_hash(task_hash_ints(ARC_SALT, tok, n));
}

void arc_draw(const Task *t, Intent u, Split s, Rng *r, int *tok, int *lab) {
    int in[ARC_MAX_LEN], out[ARC_MAX_LEN], L;
    /* Rejection on the row's split: 80% of rows are train, 10% each val and test. */
    do L = arc_generate(u, r, in, out);
    while (s != SPLIT_OOD && arc_split_of(in, L) != s);
    for (int j = 0; j < t->seq_len; j++) {
        tok[j] = j < L ? in[j] : 0;
        lab[j] = j < L ? out[j] : -1;
    }
}
