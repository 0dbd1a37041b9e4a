/* Narrow products with B in L1: register-blocked kernels (gemm.h says when and why). A block of
 * MR rows by NB vectors of C lives in registers for the whole K loop: per k, NB loads of B's row,
 * MR broadcasts of A's entries, MR·NB fused multiply-adds. */
#include "engine/gemm.h"
#include <cblas.h>

/* N = 1 on any build. C[i] (+)= A[i, :] · B[:, 0], a dot product per row. Every caller's B is a
 * contiguous column (ldb = 1): passed as a constant, so that the loop vectorizes. */
static inline void dot_rows_ld(int M, int K, const float *A, int lda, const float *B, int ldb, float *C, int ldc,
                               int acc) {
    for (int i = 0; i < M; i++) {
        const float *a = A + (long)i * lda;
        float s = 0;
#pragma omp simd reduction(+ : s)
        for (int k = 0; k < K; k++) s += a[k] * B[(long)k * ldb];
        C[(long)i * ldc] = acc ? C[(long)i * ldc] + s : s;
    }
}
static void dot_rows(int M, int K, const float *A, int lda, const float *B, int ldb, float *C, int ldc, int acc) {
    if (ldb == 1) dot_rows_ld(M, K, A, lda, B, 1, C, ldc, acc);
    else dot_rows_ld(M, K, A, lda, B, ldb, C, ldc, acc);
}
/* C[m] (+)= Σ_k A[k, m] B[k, 0] (A stored [K, M]): the rows of A scaled and summed, k in order.
 * Every caller's C is a column vector (ldc = 1), again passed as a constant. */
static inline void scaled_rows_ld(int M, int K, const float *A, int lda, const float *B, int ldb, float *C, int ldc,
                                  int acc) {
    if (!acc)
        for (int m = 0; m < M; m++) C[(long)m * ldc] = 0.0f;
    for (int k = 0; k < K; k++) {
        const float *a = A + (long)k * lda;
        float b = B[(long)k * ldb];
#pragma omp simd
        for (int m = 0; m < M; m++) C[(long)m * ldc] += a[m] * b;
    }
}
static void scaled_rows(int M, int K, const float *A, int lda, const float *B, int ldb, float *C, int ldc, int acc) {
    if (ldc == 1) scaled_rows_ld(M, K, A, lda, B, ldb, C, 1, acc);
    else scaled_rows_ld(M, K, A, lda, B, ldb, C, ldc, acc);
}

#if defined(__AVX512F__)
#include <immintrin.h>
#define VL 16
#define MR 8
typedef __m512 vf;
#define VLOAD(p) _mm512_loadu_ps(p)
#define VSTORE(p, v) _mm512_storeu_ps(p, v)
#define VSET1(x) _mm512_set1_ps(x)
#define VFMA(a, b, c) _mm512_fmadd_ps(a, b, c)
#define VZERO() _mm512_setzero_ps()
typedef __mmask16 vmask;
#define VMASK(n) ((__mmask16)((1u << (n)) - 1u))
#define VLOADM(p, m) _mm512_maskz_loadu_ps(m, p)
#define VSTOREM(p, m, v) _mm512_mask_storeu_ps(p, m, v)
#define KERNEL_NAME "avx512 8x32"
#elif defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define VL 8
#define MR 6
typedef __m256 vf;
#define VLOAD(p) _mm256_loadu_ps(p)
#define VSTORE(p, v) _mm256_storeu_ps(p, v)
#define VSET1(x) _mm256_set1_ps(x)
#define VFMA(a, b, c) _mm256_fmadd_ps(a, b, c)
#define VZERO() _mm256_setzero_ps()
typedef __m256i vmask;
#define VMASK(n) _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7))
#define VLOADM(p, m) _mm256_maskload_ps(p, m)
#define VSTOREM(p, m, v) _mm256_maskstore_ps(p, m, v)
#define KERNEL_NAME "avx2 6x16"
#endif

#ifdef VL
/* C[R, NB·VL] (+)= A[R, K] B[K, NB·VL] with A[r, k] at A[r·ars + k·aks] (A, or Aᵀ stored [K, R]).
 * R and NB are compile-time constants in each instance, so the accumulators stay in registers. */
