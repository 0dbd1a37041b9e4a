/* CPU, BLAS kernel and floating-point mode (cpu.h). */
#define _GNU_SOURCE /* dl_iterate_phdr */
#include "engine/cpu.h"
#include "engine/gemm.h"
#include <link.h>
#include <pmmintrin.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <xmmintrin.h>
#ifdef _OPENMP
#include <omp.h>
#endif

char *openblas_get_corename(void);
char *openblas_get_config(void);

const char *cpu_blas_core(void) { return openblas_get_corename(); }

CpuFeatures cpu_features(void) {
    CpuFeatures f = {0};
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    f.avx2 = __builtin_cpu_supports("avx2");
    f.fma = __builtin_cpu_supports("fma");
    f.avx512f = __builtin_cpu_supports("avx512f");
    f.avx512bw = __builtin_cpu_supports("avx512bw");
    f.avx512dq = __builtin_cpu_supports("avx512dq");
    f.avx512vl = __builtin_cpu_supports("avx512vl");
    /* gcc 12's __builtin_cpu_supports has no "avx512bf16": read /proc/cpuinfo's flags */
    FILE *p = fopen("/proc/cpuinfo", "r");
    if (p) {
        char line[8192];
        while (fgets(line, sizeof line, p))
            if (!strncmp(line, "flags", 5)) {
                f.avx512bf16 = strstr(line, " avx512_bf16") != NULL;
                break;
            }
        fclose(p);
    }
#endif
    return f;
}

/* OpenBLAS's generic x86 fallbacks: the cores it picks for a CPU it does not recognise. */
static const char *FALLBACK[] = {"prescott",   "core2",     "penryn", "dunnington", "nehalem", "katmai",
                                 "coppermine", "northwood", "banias", "atom",       "generic"};

const char *cpu_blas_core_wanted(const char *current, CpuFeatures f) {
    int generic = 0;
    for (size_t i = 0; current && i < sizeof FALLBACK / sizeof *FALLBACK; i++)
        if (!strcasecmp(current, FALLBACK[i])) generic = 1;
    if (!generic) return NULL;
    if (f.avx512f && f.avx512bw && f.avx512dq && f.avx512vl) return f.avx512bf16 ? "Cooperlake" : "SkylakeX";
    if (f.avx2 && f.fma) return "Haswell";
    return NULL;
}

/* On the calling thread only: every thread started after it inherits its floating-point environment
 * (POSIX: a new thread gets its creator's), and the OpenMP pool starts later, at the first parallel
 * region, from this thread. Starting the pool here would hold the process until the second vCPU
 * of a 2-core VM is up (about 1 ms there); run_open starts it while it reads the run instead. */
void cpu_ftz(void) {
    _MM_SET_FLUSH_ZERO_MODE(_MM_FLUSH_ZERO_ON);
    _MM_SET_DENORMALS_ZERO_MODE(_MM_DENORMALS_ZERO_ON);
}

static int names_library(struct dl_phdr_info *info, size_t size, void *lib) {
    return info->dlpi_name && strstr(info->dlpi_name, lib) != NULL;
}

/* Whether a shared library whose file name contains lib is loaded (its initializer has run). */
static int shared_library_loaded(const char *lib) { return dl_iterate_phdr(names_library, (void *)lib); }

void cpu_early_env(void) {
    /* Linked statically, libgomp and OpenBLAS read the environment in initializers that run after
     * this one (cli/main.c's priority constructor); shared, they have read it already, and
     * cpu_setup's restart is the only way. */
    if (!shared_library_loaded("libgomp") && !getenv("OMP_WAIT_POLICY") && !getenv("GOMP_SPINCOUNT"))
        setenv("GOMP_SPINCOUNT", "20000", 1);
    /* graph_init runs OpenBLAS single-threaded inside our OpenMP regions: its own pool of threads,
     * which it starts at load, would only cost the start (about 3 ms of a one-task `neurop solve`). */
    if (!shared_library_loaded("libopenblas") && !getenv("OPENBLAS_NUM_THREADS"))
        setenv("OPENBLAS_NUM_THREADS", "1", 1);
}

void cpu_setup(char **argv) {
    int restart = 0;
    /* OpenMP threads between parallel regions: a short spin (about 20-50 µs), then sleep. Sleeping at
     * once (passive) costs a futex wake per region, and a step has a few hundred (ADDMOD Meta-GNN on
     * 2 threads: 30.5 ms passive, 23 ms with the short spin); spinning long (libgomp's default, or
     * active) makes a loaded 2-core machine wait for descheduled threads (10x slower). */
    if (!getenv("OMP_WAIT_POLICY") && !getenv("GOMP_SPINCOUNT")) {
        setenv("GOMP_SPINCOUNT", "20000", 1);
        restart = 1;
    }
    const char *want = getenv("OPENBLAS_CORETYPE") ? NULL : cpu_blas_core_wanted(cpu_blas_core(), cpu_features());
    if (want) {
        setenv("OPENBLAS_CORETYPE", want, 1);
        setenv("NEUROP_BLAS_CHOSEN", "1", 1);
        restart = 1;
    }
    /* once only: if the restart fails or OpenBLAS ignores the variable, go on as we are */
    if (restart && argv && !getenv("NEUROP_RESTARTED")) {
        setenv("NEUROP_RESTARTED", "1", 1);
        execv("/proc/self/exe", argv);
    }
    cpu_ftz();
}

/* "model name : X" of /proc/cpuinfo, or "unknown CPU". */
static void cpu_model(char *buf, size_t n) {
    snprintf(buf, n, "unknown CPU");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) return;
    char line[1024];
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

void cpu_describe(char *buf, size_t len) {
    int threads = 1;
#ifdef _OPENMP
    threads = omp_get_max_threads();
#endif
    cpu_describe_at(buf, len, threads);
}

void cpu_describe_at(char *buf, size_t len, int threads) {
    char model[256];
    cpu_model(model, sizeof model);
    const char *cfg = openblas_get_config(), *core = cpu_blas_core();
    const char *how = getenv("NEUROP_BLAS_CHOSEN")  ? ", chosen by neurop for this CPU"
                      : getenv("OPENBLAS_CORETYPE") ? ", from OPENBLAS_CORETYPE"
                                                    : "";
    snprintf(buf, len, "cpu=%s; blas=%s (kernel %s%s); gemm=%s; threads=%d", model, cfg ? cfg : "?", core ? core : "?",
             how, gemm_kernel_name(), threads);
}
