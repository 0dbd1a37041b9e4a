/* The real 1D-ARC external test (docs/tasks.md): every pair (train and test pairs of every file)
 * of each covered family, solved by the program a run trained on the generated 1D-ARC mix
 * synthesizes for the family's intent. */
#ifndef NEUROP_REALARC_H
#define NEUROP_REALARC_H
#include "train/train.h"

typedef struct RealFamily {
    char family[64];
    Intent u;
    int n, correct;
} RealFamily;
typedef struct RealReport {
    int n;
    RealFamily fam[16];
} RealReport;
/* dir: a folder of 1D-ARC task files (tasks/datadir.c finds the shipped one). -1 with a message
 * for a run on another task or an unreadable file. */
int run_real_arc(Run *r, const char *dir, RealReport *rep, Err *e);

#endif
