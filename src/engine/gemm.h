/* Narrow products: C = A·B and C = A·Bᵀ where B is small enough to stay in L1 (a group's weight
 * matrix of the generator, at most GEMM_B_MAX floats) and A is a tile of rows. A BLAS call on
 * such a tile spends more time packing B and zero-filling C than multiplying (figures in
 * docs/engine.md); these kernels read B in place, keep a block of C in registers
 * for the whole K loop, and write it once. Vector width and register block come from the
 * instruction set the build targets (AVX-512, or AVX2 with FMA; `make` builds with -march=native);
 * the last N mod VL columns use masked loads and stores. Other builds go to cblas_sgemm, except
 * N = 1 (a decoder's last layer: a BLAS call per 128-row tile cost more than its work), which is a
 * dot product per row (gemm_nn) or a sum of scaled rows (gemm_tn) on any build. Also the many
 * small products of attention (op_bmm: 33 x 33 x 8 per input and head on 1D-ARC), where a BLAS
 * call's fixed cost is most of the work. Deterministic: each C entry is one fused multiply-add
 * chain over k in order. */
#ifndef NEUROP_GEMM_H
#define NEUROP_GEMM_H

#define GEMM_B_MAX 16384 /* floats of B (64 KiB) */

/* C[M,N] = A[M,K] B[K,N] (acc = 0) or C += A B (acc = 1); row-major with leading dimensions. */
void gemm_nn(int M, int N, int K, const float *A, int lda, const float *B, int ldb, float *C, int ldc, int acc);

/* C[M,N] = Aᵀ B (acc = 0) or C += Aᵀ B, A stored [K, M]: a weight gradient Xᵀ dY, summed over the K
 * rows of a tile. B streams (no size limit). */
void gemm_tn(int M, int N, int K, const float *A, int lda, const float *B, int ldb, float *C, int ldc, int acc);

/* C[M,N] = A[M,K] Bᵀ (acc = 0) or C += A Bᵀ, B stored [N, K]: B is transposed into a buffer
 * (N·K ≤ GEMM_B_MAX, else cblas_sgemm), then gemm_nn. */
void gemm_nt(int M, int N, int K, const float *A, int lda, const float *B, int ldb, float *C, int ldc, int acc);

/* The same for a loop over row tiles that mostly reuses one B (a group's weight matrix): Bᵀ is
 * kept in *bt and transposed again only when B, N or K change. Set bt->b = NULL to start (not
 * with an initializer, which would zero its 64 KiB); one per thread, inside the parallel region. */
typedef struct {
    const float *b;
    int n, k;
    float t[GEMM_B_MAX];
} GemmBt;
void gemm_nt_reuse(GemmBt *bt, int M, int N, int K, const float *A, int lda, const float *B, int ldb, float *C, int ldc,
                   int acc);

/* "avx512 8x32", "avx2 6x16" or "blas": the kernel gemm_nn and gemm_tn use on this build. */
const char *gemm_kernel_name(void);
#endif
