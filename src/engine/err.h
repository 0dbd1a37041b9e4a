/* Error reporting for bad input: functions that can fail on user data take an Err* and return
 * -1 (or NULL) with a one-line message in it; the CLI prints that line and exits non-zero.
 * Programmer errors (shape mismatches inside the library) abort via NP_ASSERT instead. */
#ifndef NEUROP_ERR_H
#define NEUROP_ERR_H
#include <stdio.h>
#include <stdlib.h>

typedef struct Err {
    char msg[512];
} Err;

/* Formats the message into e (if non-NULL), control bytes shown as \xNN, and returns -1. */
int err_set(Err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define NP_ASSERT(cond, ...)                                                          \
    do {                                                                              \
        if (!(cond)) {                                                                \
            fprintf(stderr, "neurop: internal error at %s:%d: ", __FILE__, __LINE__); \
            fprintf(stderr, __VA_ARGS__);                                             \
            fputc('\n', stderr);                                                      \
            abort();                                                                  \
        }                                                                             \
    } while (0)

/* malloc/calloc that abort with a message on out-of-memory (never return NULL). */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
/* For a buffer that will be written whole: from 512 KiB up, aligned to 2 MiB, rounded up to whole
 * 2 MiB pages and asked for as transparent huge pages, so that its first use takes one page fault
 * per 2 MiB instead of one per 4 KiB. On this project's VMs a 4 KiB page's first touch costs about
 * 2.7 µs and a huge page's 0.1-0.2 ms (a 35 MB graph took 8,300 faults; 1.5 MB of parameters 0.9
 * ms in 4 KiB pages, 0.1-0.2 in one huge page): the two meet near 300 KiB. Smaller: 64-byte
 * aligned. NULL when out of memory; freed with free(). */
void *huge_alloc(size_t n);
void *xhuge_alloc(size_t n); /* huge_alloc that exits with a message when out of memory, as xmalloc */
#define HUGE_PAGE ((size_t)2 << 20)

#endif
