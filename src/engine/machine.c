#include "engine/machine.h"
#include <cblas.h>
#include <stdio.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

/* "model name : X" of /proc/cpuinfo, or "unknown". */
static void cpu_model(char *buf, size_t n) {
    snprintf(buf, n, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        char *colon = strchr(line, ':');
        if (strncmp(line, "model name", 10) || !colon) continue;
        colon += 1 + strspn(colon + 1, " \t");
        colon[strcspn(colon, "\n")] = 0;
        snprintf(buf, n, "%s", colon);
        break;
    }
    fclose(f);
}

void machine_describe(char *buf, size_t n) {
    char cpu[256];
    cpu_model(cpu, sizeof cpu);
    int threads = 1;
#ifdef _OPENMP
    threads = omp_get_max_threads();
#endif
    const char *cfg = openblas_get_config(), *core = openblas_get_corename();
    snprintf(buf, n, "cpu=%s; blas=%s (kernel %s); threads=%d", cpu, cfg ? cfg : "?", core ? core : "?", threads);
}
