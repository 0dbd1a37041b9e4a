/* Minimal test harness. A test is `TEST(name) { ... }` at the start of a line in a tests file;
 * the Makefile collects every such name into the registry. CHECK* record a failure with its
 * file:line and keep going, so one run shows every broken assertion of a test. */
#ifndef NEUROP_TEST_H
#define NEUROP_TEST_H
#include <math.h>
#include <stdio.h>

typedef struct TestCtx {
    int failed;  /* number of failed checks in this test */
    int skipped; /* set by SKIP */
    char skip_msg[256];
} TestCtx;

#define TEST(name) void test_##name(TestCtx *t_)

void test_fail_(TestCtx *t, const char *file, int line, const char *fmt, ...);
int test_quick(void); /* 1 under NEUROP_TEST_QUICK (sanitizer runs): tests may shrink their sizes */

#define CHECK(cond, ...)                                              \
    do {                                                              \
        if (!(cond)) test_fail_(t_, __FILE__, __LINE__, __VA_ARGS__); \
    } while (0)
#define CHECK_NEAR(a, b, tol)                                                                                        \
    do {                                                                                                             \
        double a_ = (a), b_ = (b);                                                                                   \
        if (!(fabs(a_ - b_) <= (tol)))                                                                               \
            test_fail_(t_, __FILE__, __LINE__, "%s = %.9g, want %s = %.9g (tol %g)", #a, a_, #b, b_, (double)(tol)); \
    } while (0)
/* |a-b| <= tol * max(1, |b|) */
#define CHECK_REL(a, b, tol)                                                                             \
    do {                                                                                                 \
        double a_ = (a), b_ = (b);                                                                       \
        if (!(fabs(a_ - b_) <= (tol)*fmax(1.0, fabs(b_))))                                               \
            test_fail_(t_, __FILE__, __LINE__, "%s = %.9g, want %s = %.9g (rel tol %g)", #a, a_, #b, b_, \
                       (double)(tol));                                                                   \
    } while (0)
#define SKIP(...)                                                 \
    do {                                                          \
        t_->skipped = 1;                                          \
        snprintf(t_->skip_msg, sizeof t_->skip_msg, __VA_ARGS__); \
        return;                                                   \
    } while (0)

#endif
