/* Reference rules of the 1D-ARC intents and of the 18 real families' demonstration tasks, written
 * from the rule text alone (docs/tasks.md): each reads its objects (and a demonstration task's
 * per-task values, from its examples) off the rows and shares no code or geometry with the generators (arc1d.c),
 * so a test that compares the two checks something. The same functions reproduce the real files. */
#include "tasks/arcdemo.h"
#include <string.h>

/* First and last non-background cell; returns 0 for an empty row. */
static int extent(const int *in, int len, int *first, int *last) {
    *first = 0;
    while (*first < len && !in[*first]) (*first)++;
    if (*first == len) return 0;
    *last = len - 1;
    while (!in[*last]) (*last)--;
    return 1;
}

/* Shift every non-background cell k to the right; cells pushed past the end are lost. */
static void rule_move(int k, const int *in, int len, int *out) {
    memset(out, 0, sizeof *out * (size_t)len);
    for (int j = 0; j + k < len; j++)
        if (in[j]) out[j + k] = in[j];
}

static void rule_recolor(int c, const int *in, int len, int *out) {
    for (int j = 0; j < len; j++) out[j] = in[j] ? c : 0;
}

/* Reverse the object (everything between the outermost non-background cells) in place. */
static void rule_flip(const int *in, int len, int *out) {
    int s, e;
    memcpy(out, in, sizeof *out * (size_t)len);
    if (!extent(in, len, &s, &e)) return;
    for (int j = s; j <= e; j++) out[s + e - j] = in[j];
}

/* Paint from the first pixel to the last in the first pixel's colour. */
static void rule_fill(const int *in, int len, int *out) {
    int s, e;
    memcpy(out, in, sizeof *out * (size_t)len);
    if (!extent(in, len, &s, &e)) return;
    for (int j = s; j <= e; j++) out[j] = in[s];
}

/* Keep the two end cells of the bar. */
static void rule_hollow(const int *in, int len, int *out) {
    int s, e;
    memset(out, 0, sizeof *out * (size_t)len);
    if (!extent(in, len, &s, &e)) return;
    out[s] = in[s];
    out[e] = in[e];
}

/* Reflect every cell through the colour-9 pivot; the pivot stays. */
static void rule_mirror(const int *in, int len, int *out) {
    int q = 0;
    while (q < len && in[q] != 9) q++;
    memset(out, 0, sizeof *out * (size_t)len);
    if (q == len) return;
    out[q] = 9;
    for (int j = 0; j < len; j++) {
        int m = 2 * q - j;
        if (j != q && in[j] && m >= 0 && m < len) out[m] = in[j];
    }
}

/* Keep only the longest maximal run of one colour (the first, on a tie). */
static void rule_denoise(const int *in, int len, int *out) {
    int best = -1, best_len = 0;
    for (int j = 0; j < len;) {
        int k = j;
        while (k < len && in[k] == in[j]) k++;
        if (in[j] && k - j > best_len) {
            best = j;
            best_len = k - j;
        }
        j = k;
    }
    memset(out, 0, sizeof *out * (size_t)len);
    for (int j = 0; j < best_len; j++) out[best + j] = in[best + j];
}

void arc_rule(Intent u, const int *in, int len, int *out) {
    switch (u.family) {
    case ARC_MOVE: rule_move(u.param, in, len, out); return;
    case ARC_RECOLOR: rule_recolor(u.param, in, len, out); return;
    case ARC_FLIP: rule_flip(in, len, out); return;
    case ARC_FILL: rule_fill(in, len, out); return;
    case ARC_HOLLOW: rule_hollow(in, len, out); return;
    case ARC_MIRROR: rule_mirror(in, len, out); return;
    case ARC_DENOISE: rule_denoise(in, len, out); return;
    }
    NP_ASSERT(0, "bad ARC family %d", u.family);
}

/* ---- the demonstration tasks' rules (arcdemo.h) ------------------------------------------- */

typedef struct Bar {
    int start, len, colour;
} Bar;

/* The maximal runs of one non-background colour, left to right. */
static int bars_of(const int *row, int len, Bar *b) {
    int n = 0;
    for (int j = 0; j < len;) {
        int k = j;
        while (k < len && row[k] == row[j]) k++;
        if (row[j]) b[n++] = (Bar){j, k - j, row[j]};
        j = k;
    }
    return n;
}

static void paint_bar(int *out, int from, int n, int colour) {
    for (int j = 0; j < n; j++) out[from + j] = colour;
}

/* The bar left of the marker (the rightmost cell) moves right until it touches the marker, or
 * (stretch) its right end extends until it does. */
static void rule_to_marker(int stretch, const int *in, int len, int *out) {
    Bar b[ARC_DEMO_MAX_LEN];
    int n = bars_of(in, len, b);
    memcpy(out, in, sizeof *out * (size_t)len);
    if (n < 2) return;
    Bar bar = b[n - 2];
    int gap = b[n - 1].start - bar.start - bar.len;
    paint_bar(out, bar.start, bar.len, 0);
    if (stretch) paint_bar(out, bar.start, bar.len + gap, bar.colour);
    else paint_bar(out, bar.start + gap, bar.len, bar.colour);
}

