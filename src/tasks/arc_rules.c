/* Reference rules of the 1D-ARC intents, written from the rule text alone (docs/tasks.md): each reads
 * its objects off the input row and shares no code or geometry with the generators (arc1d.c),
 * so a test that compares the two checks something. The same functions reproduce the real files. */
#include "tasks/task.h"
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
