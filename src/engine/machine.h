/* The machine a result was computed on. A run is bit-identical for one seed only on the same
 * CPU model, BLAS build and kernel, and thread count (docs/engine.md), so every checkpoint
 * records them. */
#ifndef NEUROP_MACHINE_H
#define NEUROP_MACHINE_H
#include <stddef.h>

/* "cpu=MODEL; blas=OPENBLAS_CONFIG (kernel CORE); threads=N" into buf (cut to n). */
void machine_describe(char *buf, size_t n);

#endif
