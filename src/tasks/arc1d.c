/* 1D-ARC mixed: generators for the seven families, following the geometry measured on the real
 * files in data/1d-arc (docs/tasks.md lists the ranges). Each generator builds the output
 * from what it placed, by construction; the tests check it against the independent reference
 * rule of arc_rules.c. A generator draws its free values uniformly and redraws the whole row
 * whenever one derived quantity (a margin, the row length) falls outside its measured range.
 *
 * Splits: a fixed hash of the input row decides train/val/test (80/10/10). The row is hashed
 * without its trailing background, i.e. as the network sees it after padding, so two rows that
 * differ only in trailing background (identical model inputs) always share a split. The hash
 * ignores the intent: an IID-test row is never a training input of any intent. */
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

/* recolor (no real family; invented in the style of the 1d_recolor_* files): 2..5 bars of one
 * colour c_in != c, sizes 1..6, gaps 1..3, left margin 1..3, right margin 0..5, row 12..33;
 * the output repaints every bar in c. */
static int gen_recolor(int c, Rng *r, int *in, int *out) {
    for (int t = 0; t < MAX_TRIES; t++) {
        int nb = rng_range(r, 2, 5), size[5], gap[5], L = rng_range(r, 1, 3);
        for (int b = 0; b < nb; b++) {
            size[b] = rng_range(r, 1, 6);
            gap[b] = b + 1 < nb ? rng_range(r, 1, 3) : rng_range(r, 0, 5); /* last: right margin */
            L += size[b] + gap[b];
        }
        if (L < 12 || L > 33) continue;
        int cin = colour_except(r, 1, 9, c), pos = L;
        for (int b = nb - 1; b >= 0; b--) { /* right to left: the left margin is what remains */
            pos -= gap[b] + size[b];
            paint(in, pos, size[b], cin);
            paint(out, pos, size[b], c);
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
