/* The real 1D-ARC external test (docs/tasks.md). A run on the generated 1D-ARC mix: every pair
 * (train and test pairs of every file) of each covered family, solved by the program synthesized
 * for the family's intent. A run on arc-demo: every file of all 18 families, its test pair solved
 * by the program synthesized from the file's own three examples. */
#ifndef NEUROP_REALARC_H
#define NEUROP_REALARC_H
#include "tasks/arcdemo.h"
#include "train/train.h"

typedef struct RealFamily {
    char family[64];
    Intent u;
    int n, correct;
} RealFamily;
typedef struct RealReport {
    int n;
    RealFamily fam[ARCD_N_FAMILIES];
} RealReport;
/* dir: a folder of 1D-ARC task files (tasks/datadir.c finds the shipped one). -1 with a message
 * for a run on another task, an unreadable file, or (arc-demo) a file that is not one task of
 * three examples and a test pair. */
int run_real_arc(Run *r, const char *dir, RealReport *rep, Err *e);

#endif