#define DEFINE_KERNEL(R, NB)                                                                                      \
    static void kernel_##R##x##NB(int K, const float *A, long ars, long aks, const float *B, int ldb, float *C,   \
                                  int ldc, int acc) {                                                             \
        vf c[R][NB];                                                                                              \
        _Pragma("GCC unroll 16") for (int r = 0; r < R; r++) _Pragma("GCC unroll 4") for (int j = 0; j < NB; j++) \
            c[r][j] = acc ? VLOAD(C + (long)r * ldc + j * VL) : VZERO();                                          \
        for (int k = 0; k < K; k++, A += aks) {                                                                   \
            vf b[NB];                                                                                             \
            _Pragma("GCC unroll 4") for (int j = 0; j < NB; j++) b[j] = VLOAD(B + (long)k * ldb + j * VL);        \
            _Pragma("GCC unroll 16") for (int r = 0; r < R; r++) {                                                \
                vf a = VSET1(A[r * ars]);                                                                         \
                _Pragma("GCC unroll 4") for (int j = 0; j < NB; j++) c[r][j] = VFMA(a, b[j], c[r][j]);            \
            }                                                                                                     \
        }                                                                                                         \
        _Pragma("GCC unroll 16") for (int r = 0; r < R; r++) _Pragma("GCC unroll 4") for (int j = 0; j < NB; j++) \
            VSTORE(C + (long)r * ldc + j * VL, c[r][j]);                                                          \
    }
/* The same for the last n < VL columns: one vector whose lanes past n are neither read nor written. */
#define DEFINE_TAIL(R)                                                                                            \
    static void tail_##R(int K, const float *A, long ars, long aks, const float *B, int ldb, float *C, int ldc,   \
                         int acc, int n) {                                                                        \
        vmask m = VMASK(n);                                                                                       \
        vf c[R];                                                                                                  \
        _Pragma("GCC unroll 16") for (int r = 0; r < R; r++) c[r] = acc ? VLOADM(C + (long)r * ldc, m) : VZERO(); \
        for (int k = 0; k < K; k++, A += aks) {                                                                   \
            vf b = VLOADM(B + (long)k * ldb, m);                                                                  \
            _Pragma("GCC unroll 16") for (int r = 0; r < R; r++) c[r] = VFMA(VSET1(A[r * ars]), b, c[r]);         \
        }                                                                                                         \
        _Pragma("GCC unroll 16") for (int r = 0; r < R; r++) VSTOREM(C + (long)r * ldc, m, c[r]);                 \
    }
#define DEFINE_KERNELS(R) DEFINE_KERNEL(R, 1) DEFINE_KERNEL(R, 2) DEFINE_TAIL(R)
typedef void Kernel(int K, const float *A, long ars, long aks, const float *B, int ldb, float *C, int ldc, int acc);
typedef void Tail(int K, const float *A, long ars, long aks, const float *B, int ldb, float *C, int ldc, int acc,
                  int n);
DEFINE_KERNELS(1)
DEFINE_KERNELS(2)
DEFINE_KERNELS(3)
DEFINE_KERNELS(4)
DEFINE_KERNELS(5)
DEFINE_KERNELS(6)
#if MR == 8
DEFINE_KERNELS(7)
DEFINE_KERNELS(8)
#endif
static Kernel *const KERNELS[MR + 1][2] = {
    {NULL, NULL},
    {kernel_1x1, kernel_1x2},
    {kernel_2x1, kernel_2x2},
    {kernel_3x1, kernel_3x2},
    {kernel_4x1, kernel_4x2},
    {kernel_5x1, kernel_5x2},
    {kernel_6x1, kernel_6x2},
#if MR == 8
    {kernel_7x1, kernel_7x2},
    {kernel_8x1, kernel_8x2},
#endif
};
static Tail *const TAILS[MR + 1] = {NULL,   tail_1, tail_2, tail_3, tail_4, tail_5, tail_6,
#if MR == 8
                                    tail_7, tail_8
#endif
};

/* C[M,N] (+)= A B with A[i, k] at A[i·ars + k·aks]: bands of MR rows (the last one shorter), each
 * across N in blocks of two vectors (then one vector, then a masked one for the last N mod VL). */
