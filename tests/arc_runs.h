/* What the 1D-ARC geometry checkers of the tests share: a row's maximal runs of one non-background
 * colour, and the two macros their checks are written in. */
#ifndef NEUROP_TEST_ARC_RUNS_H
#define NEUROP_TEST_ARC_RUNS_H

typedef struct {
    int start, len, colour;
} Seg;

/* The runs of row[0..L), left to right, into s; returns their count. */
static inline int segs(const int *row, int L, Seg *s) {
    int n = 0;
    for (int j = 0; j < L;) {
        int k = j;
        while (k < L && row[k] == row[j]) k++;
        if (row[j]) s[n++] = (Seg){j, k - j, row[j]};
        j = k;
    }
    return n;
}

#define IN(v, lo, hi) ((v) >= (lo) && (v) <= (hi))
/* In a checker returning NULL or the failed condition's text. */
#define GEOM(cond)                 \
    do {                           \
        if (!(cond)) return #cond; \
    } while (0)

/* The measured geometry of the families both the mixed task and the demonstration tasks draw
 * (docs/tasks.md): NULL when the input's runs s[0..n) (and the output's o[0..no)) fit, else the
 * failed condition. */

/* move: one bar of 3..26 cells, colour 1..8, left margin 0..22, right margin rmin..23 (to the
 * border), row 7..30. */
static inline const char *geom_move(Seg b, int L, int rmin) {
    GEOM(IN(L, 7, 30) && IN(b.len, 3, 26) && IN(b.start, 0, 22) && IN(L - b.start - b.len, rmin, 23) &&
         IN(b.colour, 1, 8));
    return NULL;
}

/* fill (two end pixels) or hollow (a solid bar) in a row of L cells. */
static inline const char *geom_fill(int fill, const Seg *s, int n, int L) {
    GEOM(IN(L, 8, 31));
    if (fill) GEOM(n == 2 && s[0].len == 1 && s[1].len == 1 && s[0].colour == s[1].colour);
    else GEOM(n == 1);
    int span = s[n - 1].start + s[n - 1].len - s[0].start;
    GEOM(IN(span, 3, 26) && IN(s[0].start, 0, 20) && IN(L - s[0].start - span, 1, 21) && IN(s[0].colour, 1, 8));
    return NULL;
}

static inline const char *geom_flip(const Seg *s, int n, int L) {
    GEOM(IN(L, 9, 32) && n == 2 && s[0].len == 1 && s[1].start == s[0].start + 1 && s[0].colour != s[1].colour);
    int len = 1 + s[1].len;
    GEOM(IN(len, 3, 16) && IN(s[0].start, 0, 21) && IN(L - s[0].start - len, 1, 21));
    return NULL;
}

static inline const char *geom_mirror(const Seg *s, int n, const Seg *o, int no, int L) {
    GEOM(IN(L, 12, 32) && n == 2 && s[1].colour == 9 && s[1].len == 1 && IN(s[0].colour, 1, 7));
    GEOM(IN(s[0].len, 3, 9) && IN(s[0].start, 0, 11) && IN(s[1].start - s[0].start - s[0].len, 1, 5));
    GEOM(no == 2 && IN(L - o[1].start - o[1].len, 1, 11));
    return NULL;
}

/* denoise (1d_denoising_1c): the longest bar and singleton noise of its colour around it. */
static inline const char *geom_denoise(const Seg *s, int n, int L) {
    int b = 0;
    for (int i = 1; i < n; i++)
        if (s[i].len > s[b].len) b = i;
    GEOM(IN(L, 32, 33) && IN(s[b].len, 10, 15) && IN(s[b].colour, 1, 8));
    GEOM(IN(n - 1, 1, 6) && IN(b, 0, 4) && IN(n - 1 - b, 0, 5));
    for (int i = 0; i < n; i++) GEOM(i == b || (s[i].len == 1 && s[i].colour == s[b].colour));
    for (int i = 1; i < n; i++) {
        int gap = s[i].start - s[i - 1].start - s[i - 1].len;
        GEOM(i == b || i - 1 == b ? IN(gap, 1, 13) : IN(gap, 2, 4));
    }
    return NULL;
}

#endif
