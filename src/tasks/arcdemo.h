/* 1D-ARC demonstration tasks: all 18 families of the real files, posed the way ARC poses them.
 * A task is three example pairs and a test pair, all four of one row length, sharing the
 * family's per-task values (a marker colour, a recolour map). Generated tasks follow the
 * geometry measured on the real files (docs/tasks.md); the reference rule of a family reads its
 * per-task values off the example pairs alone and shares no code with the generators, so the
 * tests that compare the two (on generated tasks and on every real file) check something. */
#ifndef NEUROP_ARCDEMO_H
#define NEUROP_ARCDEMO_H
#include "tasks/task.h"

#define ARC_DEMO_MAX_LEN 93 /* 1d_padded_fill's longest row; the other 17 families stay within 33 */
#define ARC_DEMO_PAIRS 4    /* the examples, then the test pair */
#define ARC_DEMO_EXAMPLES 3 /* every real 1D-ARC task has three example pairs and one test pair */
#define ARC_DEMO_FEAT 32    /* the width of U, the examples' encoding that conditions a program */

/* The real families, in the sorted order of their folder names. */
enum {
    ARCD_DENOISING_1C,
    ARCD_DENOISING_MC,
    ARCD_FILL,
    ARCD_FLIP,
    ARCD_HOLLOW,
    ARCD_MIRROR,
    ARCD_MOVE_1P,
    ARCD_MOVE_2P,
    ARCD_MOVE_2P_DP,
    ARCD_MOVE_3P,
    ARCD_MOVE_DP,
    ARCD_PADDED_FILL,
    ARCD_PCOPY_1C,
    ARCD_PCOPY_MC,
    ARCD_RECOLOR_CMP,
    ARCD_RECOLOR_CNT,
    ARCD_RECOLOR_OE,
    ARCD_SCALE_DP,
    ARCD_N_FAMILIES
};

typedef struct ArcDemo {
    int family; /* ARCD_*, or -1 when unknown (a task file from outside 1D-ARC) */
    int len;    /* cells in every row of the task */
    int in[ARC_DEMO_PAIRS][ARC_DEMO_MAX_LEN], out[ARC_DEMO_PAIRS][ARC_DEMO_MAX_LEN];
} ArcDemo;

const char *arc_demo_name(int family); /* the folder name, "1d_move_dp" */
int arc_demo_family(const char *name); /* ARCD_* of a folder name, or -1 */

/* A new task of the family into d, drawn from r: the four inputs distinct, every output
 * different from its input, and the examples showing every per-task value the rule needs
 * (each size of 1d_recolor_cnt, both parities of 1d_recolor_oe). */
void arc_demo_generate(int family, Rng *r, ArcDemo *d);

/* The family's reference rule: its per-task values read off d's example pairs, applied to the
 * row in (d->len cells) -> out. -1 when the examples do not fix what the row needs (a bar size
 * or parity the examples never recolour, examples that contradict each other), else 0. */
int arc_demo_rule(const ArcDemo *d, const int *in, int *out);

/* The task of one real file: its pairs in set, which must be consecutive, three examples and
 * then one test pair of one length (else -1 with the path and what differs). family is
 * arc_demo_family of the pairs' family name (-1 for a name outside 1D-ARC). */
int arc_demo_from_pairs(const ArcPair *pairs, int n, ArcDemo *d, Err *e);

/* The task of the file whose pairs start at set->pairs[*i] (a file's pairs are consecutive in an
 * ArcSet); *i moves past them either way. -1 as arc_demo_from_pairs, or when its rows are longer
 * than max_len cells (a template's len). */
int arc_demo_next(const ArcSet *set, int *i, int max_len, ArcDemo *d, Err *e);

/* The task's colours renamed by first appearance: map[c] is colour c's new name. 0 (background)
 * stays 0; the others are numbered 1, 2, ... in the order they first appear in the examples
 * (input, then output, pair by pair), then in the test input; colours the task does not show take
 * the remaining names in increasing order. A permutation of 0..ARC_COLOURS-1 read from the examples
 * and the test input only, never the test output. */
void arc_demo_colours(const ArcDemo *d, int map[ARC_COLOURS]);

/* Row i of ex (an arc-demo task's examples): pair `pair` of d (0..2 an example, 3 the test pair)
 * padded to t->seq_len (labels -1 beyond the row), with d's examples as its demonstrations; every
 * colour renamed by arc_demo_colours when t->relabel. */
void arc_demo_example(const Task *t, const ArcDemo *d, int pair, Examples *ex, int i);

#endif
