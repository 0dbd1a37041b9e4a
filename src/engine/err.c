#include "engine/err.h"
#include <stdarg.h>
#include <stdint.h>
#include <sys/mman.h>

/* Messages quote user input (file names, tokens, settings): a control byte in it is shown as
 * \xNN, so a message stays one line and cannot drive the terminal (colours, cursor moves). */
int err_set(Err *e, const char *fmt, ...) {
    if (!e) return -1;
    char raw[sizeof e->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(raw, sizeof raw, fmt, ap);
    va_end(ap);
    size_t o = 0;
    for (const unsigned char *s = (const unsigned char *)raw; *s && o + 1 < sizeof e->msg; s++) {
        if (*s >= 0x20 && *s != 0x7f) {
            e->msg[o++] = (char)*s;
            continue;
        }
        if (o + 5 >= sizeof e->msg) break;
        o += (size_t)snprintf(e->msg + o, 5, "\\x%02x", *s);
    }
    e->msg[o] = 0;
    return -1;
}

static void *oom(size_t n) {
    fprintf(stderr, "neurop: out of memory allocating %zu bytes\n", n);
    exit(2);
}
void *xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    return p ? p : oom(n);
}
void *xcalloc(size_t n, size_t size) {
    void *p = calloc(n ? n : 1, size ? size : 1);
    return p ? p : oom(n * size);
}
void *xrealloc(void *p, size_t n) {
    void *q = realloc(p, n ? n : 1);
    return q ? q : oom(n);
}

void *huge_alloc(size_t n) {
    if (n < HUGE_PAGE / 4) return aligned_alloc(64, n ? (n + 63) & ~(size_t)63 : 64);
    if (n > SIZE_MAX - HUGE_PAGE) return NULL;
    size_t size = (n + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
    void *p = aligned_alloc(HUGE_PAGE, size);
#ifdef MADV_HUGEPAGE
    if (p) madvise(p, size, MADV_HUGEPAGE);
#endif
    return p;
}
void *xhuge_alloc(size_t n) {
    void *p = huge_alloc(n);
    return p ? p : oom(n);
}
