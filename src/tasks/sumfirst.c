/* SUMFIRST-n: X = 10 digits uniform in 0..9, y = x_1 + ... + x_n.
 * Splits are by input content: a fixed hash of the 10 digits puts every input in train, val or
 * test (80/10/10), whatever n is, so an IID-test input is never drawn for training under any
 * intent. OOD intents (n = 4, 7) draw from all inputs. */
#include "tasks/internal.h"

#define SUMFIRST_SALT 0x5355u /* "SU" */

static Split digits_split(const int *d) { return split_from_hash(task_hash_ints(SUMFIRST_SALT, d, 10)); }

Split sumfirst_split_of(const float *x) {
    int d[10];
    for (int j = 0; j < 10; j++) d[j] = (int)x[j];
    return digits_split(d);
}

void sumfirst_draw(Intent u, Split s, Rng *r, float *x, float *y) {
    int d[10];
    /* Rejection: accepts 80% of draws for train, 10% for val/test, so a few tries at most. */
    do
        for (int j = 0; j < 10; j++) d[j] = rng_int(r, 10);
    while (s != SPLIT_OOD && digits_split(d) != s);
    int sum = 0;
    for (int j = 0; j < 10; j++) {
        x[j] = (float)d[j];
        if (j < u.param) sum += d[j];
    }
    *y = (float)sum;
}