/* Fill between the 1st and 2nd pixel, the 3rd and 4th, ..., each span in its first pixel's colour. */
static void rule_fill_pairs(const int *in, int len, int *out) {
    memcpy(out, in, sizeof *out * (size_t)len);
    for (int j = 0; j < len; j++) {
        if (!in[j]) continue;
        int k = j + 1;
        while (k < len && !in[k]) k++;
        if (k == len) return;
        paint_bar(out, j, k - j + 1, in[j]);
        j = k;
    }
}

/* Every non-background segment in its most frequent colour (the smallest colour on a tie). */
static void rule_majority(const int *in, int len, int *out) {
    memcpy(out, in, sizeof *out * (size_t)len);
    for (int j = 0; j < len;) {
        if (!in[j]) {
            j++;
            continue;
        }
        int k = j, count[ARC_COLOURS] = {0}, best = 0;
        for (; k < len && in[k]; k++) count[in[k]]++;
        for (int c = 1; c < ARC_COLOURS; c++)
            if (count[c] > count[best]) best = c;
        paint_bar(out, j, k - j, best);
        j = k;
    }
}

/* Every single pixel becomes a copy of the template (the longest bar) centred on it, in its own
 * colour. */
static void rule_pattern_copy(const int *in, int len, int *out) {
    Bar b[ARC_DEMO_MAX_LEN];
    int n = bars_of(in, len, b), w = 0;
    memcpy(out, in, sizeof *out * (size_t)len);
    for (int i = 0; i < n; i++)
        if (b[i].len > w) w = b[i].len;
    for (int i = 0; i < n; i++)
        for (int j = b[i].start - w / 2; b[i].len == 1 && j < b[i].start - w / 2 + w; j++)
            if (j >= 0 && j < len) out[j] = b[i].colour;
}

/* The recolour families: every input bar keyed by what decides its colour (0 = not recoloured). */
static int recolour_key(int family, const Bar *b, int n, int i) {
    if (family == ARCD_RECOLOR_CNT) return b[i].len;
    if (family == ARCD_RECOLOR_OE) return 1 + b[i].len % 2;
    int longest = 0;
    for (int k = 0; k < n; k++)
        if (b[k].len > longest) longest = b[k].len;
    return b[i].len == longest;
}

/* Reads the key -> colour map off the examples (every bar's output colour), then colours each
 * bar of in by its key; -1 when two examples disagree or a key of in was never shown. */
static int rule_recolour(const ArcDemo *d, const int *in, int *out) {
    int map[ARC_DEMO_MAX_LEN + 1], len = d->len;
    Bar b[ARC_DEMO_MAX_LEN];
    for (int k = 0; k <= ARC_DEMO_MAX_LEN; k++) map[k] = -1;
    for (int e = 0; e < ARC_DEMO_EXAMPLES; e++) {
        int n = bars_of(d->in[e], len, b);
        for (int i = 0; i < n; i++) {
            int key = recolour_key(d->family, b, n, i), c = d->out[e][b[i].start];
            if (map[key] >= 0 && map[key] != c) return -1;
            map[key] = c;
        }
    }
    int n = bars_of(in, len, b);
    memcpy(out, in, sizeof *out * (size_t)len);
    for (int i = 0; i < n; i++) {
        int key = recolour_key(d->family, b, n, i);
        if (map[key] < 0) {
            if (d->family == ARCD_RECOLOR_CMP && !key) continue; /* a shorter bar keeps its colour */
            return -1;
        }
        paint_bar(out, b[i].start, b[i].len, map[key]);
    }
    return 0;
}

int arc_demo_rule(const ArcDemo *d, const int *in, int *out) {
    int len = d->len;
    Intent u;
    NP_ASSERT(len >= 1 && len <= ARC_DEMO_MAX_LEN, "row of %d cells", len);
    switch (d->family) {
    case ARCD_MOVE_DP:
    case ARCD_MOVE_2P_DP: rule_to_marker(0, in, len, out); return 0;
    case ARCD_SCALE_DP: rule_to_marker(1, in, len, out); return 0;
    case ARCD_PADDED_FILL: rule_fill_pairs(in, len, out); return 0;
    case ARCD_DENOISING_MC: rule_majority(in, len, out); return 0;
    case ARCD_PCOPY_1C:
    case ARCD_PCOPY_MC: rule_pattern_copy(in, len, out); return 0;
    case ARCD_RECOLOR_CMP:
    case ARCD_RECOLOR_CNT:
    case ARCD_RECOLOR_OE: return rule_recolour(d, in, out);
    }
    NP_ASSERT(d->family >= 0 && arc_family_intent(arc_demo_name(d->family), &u), "no rule for family %d", d->family);
    arc_rule(u, in, len, out);
    return 0;
}
