/* Test runner: runs every registered test (or those whose name contains argv[1]) and ends
 * with the line `N passed, N failed, N skipped`; exit status 1 when any test failed. */
#include "test.h"
#include "engine/cpu.h"
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define T(name) void test_##name(TestCtx *);
#include "registry.h"
#undef T

static const struct {
    const char *name;
    void (*fn)(TestCtx *);
} tests[] = {
#define T(name) {#name, test_##name},
#include "registry.h"
#undef T
};

void test_fail_(TestCtx *t, const char *file, int line, const char *fmt, ...) {
    if (t->failed++ >= 8) return; /* a broken loop must not flood the log */
    va_list ap;
    va_start(ap, fmt);
    fprintf(stdout, "    %s:%d: ", file, line);
    vfprintf(stdout, fmt, ap);
    fputc('\n', stdout);
    va_end(ap);
}

int test_quick(void) {
    const char *q = getenv("NEUROP_TEST_QUICK");
    return q && *q && strcmp(q, "0");
}

/* `neurop-tests --peak-rss CMD ARG...`: runs CMD with stdout to /dev/null and prints its peak
 * RSS in KB (or -1). A test cannot measure this on a child of its own: a forked child's peak
 * starts at the parent's RSS, which exec keeps, and a test process that has run other tests (under
 * ASan, with its quarantine) can hold far more than the command measured. This fresh, small
 * process stands between them (tests/test_bad_inputs.c). */
static int peak_rss(char **cmd) {
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open("/dev/null", O_WRONLY);
        if (fd >= 0) dup2(fd, 1);
        execv(cmd[0], cmd);
        _exit(127);
    }
    int st = 0;
    struct rusage ru;
    memset(&ru, 0, sizeof ru);
    int ok = pid > 0 && wait4(pid, &st, 0, &ru) == pid && WIFEXITED(st) && !WEXITSTATUS(st);
    printf("%ld\n", ok ? ru.ru_maxrss : -1L);
    return ok ? 0 : 1;
}

int main(int argc, char **argv) {
    if (argc > 2 && !strcmp(argv[1], "--peak-rss")) return peak_rss(argv + 2);
    cpu_setup(argv);
    int passed = 0, failed = 0, skipped = 0;
    for (size_t i = 0; i < sizeof tests / sizeof *tests; i++) {
        if (argc > 1 && !strstr(tests[i].name, argv[1])) continue;
        TestCtx t = {0};
        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        tests[i].fn(&t);
        clock_gettime(CLOCK_MONOTONIC, &b);
        double s = (b.tv_sec - a.tv_sec) + 1e-9 * (b.tv_nsec - a.tv_nsec);
        if (t.failed) {
            failed++;
            printf("FAIL %s (%d checks failed)\n", tests[i].name, t.failed);
        } else if (t.skipped) {
            skipped++;
            printf("skip %s: %s\n", tests[i].name, t.skip_msg);
        } else {
            passed++;
            printf("ok   %s (%.2fs)\n", tests[i].name, s);
        }
        fflush(stdout);
    }
    printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
    return failed ? 1 : 0;
}