static void gemm_core(int M, int N, int K, const float *A, long ars, long aks, const float *B, int ldb, float *C,
                      int ldc, int acc) {
    for (int i = 0; i < M; i += MR) {
        int R = M - i < MR ? M - i : MR;
        Kernel *k2 = KERNELS[R][1], *k1 = KERNELS[R][0];
        const float *a = A + (long)i * ars;
        float *c = C + (long)i * ldc;
        int j = 0;
        for (; j + 2 * VL <= N; j += 2 * VL) k2(K, a, ars, aks, B + j, ldb, c + j, ldc, acc);
        if (j + VL <= N) k1(K, a, ars, aks, B + j, ldb, c + j, ldc, acc), j += VL;
        if (j < N) TAILS[R](K, a, ars, aks, B + j, ldb, c + j, ldc, acc, N - j);
    }
}
static int fits(int N, int K) { return K > 0 && (long)K * N <= GEMM_B_MAX; }

void gemm_nn(int M, int N, int K, const float *A, int lda, const float *B, int ldb, float *C, int ldc, int acc) {
    if (M <= 0 || N <= 0) return;
    if (N == 1 && K > 0) dot_rows(M, K, A, lda, B, ldb, C, ldc, acc);
    else if (fits(N, K)) gemm_core(M, N, K, A, lda, 1, B, ldb, C, ldc, acc);
    else
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.0f, A, lda, B, ldb, acc ? 1.0f : 0.0f, C,
                    ldc);
}
void gemm_tn(int M, int N, int K, const float *A, int lda, const float *B, int ldb, float *C, int ldc, int acc) {
    if (M <= 0 || N <= 0) return;
    if (N == 1 && K > 0) scaled_rows(M, K, A, lda, B, ldb, C, ldc, acc);
    else if (K > 0) gemm_core(M, N, K, A, 1, lda, B, ldb, C, ldc, acc);
    else cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, M, N, K, 1.0f, A, lda, B, ldb, acc ? 1.0f : 0.0f, C, ldc);
}
const char *gemm_kernel_name(void) { return KERNEL_NAME; }
#else
void gemm_nn(int M, int N, int K, const float *A, int lda, const float *B, int ldb, float *C, int ldc, int acc) {
    if (M > 0 && N == 1 && K > 0) dot_rows(M, K, A, lda, B, ldb, C, ldc, acc);
    else if (M > 0 && N > 0)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.0f, A, lda, B, ldb, acc ? 1.0f : 0.0f, C,
                    ldc);
}
void gemm_tn(int M, int N, int K, const float *A, int lda, const float *B, int ldb, float *C, int ldc, int acc) {
    if (M > 0 && N == 1 && K > 0) scaled_rows(M, K, A, lda, B, ldb, C, ldc, acc);
    else if (M > 0 && N > 0)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, M, N, K, 1.0f, A, lda, B, ldb, acc ? 1.0f : 0.0f, C, ldc);
}
const char *gemm_kernel_name(void) { return "blas"; }
#endif

void gemm_nt_reuse(GemmBt *bt, int M, int N, int K, const float *A, int lda, const float *B, int ldb, float *C, int ldc,
                   int acc) {
    if (M <= 0 || N <= 0) return;
    if ((long)N * K > GEMM_B_MAX || K <= 0) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1.0f, A, lda, B, ldb, acc ? 1.0f : 0.0f, C, ldc);
        return;
    }
    if (bt->b != B || bt->n != N || bt->k != K) { /* Bᵀ [K, N] */
        for (int n = 0; n < N; n++)
            for (int k = 0; k < K; k++) bt->t[(long)k * N + n] = B[(long)n * ldb + k];
        bt->b = B;
        bt->n = N;
        bt->k = K;
    }
    gemm_nn(M, N, K, A, lda, bt->t, N, C, ldc, acc);
}
void gemm_nt(int M, int N, int K, const float *A, int lda, const float *B, int ldb, float *C, int ldc, int acc) {
    GemmBt bt; /* not = {0}: that would zero 64 KiB per call */
    bt.b = NULL;
    gemm_nt_reuse(&bt, M, N, K, A, lda, B, ldb, C, ldc, acc);
}
