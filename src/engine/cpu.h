/* The machine a process runs on: its CPU, the BLAS kernel in use, and the floating-point mode.
 * Every entry point (neurop, the tests, the benchmarks) calls cpu_setup first thing. */
#ifndef NEUROP_CPU_H
#define NEUROP_CPU_H
#include <stddef.h>

/* Prepares the process environment, then (once) restarts the program so that libraries that read
 * it at load time see it (no restart where cpu_early_env set it before they started): GOMP_SPINCOUNT=20000 (a short spin, then sleep, between OpenMP
 * regions: long spinning costs 10x on a loaded 2-core machine, sleeping at once a wake per region), and OPENBLAS_CORETYPE where OpenBLAS fell back to a generic kernel on a CPU
 * whose vector units it could use (Debian's OpenBLAS 0.3.21 does not know every Xeon and runs its
 * SSE3 kernel there, 4x slower). A setting already in the environment is never overridden.
 * Returns only when no restart was needed (or the restart failed). Then sets flush-to-zero and
 * denormals-are-zero on every OpenMP thread (cpu_ftz). */
void cpu_setup(char **argv);

/* Sets the same environment before any library reads it, where that is possible: called from the
 * neurop program's constructor, which runs before statically linked libgomp and OpenBLAS start
 * (the Makefile links them so), then cpu_setup needs no restart. Where they are shared libraries it
 * sets nothing and cpu_setup restarts as before. Also OPENBLAS_NUM_THREADS=1 when unset (OpenBLAS
 * runs single-threaded inside our OpenMP regions: its thread pool would only cost the start). */
void cpu_early_env(void);

/* Flush-to-zero / denormals-are-zero on the calling thread, and so on every thread it starts later
 * (the OpenMP pool: call it before the first parallel region). Subnormal floats (AdamW's second
 * moments of rarely used weights) cost ~100 cycles each. */
void cpu_ftz(void);

/* What the CPU can run, as the kernel choice needs it. */
typedef struct {
    int avx2, fma, avx512f, avx512bw, avx512dq, avx512vl, avx512bf16;
} CpuFeatures;
CpuFeatures cpu_features(void);

/* The OpenBLAS core to ask for (OPENBLAS_CORETYPE), or NULL to keep the current one: a core is
 * asked for only where `current` is a generic fallback (Prescott, Core2, Nehalem, ...) and the CPU
 * has AVX-512 (SkylakeX, Cooperlake with bf16) or AVX2+FMA (Haswell). Pure: tested directly. */
const char *cpu_blas_core_wanted(const char *current, CpuFeatures f);

/* "cpu=MODEL; blas=OPENBLAS_CONFIG (kernel CORE[, chosen by neurop for this CPU]); gemm=KERNEL;
 * threads=N": what every checkpoint, neurop info, the report and the benchmarks record of the
 * machine (gemm: the narrow-product kernel this build has, gemm.h). A run is bit-identical for a
 * seed only on the same CPU model, BLAS build and kernel, gemm kernel, and thread count. */
void cpu_describe(char *buf, size_t len);
/* The same for a process running `threads` OpenMP threads (a reproduction's worker runs one). */
void cpu_describe_at(char *buf, size_t len, int threads);
const char *cpu_blas_core(void); /* openblas_get_corename() */
#endif
