#include "engine/err.h"
#include <stdarg.h>

int err_set(Err *e, const char *fmt, ...) {
    if (!e) return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    return -1;
}

static void *oom(size_t n) {
    fprintf(stderr, "neurop: out of memory allocating %zu bytes\n", n);
    exit(2);
}
void *xmalloc(size_t n) { void *p = malloc(n ? n : 1); return p ? p : oom(n); }
void *xcalloc(size_t n, size_t size) { void *p = calloc(n ? n : 1, size ? size : 1); return p ? p : oom(n * size); }
void *xrealloc(void *p, size_t n) { void *q = realloc(p, n ? n : 1); return q ? q : oom(n); }
