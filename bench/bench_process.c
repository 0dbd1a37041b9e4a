/* Whole-process timing for `make bench` (scripts/bench.sh solve): runs a command N times, one after
 * the other, and prints the median, the fastest and the slowest wall time from spawn to exit.
 *
 *   build/neurop-bench-process N COMMAND [ARG...]
 *   -> process runs=N median_ms=M min_ms=A max_ms=B command=COMMAND ARG...
 *
 * posix_spawn and waitpid around each run, timed with CLOCK_MONOTONIC: what a script that calls
 * the command once per task waits for. The command's output goes to /dev/null; a run that exits
 * non-zero stops the benchmark with its status. */
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return 1e3 * (double)t.tv_sec + 1e-6 * (double)t.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    char *end = NULL;
    long n = argc > 2 ? strtol(argv[1], &end, 10) : 0;
    if (argc < 3 || !end || *end || n < 1 || n > 100000) {
        fprintf(stderr, "usage: neurop-bench-process N COMMAND [ARG...] (N from 1 to 100000)\n");
        return 2;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    double *ms = malloc((size_t)n * sizeof *ms);
    if (!ms) return 2;
    for (long i = 0; i < n; i++) {
        pid_t pid;
        double t0 = now_ms();
        int rc = posix_spawnp(&pid, argv[2], &fa, NULL, argv + 2, environ);
        if (rc) {
            fprintf(stderr, "neurop-bench-process: cannot run %s: %s\n", argv[2], strerror(rc));
            return 1;
        }
        int st;
        if (waitpid(pid, &st, 0) != pid) {
            perror("neurop-bench-process: waitpid");
            return 1;
        }
        ms[i] = now_ms() - t0;
        if (!WIFEXITED(st) || WEXITSTATUS(st)) {
            fprintf(stderr, "neurop-bench-process: %s failed (status %d) on run %ld\n", argv[2], st, i + 1);
            return 1;
        }
    }
    qsort(ms, (size_t)n, sizeof *ms, cmp_double);
    double med = n % 2 ? ms[n / 2] : 0.5 * (ms[n / 2 - 1] + ms[n / 2]);
    printf("process runs=%ld median_ms=%.3f min_ms=%.3f max_ms=%.3f command=", n, med, ms[0], ms[n - 1]);
    for (int i = 2; i < argc; i++) printf("%s%s", i > 2 ? " " : "", argv[i]);
    putchar('\n');
    posix_spawn_file_actions_destroy(&fa);
    free(ms);
    return 0;
}
