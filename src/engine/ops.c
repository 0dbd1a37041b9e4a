/* The op table. Each op is a shape rule, a forward and a backward, side by side, followed by its
 * public constructor. Backward functions accumulate (+=) into the grads of inputs that have one.
 * Dense products go to cblas_sgemm, the narrow ones of segmm and edge_round to gemm.c's kernels;
 * elementwise loops use OpenMP above a size threshold. Nothing
 * here reduces across threads, so results are bit-identical for a given thread count. */
#include "engine/gemm.h"
#include "engine/tape.h"
#include <cblas.h>
#include <math.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

enum {
    OP_MATMUL,
    OP_BMM,
    OP_SEGMM,
    OP_ADD,
    OP_SUB,
    OP_MUL,
    OP_SCALE,
    OP_ADDS,
    OP_CONCAT,
    OP_SLICE,
    OP_PERMUTE,
    OP_RELU,
    OP_GELU,
    OP_SILU,
    OP_TANH,
    OP_SIGMOID,
    OP_SOFTMAX,
    OP_LAYERNORM,
    OP_GATHER,
    OP_GATHER_PRODUCT,
    OP_SCATTER_ADD,
    OP_SEGMENT_MEAN,
    OP_SUM,
    OP_MEAN,
    OP_SUM_AXIS,
    OP_MSE,
    OP_CE,
    OP_EDGE_ROUND,
    OP_PAIR_ENCODE,
    OP_SEGMENT_RMSNORM,
    OP_THETA_HEAD,
    OP_COUNT
};

#define PAR_MIN 32768      /* below this many elements a parallel region costs more than it saves */
#define PAR_MEM (1L << 17) /* the same for pure memory traffic (copies, adds, ReLU) */
#define PAR_EXP (1L << 14) /* the same for exponentials (softmax, cross-entropy): ~20 cycles each */
#define SET_SHAPE(...)                         \
    do {                                       \
        int s_[] = {__VA_ARGS__};              \
        *ndim = (int)(sizeof s_ / sizeof *s_); \
        memcpy(shape, s_, sizeof s_);          \
    } while (0)

/* A row's mean and 1/std (LayerNorm's statistics, two passes). The sums run in one 8-lane vector
 * (GCC's vector extension; two SSE halves without AVX) and end in a fixed tree, where an `omp simd`
 * reduction ends every row in scalar adds through memory (a third of the edge round's epilogue at
 * d = 32). The order is the same on every machine. */
typedef float v8f __attribute__((vector_size(32)));
static inline float lane_sum(v8f a) { return ((a[0] + a[4]) + (a[1] + a[5])) + ((a[2] + a[6]) + (a[3] + a[7])); }
static inline float row_sum(const float *x, int n) {
    v8f acc = {0}, v;
    float tail = 0;
    int c, full = n & ~7;
    for (c = 0; c < full; c += 8) {
        memcpy(&v, x + c, sizeof v);
        acc += v;
    }
    for (c = full; c < n; c++) tail += x[c];
    return lane_sum(acc) + tail;
}
static inline float row_sqdev(const float *x, int n, float mu) {
    v8f sq = {0}, v;
    float tail_sq = 0;
    int c, full = n & ~7;
    for (c = 0; c < full; c += 8) {
        memcpy(&v, x + c, sizeof v);
        v -= mu;
        sq += v * v;
    }
    for (c = full; c < n; c++) tail_sq += (x[c] - mu) * (x[c] - mu);
    return lane_sum(sq) + tail_sq;
}
static inline void row_stats(const float *x, int n, float eps, float *mu_out, float *rs_out) {
    float mu = row_sum(x, n) / n;
    *mu_out = mu;
    *rs_out = 1.0f / sqrtf(row_sqdev(x, n, mu) / n + eps);
}

/* lane_sum of eight vectors: out[k] = lane_sum(a[k]), the same additions in the same order, by
 * shuffles that put the eight rows' partial sums side by side (a lane_sum alone reduces one vector
 * across its lanes, a third of ln_rows' time at width 16). */
static inline void lane_sums8(const v8f a[8], float out[8]) {
    v8f w[4], z[2];
    for (int r = 0; r < 4; r++) /* rows r and r + 4: a0+a4, a1+a5, a2+a6, a3+a7 */
        w[r] = __builtin_shufflevector(a[r], a[r + 4], 0, 1, 2, 3, 8, 9, 10, 11) +
               __builtin_shufflevector(a[r], a[r + 4], 4, 5, 6, 7, 12, 13, 14, 15);
    for (int k = 0; k < 2; k++) /* (a0+a4)+(a1+a5) and (a2+a6)+(a3+a7) */
        z[k] = __builtin_shufflevector(w[2 * k], w[2 * k + 1], 0, 2, 4, 6, 8, 10, 12, 14) +
               __builtin_shufflevector(w[2 * k], w[2 * k + 1], 1, 3, 5, 7, 9, 11, 13, 15);
    v8f s = __builtin_shufflevector(z[0], z[1], 0, 2, 4, 6, 8, 10, 12, 14) +
            __builtin_shufflevector(z[0], z[1], 1, 3, 5, 7, 9, 11, 13, 15); /* rows 0 4 1 5 2 6 3 7 */
    s = __builtin_shufflevector(s, s, 0, 2, 4, 6, 1, 3, 5, 7);
    memcpy(out, &s, sizeof s);
}

/* row_sum (mu = NULL) or row_sqdev about mu[k] of eight rows of n (n a multiple of 8), into out. */
static inline void rows8_sums(const float *x, int n, const float *mu, float *out) {
    v8f acc[8], v;
    for (int k = 0; k < 8; k++) {
        acc[k] = (v8f){0};
        for (int c = 0; c < n; c += 8) {
            memcpy(&v, x + (long)k * n + c, sizeof v);
            if (mu) {
                v -= mu[k];
                acc[k] += v * v;
            } else acc[k] += v;
        }
    }
    lane_sums8(acc, out);
    for (int k = 0; k < 8; k++) out[k] += 0.0f; /* row_sum's empty tail: the same zero's sign */
}

/* LayerNorm without gain or bias, in place, on rows rows of n (stride n), each row's 1/std into rs:
 * row_stats' arithmetic, but the divisions and square roots of up to 64 rows at once (vectorized)
 * instead of one row's chain of division, square root and division after another: a fused op's
 * tile of short rows (d = 32) waited on that chain. */
static void ln_rows(float *y, int rows, int n, float eps, float *rs) {
    enum { CH = 64 };
    float mu[CH], r[CH];
    for (int i0 = 0; i0 < rows; i0 += CH) {
        int m = rows - i0 < CH ? rows - i0 : CH, m8 = n % 8 ? 0 : m & ~7;
        float *y0 = y + (long)i0 * n;
        for (int i = 0; i < m8; i += 8) rows8_sums(y0 + (long)i * n, n, NULL, mu + i);
        for (int i = m8; i < m; i++) mu[i] = row_sum(y0 + (long)i * n, n);
        for (int i = 0; i < m; i++) mu[i] = mu[i] / n;
        for (int i = 0; i < m8; i += 8) rows8_sums(y0 + (long)i * n, n, mu + i, r + i);
        for (int i = m8; i < m; i++) r[i] = row_sqdev(y0 + (long)i * n, n, mu[i]);
        for (int i = 0; i < m; i++) r[i] = 1.0f / sqrtf(r[i] / n + eps);
        for (int i = 0; i < m; i++) {
            float *yr = y0 + (long)i * n, a = mu[i], b = r[i];
#pragma omp simd
            for (int c = 0; c < n; c++) yr[c] = (yr[c] - a) * b;
        }
        if (rs) memcpy(rs + i0, r, (size_t)m * sizeof(float));
    }
}

/* An op's index argument as its node keeps it: an arena copy, since a recorded node is run again
 * by backward after the caller's array may be gone; a no-grad graph records nothing, and an op
 * there is done with its indices when it returns. */
static const int *arena_ints(Graph *g, const int *src, int n) {
    if (g->no_grad) return src;
    int *p = arena_alloc(g->arena, (n > 0 ? n : 1) * sizeof(int));
    if (n > 0) memcpy(p, src, n * sizeof(int));
    return p;
}
/* The index array of an op over M rows with two endpoints each and G + 1 segment bounds:
 * [src (M) | dst (M) | seg (G + 1)], an arena copy. */
static int *rows_and_segments(Graph *g, const int *src, const int *dst, int M, const int *seg, int G) {
    int *idx = arena_alloc(g->arena, (size_t)(2 * M + G + 1) * sizeof(int));
    memcpy(idx, src, (size_t)M * sizeof(int));
    memcpy(idx + M, dst, (size_t)M * sizeof(int));
    memcpy(idx + 2L * M, seg, (size_t)(G + 1) * sizeof(int));
    return idx;
}
/* An arena copy of n input pointers (ops with more than three inputs). */
static Tensor **arena_tensors(Graph *g, Tensor *const *t, int n) {
    Tensor **ins = arena_alloc(g->arena, (size_t)n * sizeof *ins);
    memcpy(ins, t, (size_t)n * sizeof *ins);
    return ins;
}

/* The first i with x[i] outside [0, hi), or -1. A shape rule checks every index an op will read;
 * one branch-free pass (vectorized) over arrays of tens of thousands of rows, the offender looked
 * for only when there is one (a check per element cost a synthesis 2.5% of its time). */
static long first_outside(const int *x, long n, long hi) {
    unsigned lim = hi > 0x7fffffffL ? 0x80000000u : (unsigned)(hi > 0 ? hi : 0), any = 0;
    for (long i = 0; i < n; i++) any |= (unsigned)x[i] >= lim;
    if (!any) return -1;
    long i = 0;
    while ((unsigned)x[i] < lim) i++;
    return i;
}

static void copy_shape(const Tensor *t, int *ndim, int *shape) {
    *ndim = t->ndim;
    memcpy(shape, t->shape, sizeof t->shape);
}

/* A product of M x K by K x N: 2MNK FLOPs forward, and as much again for each operand whose
 * gradient the backward will compute. */
static void count_mm(Graph *g, const Node *n, double M, double N, double K) {
    double k = 1 + (n->out->grad && n->in[0]->grad) + (n->out->grad && n->in[1]->grad);
    g->flops += 2.0 * M * N * K * k;
}

/* Inside a parallel region: this thread's share [c0, c1) of D columns (threads that own columns
 * of every row scatter into shared rows without races, in row order). */
static void thread_columns(int D, int *c0, int *c1) {
    int id = 0, nt = 1;
#ifdef _OPENMP
    id = omp_get_thread_num();
    nt = omp_get_num_threads();
#endif
    *c0 = D * id / nt;
    *c1 = D * (id + 1) / nt;
}
/* Threads for a job of `work` floats of memory traffic: one below PAR_MEM. */
static int n_threads(void) {
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}
static int threads_for(long work) { return work > PAR_MEM ? n_threads() : 1; }

/* ======================= matmul: a [*, K] · b [K, N] ======================= */
/* rows/cols of op(a): M x K (a is [M, K], or [K, M] when ta, which must then be 2-D) */
static void mm_dims(const Node *n, int *M, int *K, int *N) {
    const Tensor *a = n->in[0], *b = n->in[1];
    int ta = n->ia[0], tb = n->ia[1];
    NP_ASSERT(b->ndim == 2, "matmul: b must be 2-D (has %d dims)", b->ndim);
    NP_ASSERT(!ta || a->ndim == 2, "matmul: transposed a must be 2-D");
    int ak = a->shape[a->ndim - 1];
    *K = ta ? a->shape[0] : ak;
    *M = ta ? ak : (int)(a->numel / (ak ? ak : 1));
    int bk = tb ? b->shape[1] : b->shape[0];
    *N = tb ? b->shape[0] : b->shape[1];
    NP_ASSERT(bk == *K, "matmul: inner dims %d vs %d", *K, bk);
}
static void matmul_shape(const Node *n, int *ndim, int *shape) {
    int M, K, N;
    mm_dims(n, &M, &K, &N);
    const Tensor *a = n->in[0];
    if (n->ia[0]) {
        SET_SHAPE(M, N);
        return;
    }
    copy_shape(a, ndim, shape);
    shape[*ndim - 1] = N;
}
/* C[M,N] = op(A) op(B) + beta C, as cblas_sgemm (row-major), but the products of attention (one
 * per input and head, thousands of them per step) go to gemm.c's kernels while B fits in L1, and
 * those of a few thousand multiply-adds run as plain loops: a BLAS call costs more than such a
 * product. */
#define SMALL_MM 8192
static void sgemm_any(int ta, int tb, int M, int N, int K, const float *A, int lda, const float *B, int ldb, float beta,
                      float *C, int ldc) {
    if ((long)N * K <= GEMM_B_MAX && (long)M * N * K > SMALL_MM && !(ta && tb)) {
        int acc = beta != 0.0f;
        if (ta) gemm_tn(M, N, K, A, lda, B, ldb, C, ldc, acc);
        else if (tb) gemm_nt(M, N, K, A, lda, B, ldb, C, ldc, acc);
        else gemm_nn(M, N, K, A, lda, B, ldb, C, ldc, acc);
        return;
    }
    if ((long)M * N * K > SMALL_MM) {
        cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M, N, K, 1.0f, A,
                    lda, B, ldb, beta, C, ldc);
        return;
    }
    for (int i = 0; i < M; i++) {
        float *c = C + (long)i * ldc;
        if (beta == 0.0f)
            for (int j = 0; j < N; j++) c[j] = 0.0f;
        if (!tb) /* rows of B, scaled by A's entries: vectorized over j */
            for (int k = 0; k < K; k++) {
                float a = ta ? A[(long)k * lda + i] : A[(long)i * lda + k];
                const float *b = B + (long)k * ldb;
#pragma omp simd
                for (int j = 0; j < N; j++) c[j] += a * b[j];
            }
        else /* dot products with B's rows */
            for (int j = 0; j < N; j++) {
                const float *b = B + (long)j * ldb;
                float acc = 0.0f;
                if (!ta) {
                    const float *a = A + (long)i * lda;
#pragma omp simd reduction(+ : acc)
                    for (int k = 0; k < K; k++) acc += a[k] * b[k];
                } else
                    for (int k = 0; k < K; k++) acc += A[(long)k * lda + i] * b[k];
                c[j] += acc;
            }
    }
}

/* C[M,N] (+)= op(A) op(B), rows split across threads (each thread its own sgemm on a row block). */
static void gemm_rows(int ta, int tb, int M, int N, int K, const float *A, int lda, const float *B, int ldb, float beta,
                      float *C, int ldc) {
    if (M == 0 || N == 0) return;
    long flops = 2L * M * N * K;
    if (flops < (1L << 21) || ta) {
        cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M, N, K, 1.0f, A,
                    lda, B, ldb, beta, C, ldc);
        return;
    }
#pragma omp parallel
    {
        int nt = 1, id = 0;
#ifdef _OPENMP
        nt = omp_get_num_threads();
        id = omp_get_thread_num();
#endif
        int r0 = (int)((long)M * id / nt), r1 = (int)((long)M * (id + 1) / nt);
        if (r1 > r0)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, tb ? CblasTrans : CblasNoTrans, r1 - r0, N, K, 1.0f,
                        A + (long)r0 * lda, lda, B, ldb, beta, C + (long)r0 * ldc, ldc);
    }
}
static void matmul_fwd(Graph *g, Node *n) {
    int M, K, N;
    mm_dims(n, &M, &K, &N);
    count_mm(g, n, M, N, K);
    const Tensor *a = n->in[0], *b = n->in[1];
    gemm_rows(n->ia[0], n->ia[1], M, N, K, a->data, n->ia[0] ? M : K, b->data, n->ia[1] ? K : N, 0.0f, n->out->data, N);
}
/* Gradients of C = op(A) op(B):  d op(A) = dC op(B)^T,  d op(B) = op(A)^T dC, added into dA and dB
 * (either may be NULL). The one backward of matmul and bmm. par: the products may split their rows
 * across threads (gemm_rows); 0 inside a loop that is already parallel (sgemm_any). */
typedef void GemmFn(int ta, int tb, int M, int N, int K, const float *A, int lda, const float *B, int ldb, float beta,
                    float *C, int ldc);
static void mm_backward(int par, int ta, int tb, int M, int N, int K, const float *A, float *dA, const float *B,
                        float *dB, const float *dC) {
    GemmFn *gemm = par ? gemm_rows : sgemm_any;
    int lda = ta ? M : K, ldb = tb ? K : N;
    if (dA) {
        if (!ta) gemm(0, !tb, M, K, N, dC, N, B, ldb, 1.0f, dA, K); /* dA[M,K] += dC op(B)^T */
        else gemm(tb, 1, K, M, N, B, ldb, dC, N, 1.0f, dA, M);      /* dA[K,M] += op(B) dC^T */
    }
    if (dB) {
        if (!tb) gemm(!ta, 0, K, N, M, A, lda, dC, N, 1.0f, dB, N); /* dB[K,N] += op(A)^T dC */
        else gemm(1, ta, N, K, M, dC, N, A, lda, 1.0f, dB, K);      /* dB[N,K] += dC^T op(A) */
    }
}
static void matmul_bwd(Node *n) {
    int M, K, N;
    mm_dims(n, &M, &K, &N);
    Tensor *a = n->in[0], *b = n->in[1];
    mm_backward(1, n->ia[0], n->ia[1], M, N, K, a->data, a->grad, b->data, b->grad, n->out->grad);
}
Tensor *op_matmul(Graph *g, Tensor *a, Tensor *b, int ta, int tb) {
    Node n = {.op = OP_MATMUL, .in = {a, b}, .ia = {ta, tb}};
    return tape_apply(g, &n);
}

/* ======================= bmm: a [B, M, K] · b [B, K, N] ======================= */
static void bmm_dims(const Node *n, int *Bt, int *M, int *K, int *N) {
    const Tensor *a = n->in[0], *b = n->in[1];
    NP_ASSERT(a->ndim == 3 && b->ndim == 3, "bmm: want 3-D operands, got %d-D and %d-D", a->ndim, b->ndim);
    NP_ASSERT(a->shape[0] == b->shape[0], "bmm: batch %d vs %d", a->shape[0], b->shape[0]);
    *Bt = a->shape[0];
    *M = n->ia[0] ? a->shape[2] : a->shape[1];
    *K = n->ia[0] ? a->shape[1] : a->shape[2];
    *N = n->ia[1] ? b->shape[1] : b->shape[2];
    int bk = n->ia[1] ? b->shape[2] : b->shape[1];
    NP_ASSERT(bk == *K, "bmm: inner dims %d vs %d", *K, bk);
}
static void bmm_shape(const Node *n, int *ndim, int *shape) {
    int Bt, M, K, N;
    bmm_dims(n, &Bt, &M, &K, &N);
    NP_ASSERT(!n->in[2] || n->in[2]->numel == (long)Bt * N, "bmm: bias must have %d x %d values", Bt, N);
    SET_SHAPE(Bt, M, N);
}
/* Optional in[2]: a bias row per batch element ([Bt, 1, N]), added in the same pass. One batch
 * element (a network shared by all rows, as direct's) splits its rows across threads, forward and
 * backward; its weight and bias gradients, sums over all rows, go to per-thread partial sums
 * added in thread order (aux: a Bmm1, saved by forward; NULL when one thread does the sums). */
typedef struct {
    int T;
    float *part;
} Bmm1; /* T threads' partial sums, (K + 1) N floats each */
static void bmm_fwd(Graph *g, Node *n) {
    int Bt, M, K, N;
    bmm_dims(n, &Bt, &M, &K, &N);
    count_mm(g, n, (double)Bt * M, N, K);
    const float *A = n->in[0]->data, *B = n->in[1]->data, *bias = n->in[2] ? n->in[2]->data : NULL;
    float *C = n->out->data;
    int ta = n->ia[0], tb = n->ia[1];
    if (Bt == 1) {
        gemm_rows(ta, tb, M, N, K, A, ta ? M : K, B, tb ? K : N, 0.0f, C, N);
        if (bias) {
#pragma omp parallel for schedule(static) if ((long)M * N > PAR_MEM)
            for (int i = 0; i < M; i++) {
#pragma omp simd
                for (int j = 0; j < N; j++) C[(long)i * N + j] += bias[j];
            }
        }
        int T = threads_for((long)M * (K + N));
        if (n->out->grad && T > 1 && ((n->in[1]->grad && !ta) || (n->in[2] && n->in[2]->grad))) {
            Bmm1 *bm = arena_alloc(g->arena, sizeof *bm);
            bm->T = T;
            bm->part = arena_alloc(g->arena, (size_t)T * (K + 1) * N * sizeof(float));
            n->aux = (float *)bm;
        }
        return;
    }
#pragma omp parallel for schedule(static) if ((long)Bt * M * N * K > PAR_MIN)
    for (int i = 0; i < Bt; i++) {
        float *c = C + (long)i * M * N;
        sgemm_any(ta, tb, M, N, K, A + (long)i * M * K, ta ? M : K, B + (long)i * K * N, tb ? K : N, 0.0f, c, N);
        if (bias)
            for (int r = 0; r < M; r++) {
#pragma omp simd
                for (int j = 0; j < N; j++) c[(long)r * N + j] += bias[(long)i * N + j];
            }
    }
}
/* One batch element: dA by rows in parallel; dW (op(B) = W^T, the linear-layer case) and the bias
 * gradient as per-thread sums over row blocks. */
static void bmm1_bwd(Node *n, int M, int K, int N) {
    Tensor *a = n->in[0], *b = n->in[1], *bias = n->in[2];
    int ta = n->ia[0], tb = n->ia[1];
    const float *dC = n->out->grad;
    const Bmm1 *bm = (const Bmm1 *)n->aux;
    if (!bm) { /* small, or a transposed A: one thread for the sums */
        mm_backward(1, ta, tb, M, N, K, a->data, a->grad, b->data, b->grad, dC);
        if (bias && bias->grad)
            for (int i = 0; i < M; i++)
                for (int j = 0; j < N; j++) bias->grad[j] += dC[(long)i * N + j];
        return;
    }
    mm_backward(1, ta, tb, M, N, K, a->data, a->grad, b->data, NULL, dC); /* dA */
    int wg = b->grad != NULL, bg = bias && bias->grad;
#pragma omp parallel num_threads(bm->T)
    {
        int id = 0, nt = 1;
#ifdef _OPENMP
        id = omp_get_thread_num();
        nt = omp_get_num_threads();
#endif
        int r0 = (int)((long)M * id / nt), r1 = (int)((long)M * (id + 1) / nt), m = r1 - r0;
        float *pw = bm->part + (long)id * (K + 1) * N, *pb = pw + (long)K * N;
        memset(pw, 0, (size_t)(K + 1) * N * sizeof(float));
        const float *dc = dC + (long)r0 * N, *ar = a->data + (long)r0 * K;
        if (wg && m > 0) {
            if (!tb)
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, N, m, 1.0f, ar, K, dc, N, 0.0f, pw,
                            N); /* [K,N] */
            else
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, N, K, m, 1.0f, dc, N, ar, K, 0.0f, pw,
                            K); /* [N,K] */
        }
        if (bg)
            for (int i = 0; i < m; i++) {
#pragma omp simd
                for (int j = 0; j < N; j++) pb[j] += dc[(long)i * N + j];
            }
#pragma omp barrier
#pragma omp for schedule(static)
        for (long k = 0; k < (long)(K + 1) * N; k++) {
            float acc = 0;
            for (int q = 0; q < nt; q++) acc += bm->part[(long)q * (K + 1) * N + k];
            if (k < (long)K * N) {
                if (wg) b->grad[k] += acc;
            } else if (bg) bias->grad[k - (long)K * N] += acc;
        }
    }
}
static void bmm_bwd(Node *n) {
    int Bt, M, K, N;
    bmm_dims(n, &Bt, &M, &K, &N);
    Tensor *a = n->in[0], *b = n->in[1], *bias = n->in[2];
    int ta = n->ia[0], tb = n->ia[1];
    if (Bt == 1) {
        bmm1_bwd(n, M, K, N);
        return;
    }
#pragma omp parallel for schedule(static) if ((long)Bt * M * N * K > PAR_MIN)
    for (int i = 0; i < Bt; i++) {
        long oa = (long)i * M * K, ob = (long)i * K * N, oc = (long)i * M * N;
        const float *dC = n->out->grad + oc;
        mm_backward(0, ta, tb, M, N, K, a->data + oa, a->grad ? a->grad + oa : NULL, b->data + ob,
                    b->grad ? b->grad + ob : NULL, dC);
        if (bias && bias->grad)
            for (int r = 0; r < M; r++) {
#pragma omp simd
                for (int j = 0; j < N; j++) bias->grad[(long)i * N + j] += dC[(long)r * N + j];
            }
    }
}
Tensor *op_bmm(Graph *g, Tensor *a, Tensor *b, int ta, int tb) {
    Node n = {.op = OP_BMM, .in = {a, b}, .ia = {ta, tb}};
    return tape_apply(g, &n);
}
Tensor *op_bmm_bias(Graph *g, Tensor *a, Tensor *b, Tensor *bias, int ta, int tb) {
    Node n = {.op = OP_BMM, .in = {a, b, bias}, .ia = {ta, tb}};
    return tape_apply(g, &n);
}

/* Row tiles of a segmented op: up to ROW_TILE rows of one segment each, so that a tile's product
 * and everything after it run while the tile is in cache. tile[2t] = first row, tile[2t+1] = its
 * segment, tile[2 n] = M (the end). Threads take tiles in a fixed (static) assignment. */
#define ROW_TILE 128
typedef struct {
    int n, *tile;
} Tiles;
/* With run (non-decreasing, e.g. a slot per row) a tile also ends only where run changes, so that no
 * run of equal values is split; *longest (if asked) gets the longest tile. Snapping only lengthens
 * tiles, so the unsnapped count bounds theirs. */
static Tiles row_tiles(Graph *g, const int *seg, int G, int M, const int *run, int *longest) {
    Tiles t = {0};
    int cap = 0, most = M > 0 ? 1 : 0;
    for (int s = 0; s < G; s++) cap += (seg[s + 1] - seg[s] + ROW_TILE - 1) / ROW_TILE;
    t.tile = arena_alloc(g->arena, (size_t)(2 * cap + 2) * sizeof(int));
    for (int s = 0; s < G; s++)
        for (int r = seg[s], r1; r < seg[s + 1]; r = r1) {
            r1 = r + ROW_TILE < seg[s + 1] ? r + ROW_TILE : seg[s + 1];
            while (run && r1 < seg[s + 1] && run[r1] == run[r1 - 1]) r1++;
            if (r1 - r > most) most = r1 - r;
            t.tile[2 * t.n] = r;
            t.tile[2 * t.n + 1] = s;
            t.n++;
        }
    t.tile[2 * t.n] = M;
    if (longest) *longest = most > 0 ? most : 1;
    return t;
}
/* rows r0..r1 and segment s of tile t */
static inline void tile_rows(const Tiles *t, const int *seg, int k, int *r0, int *r1, int *s) {
    *r0 = t->tile[2 * k];
    *s = t->tile[2 * k + 1];
    *r1 = t->tile[2 * k + 2];
    if (*r1 > seg[*s + 1]) *r1 = seg[*s + 1];
}
/* dst[k] += Σ_q part[q·stride + k] over T threads' partial sums, in thread order. */
static void add_partials(float *dst, const float *part, long stride, int T, long n, int assign) {
#pragma omp parallel for schedule(static) if (n * T > PAR_MEM)
    for (long k = 0; k < n; k++) {
        float acc = 0;
        for (int q = 0; q < T; q++) acc += part[(long)q * stride + k];
        dst[k] = assign ? acc : dst[k] + acc;
    }
}
/* The same for G segments' weight and bias gradients in one pass (one per segment ran the small
 * ones on one thread): segment s's partials are [K·N weights, N biases] at part + s·(K+1)·N, its
 * gradients at w + s·K·N and b + s·N (either NULL: not wanted). */
static void add_seg_partials(float *w, float *b, const float *part, long stride, int T, int G, long KN, int N) {
    long per = KN + N, n = (long)G * per;
#pragma omp parallel for schedule(static) if (n * T > PAR_MEM / 4)
    for (long k = 0; k < n; k++) {
        long s = k / per, j = k - s * per;
        float *dst = j < KN ? (w ? w + s * KN + j : NULL) : (b ? b + s * N + (j - KN) : NULL);
        if (!dst) continue;
        float acc = 0;
        for (int q = 0; q < T; q++) acc += part[(long)q * stride + k];
        *dst += acc;
    }
}

/* Back through a LayerNorm without gain or bias (x̂ its output, rs its 1/std), one row of n: the
 * input's gradient is rs (dy − s1 − x̂ s2) with s1 = mean dy and s2 = mean(dy x̂). */
static inline void ln_row_means(const float *dy, const float *xh, int n, float *s1, float *s2) {
    float a = 0, b = 0;
#pragma omp simd reduction(+ : a, b)
    for (int c = 0; c < n; c++) {
        a += dy[c];
        b += dy[c] * xh[c];
    }
    *s1 = a / n;
    *s2 = b / n;
}
/* The same, in place in dy. */
static inline void ln_row_backward(float *dy, const float *xh, float rs, int n) {
    float s1, s2;
    ln_row_means(dy, xh, n, &s1, &s2);
#pragma omp simd
    for (int c = 0; c < n; c++) dy[c] = rs * (dy[c] - s1 - xh[c] * s2);
}

/* ======================= segmm: x [M, K], w [G, K, N], segments -> [M, N] ======================= */
/* Row segment s (idx[s] .. idx[s+1]) is multiplied by w[s], plus bias[s]; ia[2] is what follows in
 * the same pass over each row tile: nothing, or a ReLU (the output's sign is then the mask backward
 * needs). Weight gradients are summed per thread over its tiles, then added in thread order
 * (deterministic per thread count). aux: a Segmm. */
enum { EPI_NONE, EPI_RELU };
typedef struct {
    Tiles tl;
    int T;
    float *part; /* T partials of G (K+1) N */
    long part_n;
} Segmm;
static void segmm_shape(const Node *n, int *ndim, int *shape) {
    const Tensor *x = n->in[0], *w = n->in[1];
    int G = n->ia[0];
    NP_ASSERT(x->ndim == 2 && w->ndim == 3, "segmm: want x [M,K] and w [G,K,N]");
    NP_ASSERT(w->shape[0] == G && w->shape[1] == x->shape[1], "segmm: w [%d,%d,%d] vs G=%d K=%d", w->shape[0],
              w->shape[1], w->shape[2], G, x->shape[1]);
    NP_ASSERT(n->idx[0] == 0 && n->idx[G] == x->shape[0], "segmm: segments must cover rows 0..%d", x->shape[0]);
    const Tensor *b = n->in[2];
    NP_ASSERT(!b || (b->numel == (long)G * w->shape[2]), "segmm: bias must be [G=%d, N=%d]", G, w->shape[2]);
    for (int s = 0; s < G; s++) NP_ASSERT(n->idx[s] <= n->idx[s + 1], "segmm: segments out of order");
    SET_SHAPE(x->shape[0], w->shape[2]);
}
static void segmm_fwd(Graph *g, Node *n) {
    const Tensor *x = n->in[0], *w = n->in[1], *bias = n->in[2];
    int K = x->shape[1], N = w->shape[2], M = x->shape[0], G = n->ia[0], epi = n->ia[2];
    count_mm(g, n, M, N, K);
    Segmm *sm = arena_calloc(g->arena, sizeof *sm);
    n->aux = (float *)sm;
    sm->tl = row_tiles(g, n->idx, G, M, NULL, NULL);
    sm->T = threads_for((long)M * (K + N));
    if (n->out->grad && (w->grad || (bias && bias->grad))) {
        sm->part_n = (long)G * (K + 1) * N;
        sm->part = arena_alloc(g->arena, (size_t)sm->T * sm->part_n * sizeof(float));
    }
    const int *seg = n->idx;
#pragma omp parallel for schedule(static) num_threads(sm->T) if (sm->T > 1)
    for (int t = 0; t < sm->tl.n; t++) {
        int r0, r1, s;
        tile_rows(&sm->tl, seg, t, &r0, &r1, &s);
        float *o = n->out->data + (long)r0 * N;
        gemm_nn(r1 - r0, N, K, x->data + (long)r0 * K, K, w->data + (long)s * K * N, N, o, N, 0);
        if (!bias && epi == EPI_NONE) continue;
        const float *b = bias ? bias->data + (long)s * N : NULL;
        for (int i = r0; i < r1; i++, o += N) {
            if (b) {
#pragma omp simd
                for (int c = 0; c < N; c++) o[c] += b[c];
            }
            if (epi == EPI_RELU) {
#pragma omp simd
                for (int c = 0; c < N; c++) o[c] = o[c] > 0 ? o[c] : 0.0f;
            }
        }
    }
}
static void segmm_bwd(Node *n) {
    Tensor *x = n->in[0], *w = n->in[1], *b = n->in[2];
    const Segmm *sm = (const Segmm *)n->aux;
    int K = x->shape[1], N = w->shape[2], G = n->ia[0], epi = n->ia[2];
    const int *seg = n->idx;
#pragma omp parallel num_threads(sm->T) if (sm->T > 1)
    {
        int id = 0;
#ifdef _OPENMP
        id = omp_get_thread_num();
#endif
        float *part = sm->part ? sm->part + (long)id * sm->part_n : NULL;
        if (part) memset(part, 0, (size_t)sm->part_n * sizeof(float));
        GemmBt bt; /* a group's Wᵀ, kept over its tiles */
        bt.b = NULL;
#pragma omp for schedule(static)
        for (int t = 0; t < sm->tl.n; t++) {
            int r0, r1, s;
            tile_rows(&sm->tl, seg, t, &r0, &r1, &s);
            float *dY = n->out->grad + (long)r0 * N;
            const float *o = n->out->data + (long)r0 * N;
            /* back through the epilogue, in place: every consumer of out has added its part by now */
            if (epi == EPI_RELU)
                for (long k = 0; k < (long)(r1 - r0) * N; k++) dY[k] = o[k] > 0 ? dY[k] : 0.0f;
            if (x->grad) /* dX = dY W^T (assigned when x's gradient is fresh: tiles cover every row once) */
                gemm_nt_reuse(&bt, r1 - r0, K, N, dY, N, w->data + (long)s * K * N, N, x->grad + (long)r0 * K, K,
                              !(n->fresh & 1));
            if (part) { /* dW += X^T dY, db += colsum dY */
                float *pw = part + (long)s * (K + 1) * N, *pb = pw + (long)K * N;
                if (w->grad) gemm_tn(K, N, r1 - r0, x->data + (long)r0 * K, K, dY, N, pw, N, 1);
                if (b && b->grad)
                    for (int i = 0; i < r1 - r0; i++) {
#pragma omp simd
                        for (int c = 0; c < N; c++) pb[c] += dY[(long)i * N + c];
                    }
            }
        }
    }
    if (!sm->part) return;
    add_seg_partials(w->grad, b ? b->grad : NULL, sm->part, sm->part_n, sm->T, G, (long)K * N, N);
}
static Tensor *segmm(Graph *g, Tensor *x, Tensor *w, Tensor *bias, const int *seg, int G, int epi) {
    Node n = {.op = OP_SEGMM, .in = {x, w, bias}, .ia = {G, 0, epi}, .idx = arena_ints(g, seg, G + 1)};
    return tape_apply(g, &n);
}
Tensor *op_segmm(Graph *g, Tensor *x, Tensor *w, const int *seg, int G) {
    return segmm(g, x, w, NULL, seg, G, EPI_NONE);
}
Tensor *op_segmm_bias(Graph *g, Tensor *x, Tensor *w, Tensor *b, const int *seg, int G) {
    return segmm(g, x, w, b, seg, G, EPI_NONE);
}
Tensor *op_segmm_bias_relu(Graph *g, Tensor *x, Tensor *w, Tensor *b, const int *seg, int G) {
    return segmm(g, x, w, b, seg, G, EPI_RELU);
}

/* ======================= broadcasting elementwise: add, sub, mul ======================= */
/* Both operands and the output as 4-D with strides (0 where an operand is broadcast). */
typedef struct {
    int shape[4];
    long sa[4], sb[4], so[4];
} Bcast;
static void bcast_plan(const Tensor *a, const Tensor *b, Bcast *p, int *ndim, int *shape) {
    int nd = a->ndim > b->ndim ? a->ndim : b->ndim;
    int as[4] = {1, 1, 1, 1}, bs[4] = {1, 1, 1, 1};
    for (int i = 0; i < a->ndim; i++) as[4 - a->ndim + i] = a->shape[i];
    for (int i = 0; i < b->ndim; i++) bs[4 - b->ndim + i] = b->shape[i];
    long ka = 1, kb = 1, ko = 1;
    for (int i = 3; i >= 0; i--) {
        NP_ASSERT(as[i] == bs[i] || as[i] == 1 || bs[i] == 1, "broadcast: dims %d and %d do not match", as[i], bs[i]);
        p->shape[i] = as[i] > bs[i] ? as[i] : bs[i];
        if (as[i] == 0 || bs[i] == 0) p->shape[i] = 0;
        p->sa[i] = as[i] == 1 ? 0 : ka;
        p->sb[i] = bs[i] == 1 ? 0 : kb;
        p->so[i] = ko;
        ka *= as[i];
        kb *= bs[i];
        ko *= p->shape[i];
    }
    if (ndim) {
        *ndim = nd;
        for (int i = 0; i < nd; i++) shape[i] = p->shape[4 - nd + i];
    }
}
static void binary_shape(const Node *n, int *ndim, int *shape) {
    Bcast p;
    bcast_plan(n->in[0], n->in[1], &p, ndim, shape);
}

#define BCAST_LOOP(p, BODY)                                                                   \
    for (int i0 = 0; i0 < (p).shape[0]; i0++)                                                 \
        for (int i1 = 0; i1 < (p).shape[1]; i1++)                                             \
            for (int i2 = 0; i2 < (p).shape[2]; i2++) {                                       \
                long ia_ = i0 * (p).sa[0] + i1 * (p).sa[1] + i2 * (p).sa[2];                  \
                long ib_ = i0 * (p).sb[0] + i1 * (p).sb[1] + i2 * (p).sb[2];                  \
                long io_ = i0 * (p).so[0] + i1 * (p).so[1] + i2 * (p).so[2];                  \
                for (int i3 = 0; i3 < (p).shape[3]; i3++) {                                   \
                    long ja = ia_ + i3 * (p).sa[3], jb = ib_ + i3 * (p).sb[3], jo = io_ + i3; \
                    (void)ja;                                                                 \
                    (void)jb;                                                                 \
                    BODY                                                                      \
                }                                                                             \
            }

static void binary_fwd(Graph *g, Node *n) {
    Bcast p;
    bcast_plan(n->in[0], n->in[1], &p, NULL, NULL);
    const float *a = n->in[0]->data, *b = n->in[1]->data;
    float *o = n->out->data;
    long N = n->out->numel;
    if (tensor_same_shape(n->in[0], n->in[1])) { /* the common case, vectorizable */
        switch (n->op) {
        case OP_ADD:
#pragma omp parallel for schedule(static) if (N > PAR_MIN)
            for (long i = 0; i < N; i++) o[i] = a[i] + b[i];
            break;
        case OP_SUB:
#pragma omp parallel for schedule(static) if (N > PAR_MIN)
            for (long i = 0; i < N; i++) o[i] = a[i] - b[i];
            break;
        default:
#pragma omp parallel for schedule(static) if (N > PAR_MIN)
            for (long i = 0; i < N; i++) o[i] = a[i] * b[i];
        }
        return;
    }
    switch (n->op) {
    case OP_ADD: BCAST_LOOP(p, o[jo] = a[ja] + b[jb];) break;
    case OP_SUB: BCAST_LOOP(p, o[jo] = a[ja] - b[jb];) break;
    default: BCAST_LOOP(p, o[jo] = a[ja] * b[jb];) break;
    }
}
/* Reductions over broadcast dims happen here, serially, so the summation order is fixed. */
static void binary_bwd(Node *n) {
    Bcast p;
    bcast_plan(n->in[0], n->in[1], &p, NULL, NULL);
    Tensor *A = n->in[0], *B = n->in[1];
    const float *a = A->data, *b = B->data, *go = n->out->grad;
    float *ga = A->grad, *gb = B->grad;
    if (tensor_same_shape(A, B)) { /* no reduction: plain vectorizable loops (assigned when fresh) */
        long N = n->out->numel;
        float sb = n->op == OP_SUB ? -1.0f : 1.0f;
        int mul = n->op == OP_MUL;
        for (int k = 0; k < 2; k++) {
            float *gk = k ? gb : ga;
            const float *other = k ? a : b;
            float sg = k ? sb : 1.0f;
            if (!gk) continue;
            if (n->fresh >> k & 1) {
#pragma omp parallel for simd schedule(static) if (N > PAR_MEM)
                for (long i = 0; i < N; i++) gk[i] = mul ? go[i] * other[i] : sg * go[i];
            } else {
#pragma omp parallel for simd schedule(static) if (N > PAR_MEM)
                for (long i = 0; i < N; i++) gk[i] += mul ? go[i] * other[i] : sg * go[i];
            }
        }
        return;
    }
    switch (n->op) {
    case OP_ADD:
        if (ga) BCAST_LOOP(p, ga[ja] += go[jo];)
        if (gb) BCAST_LOOP(p, gb[jb] += go[jo];)
        break;
    case OP_SUB:
        if (ga) BCAST_LOOP(p, ga[ja] += go[jo];)
        if (gb) BCAST_LOOP(p, gb[jb] -= go[jo];)
        break;
    default:
        if (ga) BCAST_LOOP(p, ga[ja] += go[jo] * b[jb];)
        if (gb) BCAST_LOOP(p, gb[jb] += go[jo] * a[ja];)
    }
}
static Tensor *binary(Graph *g, int op, Tensor *a, Tensor *b) {
    Node n = {.op = op, .in = {a, b}};
    return tape_apply(g, &n);
}
Tensor *op_add(Graph *g, Tensor *a, Tensor *b) { return binary(g, OP_ADD, a, b); }
Tensor *op_sub(Graph *g, Tensor *a, Tensor *b) { return binary(g, OP_SUB, a, b); }
Tensor *op_mul(Graph *g, Tensor *a, Tensor *b) { return binary(g, OP_MUL, a, b); }

/* ======================= scale, add scalar ======================= */
static void same_shape(const Node *n, int *ndim, int *shape) { copy_shape(n->in[0], ndim, shape); }
static void scale_fwd(Graph *g, Node *n) {
    const float *a = n->in[0]->data;
    float *o = n->out->data, s = n->fa[0];
    long N = n->out->numel;
    if (n->op == OP_SCALE)
        for (long i = 0; i < N; i++) o[i] = a[i] * s;
    else
        for (long i = 0; i < N; i++) o[i] = a[i] + s;
}
static void scale_bwd(Node *n) {
    float *ga = n->in[0]->grad;
    const float *go = n->out->grad;
    if (!ga) return;
    float s = n->op == OP_SCALE ? n->fa[0] : 1.0f;
    if (n->fresh & 1)
        for (long i = 0; i < n->out->numel; i++) ga[i] = go[i] * s;
    else
        for (long i = 0; i < n->out->numel; i++) ga[i] += go[i] * s;
}
Tensor *op_scale(Graph *g, Tensor *a, float s) {
    Node n = {.op = OP_SCALE, .in = {a}, .fa = {s}};
    return tape_apply(g, &n);
}
Tensor *op_add_scalar(Graph *g, Tensor *a, float s) {
    Node n = {.op = OP_ADDS, .in = {a}, .fa = {s}};
    return tape_apply(g, &n);
}

/* ======================= concat, slice: [outer, axis, inner] blocks ======================= */
static void axis_split(const Tensor *t, int axis, long *outer, long *inner) {
    *outer = 1;
    *inner = 1;
    for (int i = 0; i < axis; i++) *outer *= t->shape[i];
    for (int i = axis + 1; i < t->ndim; i++) *inner *= t->shape[i];
}
static void concat_shape(const Node *n, int *ndim, int *shape) {
    const Tensor *x0 = n->ins[0];
    int axis = n->ia[0], tot = 0;
    NP_ASSERT(axis >= 0 && axis < x0->ndim, "concat: axis %d of a %d-D tensor", axis, x0->ndim);
    for (int k = 0; k < n->nin; k++) {
        const Tensor *x = n->ins[k];
        NP_ASSERT(x->ndim == x0->ndim, "concat: input %d has %d dims, input 0 has %d", k, x->ndim, x0->ndim);
        for (int i = 0; i < x->ndim; i++)
            NP_ASSERT(i == axis || x->shape[i] == x0->shape[i], "concat: input %d dim %d is %d, want %d", k, i,
                      x->shape[i], x0->shape[i]);
        tot += x->shape[axis];
    }
    copy_shape(x0, ndim, shape);
    shape[axis] = tot;
}
static void concat_fwd(Graph *g, Node *n) {
    long outer, inner;
    axis_split(n->out, n->ia[0], &outer, &inner);
    long orow = n->out->shape[n->ia[0]] * inner, off = 0;
    for (int k = 0; k < n->nin; k++) {
        const Tensor *x = n->ins[k];
        long w = x->shape[n->ia[0]] * inner;
        for (long o = 0; o < outer; o++) memcpy(n->out->data + o * orow + off, x->data + o * w, w * sizeof(float));
        off += w;
    }
}
static void concat_bwd(Node *n) {
    long outer, inner;
    axis_split(n->out, n->ia[0], &outer, &inner);
    long orow = n->out->shape[n->ia[0]] * inner, off = 0;
    for (int k = 0; k < n->nin; k++) {
        Tensor *x = n->ins[k];
        long w = x->shape[n->ia[0]] * inner;
        if (x->grad)
            for (long o = 0; o < outer; o++) {
                const float *src = n->out->grad + o * orow + off;
                float *dst = x->grad + o * w;
                for (long j = 0; j < w; j++) dst[j] += src[j];
            }
        off += w;
    }
}
Tensor *op_concat(Graph *g, Tensor **xs, int nx, int axis) {
    NP_ASSERT(nx >= 1, "concat of nothing");
    Tensor **ins = arena_alloc(g->arena, nx * sizeof *ins);
    memcpy(ins, xs, nx * sizeof *ins);
    Node n = {.op = OP_CONCAT, .ins = ins, .nin = nx, .ia = {axis}};
    return tape_apply(g, &n);
}

static void slice_shape(const Node *n, int *ndim, int *shape) {
    const Tensor *a = n->in[0];
    int axis = n->ia[0], start = n->ia[1], len = n->ia[2];
    NP_ASSERT(axis >= 0 && axis < a->ndim, "slice: axis %d of a %d-D tensor", axis, a->ndim);
    NP_ASSERT(start >= 0 && len >= 0 && start + len <= a->shape[axis], "slice: [%d, %d) of %d", start, start + len,
              a->shape[axis]);
    copy_shape(a, ndim, shape);
    shape[axis] = len;
}
static void slice_fwd(Graph *g, Node *n) {
    long outer, inner;
    axis_split(n->in[0], n->ia[0], &outer, &inner);
    long arow = n->in[0]->shape[n->ia[0]] * inner, w = n->ia[2] * inner, off = n->ia[1] * inner;
#pragma omp parallel for schedule(static) if (outer * w > PAR_MEM)
    for (long o = 0; o < outer; o++) memcpy(n->out->data + o * w, n->in[0]->data + o * arow + off, w * sizeof(float));
}
static void slice_bwd(Node *n) {
    if (!n->in[0]->grad) return;
    long outer, inner;
    axis_split(n->in[0], n->ia[0], &outer, &inner);
    long arow = n->in[0]->shape[n->ia[0]] * inner, w = n->ia[2] * inner, off = n->ia[1] * inner;
#pragma omp parallel for schedule(static) if (outer * w > PAR_MEM)
    for (long o = 0; o < outer; o++) {
        float *dst = n->in[0]->grad + o * arow + off;
        const float *src = n->out->grad + o * w;
        for (long j = 0; j < w; j++) dst[j] += src[j];
    }
}
Tensor *op_slice(Graph *g, Tensor *a, int axis, int start, int len) {
    Node n = {.op = OP_SLICE, .in = {a}, .ia = {axis, start, len}};
    return tape_apply(g, &n);
}

/* ======================= permute ======================= */
static void permute_shape(const Node *n, int *ndim, int *shape) {
    const Tensor *a = n->in[0];
    int seen[NT_MAXDIM] = {0};
    for (int i = 0; i < a->ndim; i++) {
        int p = n->ia[i];
        NP_ASSERT(p >= 0 && p < a->ndim && !seen[p], "permute: not a permutation of %d axes", a->ndim);
        seen[p] = 1;
        shape[i] = a->shape[p];
    }
    *ndim = a->ndim;
}
/* Source strides seen in output order, padded to 4-D. */
static void permute_plan(const Node *n, int *os, long *st) {
    const Tensor *a = n->in[0];
    long as[NT_MAXDIM];
    long k = 1;
    for (int i = a->ndim - 1; i >= 0; i--) {
        as[i] = k;
        k *= a->shape[i];
    }
    int pad = 4 - a->ndim;
    for (int i = 0; i < 4; i++) {
        os[i] = 1;
        st[i] = 0;
    }
    for (int i = 0; i < a->ndim; i++) {
        os[pad + i] = a->shape[n->ia[i]];
        st[pad + i] = as[n->ia[i]];
    }
}
static void permute_fwd(Graph *g, Node *n) {
    int os[4];
    long st[4];
    permute_plan(n, os, st);
    const float *a = n->in[0]->data;
    float *o = n->out->data;
    long j = 0;
    for (int i0 = 0; i0 < os[0]; i0++)
        for (int i1 = 0; i1 < os[1]; i1++)
            for (int i2 = 0; i2 < os[2]; i2++)
                for (int i3 = 0; i3 < os[3]; i3++) o[j++] = a[i0 * st[0] + i1 * st[1] + i2 * st[2] + i3 * st[3]];
}
static void permute_bwd(Node *n) {
    if (!n->in[0]->grad) return;
    int os[4];
    long st[4];
    permute_plan(n, os, st);
    float *ga = n->in[0]->grad;
    const float *go = n->out->grad;
    long j = 0;
    for (int i0 = 0; i0 < os[0]; i0++)
        for (int i1 = 0; i1 < os[1]; i1++)
            for (int i2 = 0; i2 < os[2]; i2++)
                for (int i3 = 0; i3 < os[3]; i3++) ga[i0 * st[0] + i1 * st[1] + i2 * st[2] + i3 * st[3]] += go[j++];
}
Tensor *op_permute(Graph *g, Tensor *a, const int *perm) {
    Node n = {.op = OP_PERMUTE, .in = {a}};
    for (int i = 0; i < a->ndim; i++) n.ia[i] = perm[i];
    return tape_apply(g, &n);
}

/* ======================= pointwise activations ======================= */
static inline float act_f(int op, float x) {
    switch (op) {
    case OP_RELU: return x <= 0 ? 0 : x;
    case OP_GELU: return 0.5f * x * (1.0f + erff(x * 0.70710678118654752f));
    case OP_SILU: return x / (1.0f + expf(-x));
    case OP_TANH: return tanhf(x);
    default: return 1.0f / (1.0f + expf(-x));
    }
}
/* derivative from the input x and the output y */
static inline float act_df(int op, float x, float y) {
    switch (op) {
    case OP_RELU: return x > 0 ? 1.0f : 0.0f;
    case OP_GELU:
        return 0.5f * (1.0f + erff(x * 0.70710678118654752f)) + x * 0.39894228040143268f * expf(-0.5f * x * x);
    case OP_SILU: {
        float s = 1.0f / (1.0f + expf(-x));
        return s * (1.0f + x * (1.0f - s));
    }
    case OP_TANH: return 1.0f - y * y;
    default: return y * (1.0f - y);
    }
}
static void act_fwd(Graph *g, Node *n) {
    const float *a = n->in[0]->data;
    float *o = n->out->data;
    long N = n->out->numel;
    int op = n->op;
    if (op == OP_RELU) { /* its own loop so that it vectorizes: the meta-learners' hot activation */
#pragma omp parallel for simd schedule(static) if (N > PAR_MEM)
        for (long i = 0; i < N; i++) o[i] = a[i] <= 0 ? 0.0f : a[i]; /* NaN passes through */
        return;
    }
#pragma omp parallel for schedule(static) if (N > PAR_MIN)
    for (long i = 0; i < N; i++) o[i] = act_f(op, a[i]);
}
static void act_bwd(Node *n) {
    float *ga = n->in[0]->grad;
    if (!ga) return;
    const float *a = n->in[0]->data, *o = n->out->data, *go = n->out->grad;
    long N = n->out->numel;
    int op = n->op;
    if (op == OP_RELU && (n->fresh & 1)) {
#pragma omp parallel for simd schedule(static) if (N > PAR_MEM)
        for (long i = 0; i < N; i++) ga[i] = a[i] > 0 ? go[i] : 0.0f;
    } else if (op == OP_RELU) {
#pragma omp parallel for simd schedule(static) if (N > PAR_MEM)
        for (long i = 0; i < N; i++) ga[i] += a[i] > 0 ? go[i] : 0.0f;
    } else if (n->fresh & 1) {
#pragma omp parallel for schedule(static) if (N > PAR_MIN)
        for (long i = 0; i < N; i++) ga[i] = go[i] * act_df(op, a[i], o[i]);
    } else {
#pragma omp parallel for schedule(static) if (N > PAR_MIN)
        for (long i = 0; i < N; i++) ga[i] += go[i] * act_df(op, a[i], o[i]);
    }
}
static Tensor *act(Graph *g, int op, Tensor *a) {
    Node n = {.op = op, .in = {a}};
    return tape_apply(g, &n);
}
Tensor *op_relu(Graph *g, Tensor *a) { return act(g, OP_RELU, a); }
Tensor *op_gelu(Graph *g, Tensor *a) { return act(g, OP_GELU, a); }
Tensor *op_silu(Graph *g, Tensor *a) { return act(g, OP_SILU, a); }
Tensor *op_tanh(Graph *g, Tensor *a) { return act(g, OP_TANH, a); }
Tensor *op_sigmoid(Graph *g, Tensor *a) { return act(g, OP_SIGMOID, a); }

/* exp(x) for x <= 0, as softmax and cross-entropy need it (x minus the row's max or log-sum-exp):
 * 2^n e^r with n = round(x / ln 2), ln 2 in two parts, and Cephes' degree-6 polynomial for e^r;
 * within 2 ulp of expf, 0 below -87.3 (where e^x < FLT_MIN), NaN for NaN. Floats and ints only,
 * no call, so a loop over it vectorizes: glibc's expf is a call per element (0.9 ms of softmax a
 * 1D-ARC step). */
static inline float exp_nonpos(float x) {
    float xc = x > -87.3f ? x : -87.3f; /* NaN too: converting NaN to an int is undefined */
    float n = (xc * 1.44269504088896341f + 12582912.0f) - 12582912.0f; /* round to nearest: 1.5·2^23 */
    float r = (xc - n * 0.693359375f) - n * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * (r * r) + r + 1.0f;
    union {
        int32_t i;
        float f;
    } s = {.i = ((int32_t)n + 127) << 23};
    return x > -87.3f ? p * s.f : x != x ? x : 0.0f;
}

/* ======================= softmax over the last axis, optional mask ======================= */
static void softmax_shape(const Node *n, int *ndim, int *shape) {
    const Tensor *a = n->in[0], *m = n->in[1];
    if (m) {
        int C = a->shape[a->ndim - 1];
        NP_ASSERT(m->ndim <= a->ndim, "softmax: mask has more dims than input");
        for (int i = 0; i < m->ndim; i++)
            NP_ASSERT(m->shape[m->ndim - 1 - i] == a->shape[a->ndim - 1 - i],
                      "softmax: mask shape must equal the input's trailing dims");
        NP_ASSERT(m->shape[m->ndim - 1] == C, "softmax: mask last dim");
    }
    copy_shape(a, ndim, shape);
}
static void softmax_fwd(Graph *g, Node *n) {
    const Tensor *a = n->in[0], *m = n->in[1];
    int C = a->shape[a->ndim - 1];
    long R = C ? a->numel / C : 0, mrows = m ? m->numel / C : 1;
#pragma omp parallel for schedule(static) if (a->numel > PAR_EXP)
    for (long r = 0; r < R; r++) {
        const float *x = a->data + r * C, *mk = m ? m->data + (r % mrows) * C : NULL;
        float *y = n->out->data + r * C, mx = -INFINITY, s = 0; /* s: C terms in [0, 1] */
        if (mk) {                                               /* masked entries: left out of the max, 0 after */
            for (int c = 0; c < C; c++)
                if (mk[c] != 0 && x[c] > mx) mx = x[c];
#pragma omp simd reduction(+ : s)
            for (int c = 0; c < C; c++) s += y[c] = mk[c] != 0 ? exp_nonpos(x[c] - mx) : 0.0f;
        } else { /* attention's rows: every loop a vector loop */
#pragma omp simd reduction(max : mx)
            for (int c = 0; c < C; c++) mx = x[c] > mx ? x[c] : mx;
#pragma omp simd reduction(+ : s)
            for (int c = 0; c < C; c++) s += y[c] = exp_nonpos(x[c] - mx);
        }
        float inv = s == 0 ? 0.0f : 1.0f / s; /* a fully masked row gives zeros; a NaN stays NaN */
#pragma omp simd
        for (int c = 0; c < C; c++) y[c] *= inv;
    }
}
static void softmax_bwd(Node *n) {
    Tensor *a = n->in[0];
    if (!a->grad) return;
    int C = a->shape[a->ndim - 1], fresh = n->fresh & 1;
    long R = C ? a->numel / C : 0;
#pragma omp parallel for schedule(static) if (a->numel > PAR_MIN)
    for (long r = 0; r < R; r++) {
        const float *y = n->out->data + r * C, *dy = n->out->grad + r * C;
        float *dx = a->grad + r * C;
        double dot = 0;
        for (int c = 0; c < C; c++) dot += (double)dy[c] * y[c];
        if (fresh)
            for (int c = 0; c < C; c++) dx[c] = y[c] * (dy[c] - (float)dot);
        else
            for (int c = 0; c < C; c++) dx[c] += y[c] * (dy[c] - (float)dot);
    }
}
Tensor *op_softmax(Graph *g, Tensor *a, const Tensor *mask) {
    Node n = {.op = OP_SOFTMAX, .in = {a, (Tensor *)mask}};
    return tape_apply(g, &n);
}

/* ======================= LayerNorm over the last axis ======================= */
/* gain/bias: D floats shared by all rows, or Gr*D floats where row r uses gain row r / (R / Gr)
 * (a per-program gain [B, 1, D] for x [B, T, D]). */
static long ln_grows(const Tensor *p, long R, int D, const char *what) {
    if (!p) return 0;
    NP_ASSERT(p->numel % D == 0, "layernorm: %s has %ld elements, not a multiple of D=%d", what, p->numel, D);
    long gr = p->numel / D;
    NP_ASSERT(gr >= 1 && R % gr == 0, "layernorm: %s rows %ld do not divide %ld rows", what, gr, R);
    return gr;
}
/* Row r / (R / Gr) is what broadcasting means only when p is [D] (leading 1s allowed) or has x's
 * rank with x's leading dims followed by 1s ([B, 1, D] for x [B, T, D]). Anything else, e.g. a
 * [1, T, D] gain, would silently pick the wrong rows: refuse it. */
static void ln_check_layout(const Tensor *x, const Tensor *p, const char *what) {
    if (!p || p->numel == x->shape[x->ndim - 1]) return;
    int ok = p->ndim == x->ndim && p->shape[p->ndim - 1] == x->shape[x->ndim - 1], ones = 0;
    for (int i = 0; ok && i < x->ndim - 1; i++) {
        if (p->shape[i] == 1 && x->shape[i] != 1) ones = 1;
        else if (ones || p->shape[i] != x->shape[i]) ok = 0;
    }
    NP_ASSERT(ok, "layernorm: %s must be [D] or x's shape with trailing leading dims 1 (e.g. [B, 1, D])", what);
}
static void layernorm_shape(const Node *n, int *ndim, int *shape) {
    const Tensor *x = n->in[0];
    int D = x->shape[x->ndim - 1];
    long R = x->numel / (D ? D : 1);
    ln_grows(n->in[1], R, D, "gain");
    ln_grows(n->in[2], R, D, "bias");
    ln_check_layout(x, n->in[1], "gain");
    ln_check_layout(x, n->in[2], "bias");
    copy_shape(x, ndim, shape);
}
static void layernorm_fwd(Graph *g, Node *n) {
    const Tensor *x = n->in[0], *ga = n->in[1], *be = n->in[2];
    int D = x->shape[x->ndim - 1];
    long R = x->numel / D;
    long gg = ga ? R / ln_grows(ga, R, D, "gain") : 0, gb = be ? R / ln_grows(be, R, D, "bias") : 0;
    n->aux = arena_alloc(g->arena, 2 * R * sizeof(float)); /* mean, rstd per row */
    float eps = n->fa[0];
#pragma omp parallel for schedule(static) if (x->numel > PAR_MIN)
    for (long r = 0; r < R; r++) {
        const float *xr = x->data + r * D;
        float *y = n->out->data + r * D;
        float mu, rs;
        row_stats(xr, D, eps, &mu, &rs);
        n->aux[2 * r] = mu;
        n->aux[2 * r + 1] = rs;
        for (int d = 0; d < D; d++) y[d] = (xr[d] - mu) * rs;
        if (ga) {
            const float *gr = ga->data + (r / gg) * D;
            for (int d = 0; d < D; d++) y[d] *= gr[d];
        }
        if (be) {
            const float *br = be->data + (r / gb) * D;
            for (int d = 0; d < D; d++) y[d] += br[d];
        }
    }
}
static void layernorm_bwd(Node *n) {
    Tensor *x = n->in[0], *ga = n->in[1], *be = n->in[2];
    int D = x->shape[x->ndim - 1];
    long R = x->numel / D;
    long gg = ga ? R / ln_grows(ga, R, D, "gain") : 0, gb = be ? R / ln_grows(be, R, D, "bias") : 0;
    int reduce = (ga && ga->grad) || (be && be->grad); /* gain/bias grads sum over rows: keep those serial */
#pragma omp parallel for schedule(static) if (!reduce && x->numel > PAR_MIN)
    for (long r = 0; r < R; r++) {
        const float *xr = x->data + r * D, *dy = n->out->grad + r * D;
        float mu = n->aux[2 * r], rs = n->aux[2 * r + 1];
        const float *gr = ga ? ga->data + (r / gg) * D : NULL;
        if (ga && ga->grad) {
            float *d_g = ga->grad + (r / gg) * D;
            for (int d = 0; d < D; d++) d_g[d] += dy[d] * (xr[d] - mu) * rs;
        }
        if (be && be->grad) {
            float *d_b = be->grad + (r / gb) * D;
            for (int d = 0; d < D; d++) d_b[d] += dy[d];
        }
        if (x->grad) {
            double s1 = 0, s2 = 0; /* mean of dxhat and of dxhat * xhat */
            for (int d = 0; d < D; d++) {
                float dxh = dy[d] * (gr ? gr[d] : 1.0f), xh = (xr[d] - mu) * rs;
                s1 += dxh;
                s2 += dxh * xh;
            }
            s1 /= D;
            s2 /= D;
            float *dx = x->grad + r * D;
            for (int d = 0; d < D; d++) {
                float dxh = dy[d] * (gr ? gr[d] : 1.0f), xh = (xr[d] - mu) * rs;
                dx[d] += rs * (dxh - (float)s1 - xh * (float)s2);
            }
        }
    }
}
Tensor *op_layernorm(Graph *g, Tensor *x, Tensor *gain, Tensor *bias, float eps) {
    Node n = {.op = OP_LAYERNORM, .in = {x, gain, bias}, .fa = {eps}};
    return tape_apply(g, &n);
}

/* ======================= gather rows, scatter-add, segment mean ======================= */
static void gather_shape(const Node *n, int *ndim, int *shape) {
    const Tensor *t = n->in[0];
    int D = t->shape[t->ndim - 1];
    long V = t->numel / (D ? D : 1);
    long bad = first_outside(n->idx, n->ia[0], V);
    NP_ASSERT(bad < 0, "gather: index %d out of [0, %ld)", n->idx[bad], V);
    SET_SHAPE(n->ia[0], D);
}
static void gather_fwd(Graph *g, Node *n) {
    int D = n->out->shape[1];
    float *out = n->out->data;
    const float *t = n->in[0]->data;
    if (D == 1) { /* picking scalars (a Meta-GNN's θ from its decoded slots): no call per element */
#pragma omp parallel for schedule(static) if (n->out->numel > PAR_MIN)
        for (int i = 0; i < n->ia[0]; i++) out[i] = t[n->idx[i]];
        return;
    }
#pragma omp parallel for schedule(static) if (n->out->numel > PAR_MIN)
    for (int i = 0; i < n->ia[0]; i++) memcpy(out + (long)i * D, t + (long)n->idx[i] * D, D * sizeof(float));
}
static void gather_bwd(Node *n) {
    float *gt = n->in[0]->grad;
    if (!gt) return;
    int D = n->out->shape[1];
    for (int i = 0; i < n->ia[0]; i++) { /* serial: repeated indices accumulate in a fixed order */
        float *dst = gt + (long)n->idx[i] * D;
        const float *src = n->out->grad + (long)i * D;
        for (int d = 0; d < D; d++) dst[d] += src[d];
    }
}
Tensor *op_gather(Graph *g, Tensor *table, const int *idx, int n_idx) {
    Node n = {.op = OP_GATHER, .in = {table}, .ia = {n_idx}, .idx = arena_ints(g, idx, n_idx)};
    return tape_apply(g, &n);
}

/* gather_product: out[i] = t[pairs[2i]] ⊙ t[pairs[2i+1]] (a slot's two learned codes multiplied,
 * PE_PRODUCT), one pass instead of a gather, two slices and a product, each with a gradient buffer
 * to fill. Backward splits t's columns across threads, so the repeated rows accumulate in row order:
 * the same sums as the gather's serial scatter. */
static void gather_product_shape(const Node *n, int *ndim, int *shape) {
    const Tensor *t = n->in[0];
    NP_ASSERT(t->ndim == 2, "gather_product: want a 2-D table");
    long bad = first_outside(n->idx, 2L * n->ia[0], t->shape[0]);
    NP_ASSERT(bad < 0, "gather_product: index %d out of [0, %d)", n->idx[bad], t->shape[0]);
    SET_SHAPE(n->ia[0], t->shape[1]);
}
static void gather_product_fwd(Graph *g, Node *n) {
    const Tensor *t = n->in[0];
    int D = t->shape[1];
#pragma omp parallel for schedule(static) if (n->out->numel > PAR_MEM)
    for (int i = 0; i < n->ia[0]; i++) {
        const float *a = t->data + (long)n->idx[2 * i] * D, *b = t->data + (long)n->idx[2 * i + 1] * D;
        float *o = n->out->data + (long)i * D;
#pragma omp simd
        for (int c = 0; c < D; c++) o[c] = a[c] * b[c];
    }
}
static void gather_product_bwd(Node *n) {
    const Tensor *t = n->in[0];
    float *gt = t->grad;
    if (!gt) return;
    int D = t->shape[1];
#pragma omp parallel if (n->out->numel > PAR_MEM)
    {
        int c0, c1;
        thread_columns(D, &c0, &c1);
        for (int i = 0; i < n->ia[0]; i++) {
            long ra = (long)n->idx[2 * i] * D, rb = (long)n->idx[2 * i + 1] * D;
            const float *go = n->out->grad + (long)i * D;
#pragma omp simd
            for (int c = c0; c < c1; c++) gt[ra + c] += go[c] * t->data[rb + c];
#pragma omp simd
            for (int c = c0; c < c1; c++) gt[rb + c] += go[c] * t->data[ra + c];
        }
    }
}
Tensor *op_gather_product(Graph *g, Tensor *table, const int *pairs, int n) {
    NP_ASSERT(n >= 0, "gather_product: %d rows", n);
    Node nd = {.op = OP_GATHER_PRODUCT, .in = {table}, .ia = {n}, .idx = arena_ints(g, pairs, 2 * n)};
    return tape_apply(g, &nd);
}

static void scatter_shape(const Node *n, int *ndim, int *shape) {
    const Tensor *s = n->in[0];
    NP_ASSERT(s->ndim == 2, "scatter: src must be [n, D]");
    long bad = first_outside(n->idx, s->shape[0], n->ia[0]);
    NP_ASSERT(bad < 0, "scatter: index %d out of [0, %d)", n->idx[bad], n->ia[0]);
    SET_SHAPE(n->ia[0], s->shape[1]);
}
/* Rows in a run of one index (a θ tensor's entries, a matrix row's) are summed in a register, in row
 * order: the same additions as one row at a time into dst, without a store-to-load chain per row
 * (the θ head's three means over 33,258 entries took 0.5 ms of a 7.5 ms synthesis that way). */
static int run_end(const int *idx, int i, int N) {
    int j = i + 1;
    while (j < N && idx[j] == idx[i]) j++;
    return j;
}
static void scatter_fwd(Graph *g, Node *n) {
    const Tensor *s = n->in[0];
    int N = s->shape[0], D = s->shape[1];
    const int *idx = n->idx;
    memset(n->out->data, 0, n->out->numel * sizeof(float));
    if (n->op == OP_SEGMENT_MEAN) {
        n->aux = arena_calloc(g->arena, (n->ia[0] > 0 ? n->ia[0] : 1) * sizeof(float)); /* 1 / count */
        for (int i = 0, j; i < N; i = j) {
            j = run_end(idx, i, N);
            n->aux[idx[i]] += (float)(j - i); /* exact: counts stay below 2^24 (RUN_MAX_THETA) */
        }
        for (int o = 0; o < n->ia[0]; o++) n->aux[o] = n->aux[o] > 0 ? 1.0f / n->aux[o] : 0.0f;
    }
    for (int i = 0, j; i < N; i = j) {
        j = run_end(idx, i, N);
        float *dst = n->out->data + (long)idx[i] * D;
        float w = n->op == OP_SEGMENT_MEAN ? n->aux[idx[i]] : 1.0f;
        for (int d = 0; d < D; d++) {
            float acc = dst[d];
            for (int k = i; k < j; k++) acc += w * s->data[(long)k * D + d];
            dst[d] = acc;
        }
    }
}
static void scatter_bwd(Node *n) {
    float *gs = n->in[0]->grad;
    if (!gs) return;
    int N = n->in[0]->shape[0], D = n->in[0]->shape[1];
#pragma omp parallel for schedule(static) if ((long)N * D > PAR_MIN)
    for (int i = 0; i < N; i++) {
        const float *src = n->out->grad + (long)n->idx[i] * D;
        float *dst = gs + (long)i * D;
        float w = n->op == OP_SEGMENT_MEAN ? n->aux[n->idx[i]] : 1.0f;
        for (int d = 0; d < D; d++) dst[d] += w * src[d];
    }
}
static Tensor *scatter(Graph *g, int op, Tensor *src, const int *idx, int n_out) {
    NP_ASSERT(src->ndim == 2, "scatter: src must be [n, D]");
    Node n = {.op = op, .in = {src}, .ia = {n_out}, .idx = arena_ints(g, idx, src->shape[0])};
    return tape_apply(g, &n);
}
Tensor *op_scatter_add(Graph *g, Tensor *src, const int *idx, int n_out) {
    return scatter(g, OP_SCATTER_ADD, src, idx, n_out);
}
Tensor *op_segment_mean(Graph *g, Tensor *src, const int *idx, int n_out) {
    return scatter(g, OP_SEGMENT_MEAN, src, idx, n_out);
}

/* ======================= edge_round: one message-passing round over a graph's edge rows ======================= */
/* ins: he [M, d] edge states, xs and xt [Rn, 3d] node rows already multiplied by W_s and W_t,
 * we [G, d, 3d], be [G, 3d]; idx = src (M) then dst (M) node rows, then seg: G+1 edge-row segments
 * (ia[0] = G, ia[1] = Rn). With x = σ(he W_e[g] + b_e[g] + xs[src] + xt[dst]) = [u ‖ m⁺ ‖ m⁻]:
 *   out rows 0..M        h' = LN(he + u)                   (no gain or bias)
 *   out rows M..M+Rn     a⁺[v] = mean of m⁺ over rows with dst = v
 *   out rows M+Rn..      a⁻[v] = mean of m⁻ over rows with src = v
 * One pass per tile of rows (GEMM, then bias, endpoint rows, ReLU, LayerNorm and the scatter into
 * the node rows) while the tile is in a per-thread buffer in cache. x itself is never stored:
 * backward needs only where x > 0 (one byte per entry), each row's 1/std, and h' (the output, x̂
 * of the LayerNorm), so a row costs 3d + 4 bytes of memory traffic instead of 12d (the unfused ops
 * kept 44d), and backward builds dx tile by tile in the same buffer. Node rows (a few thousand, in
 * L2) are summed per thread over a fixed assignment of tiles, as are the weight gradients, then
 * added in thread order: deterministic per thread count. */
typedef struct {
    int M, d, G, Rn, nt;
    Tiles tl;
    const float *inv_in, *inv_out; /* [Rn]: 1 / (rows with dst = v), 1 / (rows with src = v): ins[5] */
    unsigned char *pos;            /* [M, 3d]: x > 0 (kept for backward) */
    float *rs;                     /* [M]: the LayerNorm's 1/std (kept for backward) */
    float *tile;                   /* per thread: [ROW_TILE, 3d], x in forward, dx in backward */
    float *part;                   /* per thread: forward [Rn, 2d] sums; backward [G, d+1, 3d] then [2, Rn, 3d] */
    long part_n;                   /* floats per thread */
} EdgeRound;

static void edge_round_shape(const Node *n, int *ndim, int *shape) {
    NP_ASSERT(n->nin == 6, "edge_round: want 6 inputs");
    const Tensor *he = n->ins[0], *xs = n->ins[1], *xt = n->ins[2], *we = n->ins[3], *be = n->ins[4];
    int G = n->ia[0], Rn = n->ia[1];
    NP_ASSERT(he->ndim == 2 && xs->ndim == 2 && xt->ndim == 2, "edge_round: want 2-D he, xs, xt");
    int M = he->shape[0], d = he->shape[1], C = 3 * d;
    NP_ASSERT(xs->shape[1] == C && xt->shape[1] == C && xs->shape[0] == Rn && xt->shape[0] == Rn,
              "edge_round: xs, xt must be [%d, %d]", Rn, C);
    NP_ASSERT(we->ndim == 3 && we->shape[0] == G && we->shape[1] == d && we->shape[2] == C,
              "edge_round: we must be [%d, %d, %d]", G, d, C);
    NP_ASSERT(be->numel == (long)G * C, "edge_round: be must be [%d, %d]", G, C);
    NP_ASSERT(n->ins[5]->numel == 2L * Rn && !n->ins[5]->grad, "edge_round: inv must be [2, %d], without a gradient",
              Rn);
    const int *seg = n->idx + 2L * M;
    NP_ASSERT(seg[0] == 0 && seg[G] == M, "edge_round: segments must cover rows 0..%d", M);
    for (int s = 0; s < G; s++) NP_ASSERT(seg[s] <= seg[s + 1], "edge_round: segments out of order");
    long bad = first_outside(n->idx, 2L * M, Rn);
    NP_ASSERT(bad < 0, "edge_round: row %ld reads node row %d", bad % (M ? M : 1), n->idx[bad]);
    SET_SHAPE(M + 2 * Rn, d);
}

static void edge_round_fwd(Graph *g, Node *n) {
    const Tensor *he = n->ins[0], *xs = n->ins[1], *xt = n->ins[2], *we = n->ins[3], *be = n->ins[4];
    int G = n->ia[0], Rn = n->ia[1], M = he->shape[0], d = he->shape[1], C = 3 * d;
    const int *src = n->idx, *dst = n->idx + M, *seg = n->idx + 2L * M;
    g->flops += 2.0 * M * C * d * (1 + (n->out->grad && he->grad) + (n->out->grad && we->grad));
    EdgeRound *er = arena_calloc(g->arena, sizeof *er);
    n->aux = (float *)er;
    er->M = M;
    er->d = d;
    er->G = G;
    er->Rn = Rn;
    er->nt = threads_for((long)M * C);
    er->tl = row_tiles(g, seg, G, M, NULL, NULL);
    er->inv_in = n->ins[5]->data;
    er->inv_out = er->inv_in + Rn;
    int keep = n->out->grad != NULL; /* without a gradient (synthesis) nothing is kept */
    if (keep) {
        er->pos = arena_alloc(g->arena, (size_t)(M > 0 ? M : 1) * C);
        er->rs = arena_alloc(g->arena, (size_t)(M > 0 ? M : 1) * sizeof(float));
    }
    er->tile = arena_alloc(g->arena, (size_t)er->nt * ROW_TILE * C * sizeof(float));
    long fwd_part = 2L * Rn * d, bwd_part = (long)G * (d + 1) * C + 2L * Rn * C;
    er->part_n = keep && bwd_part > fwd_part ? bwd_part : fwd_part;
    er->part = arena_alloc(g->arena, (size_t)er->nt * (er->part_n > 0 ? er->part_n : 1) * sizeof(float));
    float *h1 = n->out->data, eps = n->fa[0];
#pragma omp parallel num_threads(er->nt) if (er->nt > 1)
    {
        int id = 0;
#ifdef _OPENMP
        id = omp_get_thread_num();
#endif
        float *ain = er->part + (long)id * er->part_n, *aout = ain + (long)Rn * d; /* this thread's sums */
        float *xtile = er->tile + (long)id * ROW_TILE * C;                         /* the tile's x, row r0 first */
        memset(ain, 0, (size_t)fwd_part * sizeof(float));
#pragma omp for schedule(static)
        for (int t = 0; t < er->tl.n; t++) {
            int r0, r1, s;
            tile_rows(&er->tl, seg, t, &r0, &r1, &s);
            const float *b = be->data + (long)s * C;
            gemm_nn(r1 - r0, C, d, he->data + (long)r0 * d, d, we->data + (long)s * d * C, C, xtile, C, 0);
            /* x's three parts at once, in registers: u into h', m⁺ and m⁻ into the node sums (and,
             * recording, where each is on); one vector loop per case, as a branch inside would keep
             * it scalar */
            for (int i = r0; i < r1; i++) {
                const float *xr = xtile + (long)(i - r0) * C, *sr = xs->data + (long)src[i] * C,
                            *tr = xt->data + (long)dst[i] * C, *hr = he->data + (long)i * d;
                float *y = h1 + (long)i * d, *pi = ain + (long)dst[i] * d, *po = aout + (long)src[i] * d;
                unsigned char *pr = keep ? er->pos + (long)i * C : NULL;
#define EDGE_ROUND_X(POS)                                                        \
    _Pragma("omp simd") for (int c = 0; c < d; c++) {                            \
        float u = xr[c] + b[c] + sr[c] + tr[c];                                  \
        float mi = xr[d + c] + b[d + c] + sr[d + c] + tr[d + c];                 \
        float mo = xr[2 * d + c] + b[2 * d + c] + sr[2 * d + c] + tr[2 * d + c]; \
        y[c] = hr[c] + (u > 0 ? u : 0.0f);                                       \
        pi[c] += mi > 0 ? mi : 0.0f;                                             \
        po[c] += mo > 0 ? mo : 0.0f;                                             \
        POS;                                                                     \
    }
                if (pr) EDGE_ROUND_X(pr[c] = u > 0; pr[d + c] = mi > 0; pr[2 * d + c] = mo > 0)
                else EDGE_ROUND_X((void)0)
#undef EDGE_ROUND_X
            }
            ln_rows(h1 + (long)r0 * d, r1 - r0, d, eps, keep ? er->rs + r0 : NULL);
        }
    }
    /* the means: the threads' sums in thread order, times 1 / count */
    float *a = h1 + (long)M * d;
#pragma omp parallel for schedule(static) if (er->nt > 1)
    for (int r = 0; r < 2 * Rn; r++) { /* rows of a⁺ then a⁻ */
        float w = r < Rn ? er->inv_in[r] : er->inv_out[r - Rn];
        for (int c = 0; c < d; c++) {
            long k = (long)r * d + c;
            float acc = 0;
            for (int q = 0; q < er->nt; q++) acc += er->part[(long)q * er->part_n + k];
            a[k] = acc * w;
        }
    }
}

static void edge_round_bwd(Node *n) {
    Tensor *he = n->ins[0], *xs = n->ins[1], *xt = n->ins[2], *we = n->ins[3], *be = n->ins[4];
    const EdgeRound *er = (const EdgeRound *)n->aux;
    int G = er->G, Rn = er->Rn, M = er->M, d = er->d, C = 3 * d, T = er->nt;
    const int *src = n->idx, *dst = n->idx + M, *seg = n->idx + 2L * M;
    const float *dy = n->out->grad, *da_in = dy + (long)M * d, *da_out = da_in + (long)Rn * d;
    int dh_fresh = n->fresh & 1; /* he's gradient is this op's to assign: every row is written once below */
    long W = (long)G * (d + 1) * C, NR = (long)Rn * C;
#pragma omp parallel num_threads(T) if (T > 1)
    {
        int id = 0;
#ifdef _OPENMP
        id = omp_get_thread_num();
#endif
        float *pw0 = er->part + (long)id * er->part_n, *ps = pw0 + W, *pt = ps + NR; /* this thread's sums */
        float *dx = er->tile + (long)id * ROW_TILE * C;                              /* the tile's dx */
        memset(pw0, 0, (size_t)(W + 2 * NR) * sizeof(float));
        GemmBt bt; /* a group's W_eᵀ, kept over its tiles */
        bt.b = NULL;
#pragma omp for schedule(static)
        for (int t = 0; t < er->tl.n; t++) {
            int r0, r1, s;
            tile_rows(&er->tl, seg, t, &r0, &r1, &s);
            for (int i = r0; i < r1; i++) {
                float *dr = dx + (long)(i - r0) * C;
                const unsigned char *pr = er->pos + (long)i * C;
                /* back through the LayerNorm, whose x̂ is the output h' */
                const float *xh = n->out->data + (long)i * d, *g1 = dy + (long)i * d;
                float rs = er->rs[i], s1, s2;
                ln_row_means(g1, xh, d, &s1, &s2);
                const float *gi = da_in + (long)dst[i] * d, *go = da_out + (long)src[i] * d;
                float wi = er->inv_in[dst[i]], wo = er->inv_out[src[i]];
                float *dh = he->grad ? he->grad + (long)i * d : NULL;
                /* one vector loop per case of he's gradient (a branch inside would keep it scalar) */
#define EDGE_ROUND_ROW(DH)                                 \
    _Pragma("omp simd") for (int c = 0; c < d; c++) {      \
        float dz = rs * (g1[c] - s1 - xh[c] * s2);         \
        DH;                                                \
        dr[c] = pr[c] ? dz : 0.0f;                         \
        dr[d + c] = pr[d + c] ? wi * gi[c] : 0.0f;         \
        dr[2 * d + c] = pr[2 * d + c] ? wo * go[c] : 0.0f; \
    }
                if (!dh) EDGE_ROUND_ROW((void)0)
                else if (dh_fresh) EDGE_ROUND_ROW(dh[c] = dz)
                else EDGE_ROUND_ROW(dh[c] += dz)
#undef EDGE_ROUND_ROW
                float *qs = ps + (long)src[i] * C, *qt = pt + (long)dst[i] * C;
#pragma omp simd
                for (int c = 0; c < C; c++) {
                    qs[c] += dr[c];
                    qt[c] += dr[c];
                }
            }
            if (he->grad)
                gemm_nt_reuse(&bt, r1 - r0, d, C, dx, C, we->data + (long)s * d * C, C, he->grad + (long)r0 * d, d, 1);
            float *pw = pw0 + (long)s * (d + 1) * C, *pb = pw + (long)d * C;
            gemm_tn(d, C, r1 - r0, he->data + (long)r0 * d, d, dx, C, pw, C, 1);
            for (int i = 0; i < r1 - r0; i++) {
#pragma omp simd
                for (int c = 0; c < C; c++) pb[c] += dx[(long)i * C + c];
            }
        }
    }
    /* the threads' sums in thread order */
    long P = er->part_n;
    if (xs->grad) add_partials(xs->grad, er->part + W, P, T, NR, (n->fresh >> 1) & 1);
    if (xt->grad) add_partials(xt->grad, er->part + W + NR, P, T, NR, (n->fresh >> 2) & 1);
    add_seg_partials(we->grad, be->grad, er->part, P, T, G, (long)d * C, C);
}

void edge_inv_degrees(const int *src, const int *dst, int M, int Rn, float *inv) {
    float *in = inv, *out = inv + Rn;
    memset(inv, 0, 2 * (size_t)Rn * sizeof *inv);
    for (int i = 0; i < M; i++) {
        in[dst[i]] += 1.0f;
        out[src[i]] += 1.0f;
    }
    for (int v = 0; v < 2 * Rn; v++) inv[v] = inv[v] > 0 ? 1.0f / inv[v] : 0.0f;
}

Tensor *op_edge_round(Graph *g, Tensor *he, Tensor *xs, Tensor *xt, Tensor *we, Tensor *be, Tensor *inv, const int *src,
                      const int *dst, const int *seg, int G, float eps) {
    NP_ASSERT(he->ndim == 2 && xs->ndim == 2, "edge_round: he and xs must be 2-D");
    int M = he->shape[0];
    Node n = {.op = OP_EDGE_ROUND,
              .ins = arena_tensors(g, (Tensor *[]){he, xs, xt, we, be, inv}, 6),
              .nin = 6,
              .ia = {G, xs->shape[0]},
              .fa = {eps},
              .idx = rows_and_segments(g, src, dst, M, seg, G)};
    return tape_apply(g, &n);
}

/* ======================= pair_encode: LN(σ(s[src] + sb[g] + t[dst]) W[g] + b[g]) ======================= */
/* ins: s [Rs, C], t [Rt, C], w [G, C, N], b [G, N], optionally sb [G, C] (a group's term of s: the
 * encoder's b₁ beside the slots' codes, so that their sum is never stored); idx = src (M), dst (M),
 * seg (G+1); the LayerNorm has no gain or bias (eps PAIR_ENCODE_LN_EPS). z adds (s + sb) + t, the
 * order of an add before the op. The Meta-GNN encoder's hidden layer and output in one
 * pass per tile of rows: the hidden rows z = σ(s[src] + sb[g] + t[dst]) live in a per-thread buffer
 * and are never stored; backward rebuilds them from s, sb and t (additions, no product) and keeps only each
 * row's 1/std. src is non-decreasing (a slot's rows are consecutive) and tiles end only where it
 * changes, so every s row belongs to one tile: backward adds into s's gradient directly, in row
 * order. t (a few rows: group × intent) and the weights get per-thread partial sums, added in
 * thread order: deterministic per thread count. aux: PairEncode. */
#define PAIR_ENCODE_LN_EPS 1e-5f
typedef struct {
    int M, C, N, G, Rt, T, rows; /* rows: the longest tile */
    Tiles tl;
    float *rs;   /* [M]: the LayerNorm's 1/std (kept for backward) */
    float *sacc; /* [Rs, C]: this op's part of s's gradient, summed into sb's in slot order */
    float *tile; /* per thread: [rows, C] z, then [rows, C] dz */
    float *part; /* per thread: [G, C+1, N] weight and bias sums, then [Rt, C] t sums */
    long part_n;
} PairEncode;

static void pair_encode_shape(const Node *n, int *ndim, int *shape) {
    NP_ASSERT(n->nin == 4 || n->nin == 5, "pair_encode: want 4 or 5 inputs");
    const Tensor *s = n->ins[0], *t = n->ins[1], *w = n->ins[2], *b = n->ins[3];
    int G = n->ia[0], M = n->ia[1];
    NP_ASSERT(s->ndim == 2 && t->ndim == 2 && t->shape[1] == s->shape[1], "pair_encode: want s [Rs, C], t [Rt, C]");
    int C = s->shape[1];
    NP_ASSERT(n->nin == 4 || n->ins[4]->numel == (long)G * C, "pair_encode: sb must be [%d, %d]", G, C);
    NP_ASSERT(w->ndim == 3 && w->shape[0] == G && w->shape[1] == C, "pair_encode: w must be [%d, %d, N]", G, C);
    NP_ASSERT(b->numel == (long)G * w->shape[2], "pair_encode: b must be [%d, %d]", G, w->shape[2]);
    const int *src = n->idx, *dst = n->idx + M, *seg = n->idx + 2L * M;
    NP_ASSERT(seg[0] == 0 && seg[G] == M, "pair_encode: segments must cover rows 0..%d", M);
    for (int k = 0; k < G; k++) NP_ASSERT(seg[k] <= seg[k + 1], "pair_encode: segments out of order");
    long bad = first_outside(src, M, s->shape[0]);
    NP_ASSERT(bad < 0, "pair_encode: row %ld reads s row %d", bad, src[bad]);
    bad = first_outside(dst, M, t->shape[0]);
    NP_ASSERT(bad < 0, "pair_encode: row %ld reads t row %d", bad, dst[bad]);
    int down = 0;
    for (int i = 1; i < M; i++) down |= src[i] < src[i - 1];
    for (int i = 1; down && i < M; i++)
        NP_ASSERT(src[i] >= src[i - 1], "pair_encode: src must be non-decreasing (row %d)", i);
    for (int k = 1; k < G; k++) /* a slot's rows in one segment, so that tiles can end at slots */
        NP_ASSERT(seg[k] == 0 || seg[k] == M || src[seg[k]] != src[seg[k] - 1],
                  "pair_encode: segment %d starts inside a run of equal src", k);
    SET_SHAPE(M, w->shape[2]);
}


/* z rows r0..r1 of the tile (group sg): σ(s[src] + sb[sg] + t[dst]); signs: z > 0 only */
static void pair_encode_z(const Node *n, int r0, int r1, int sg, float *z, unsigned char *signs) {
    const Tensor *s = n->ins[0], *t = n->ins[1];
    int M = n->ia[1], C = s->shape[1];
    const int *src = n->idx, *dst = n->idx + M;
    const float *sb = n->nin == 5 ? n->ins[4]->data + (long)sg * C : NULL;
    for (int i = r0; i < r1; i++) {
        const float *sr = s->data + (long)src[i] * C, *tr = t->data + (long)dst[i] * C;
        float *zr = z + (long)(i - r0) * C;
        if (sb) {
#pragma omp simd
            for (int c = 0; c < C; c++) {
                float v = (sr[c] + sb[c]) + tr[c];
                zr[c] = v > 0 ? v : 0.0f;
            }
        } else {
#pragma omp simd
            for (int c = 0; c < C; c++) {
                float v = sr[c] + tr[c];
                zr[c] = v > 0 ? v : 0.0f;
            }
        }
        if (signs)
            for (int c = 0; c < C; c++) signs[(long)(i - r0) * C + c] = zr[c] > 0;
    }
}

static void pair_encode_fwd(Graph *g, Node *n) {
    const Tensor *s = n->ins[0], *w = n->ins[2], *b = n->ins[3];
    int G = n->ia[0], M = n->ia[1], C = s->shape[1], N = w->shape[2];
    const int *src = n->idx, *seg = n->idx + 2L * M;
    int keep = n->out->grad != NULL;
    int want_z = n->ins[0]->grad || n->ins[1]->grad || (n->nin == 5 && n->ins[4]->grad);
    g->flops += 2.0 * M * N * C * (1 + (keep && want_z) + (keep && (w->grad || b->grad)));
    PairEncode *pe = arena_calloc(g->arena, sizeof *pe);
    n->aux = (float *)pe;
    pe->M = M;
    pe->C = C;
    pe->N = N;
    pe->G = G;
    pe->Rt = n->ins[1]->shape[0];
    pe->T = threads_for((long)M * (C + N));
    pe->tl = row_tiles(g, seg, G, M, src, &pe->rows);
    if (keep) pe->rs = arena_alloc(g->arena, (size_t)(M > 0 ? M : 1) * sizeof(float));
    if (keep && n->nin == 5 && n->ins[4]->grad)
        pe->sacc = arena_calloc(g->arena, (size_t)(s->numel > 0 ? s->numel : 1) * sizeof(float));
    pe->tile = arena_alloc(g->arena, (size_t)pe->T * 2 * pe->rows * C * sizeof(float));
    pe->part_n = (long)G * (C + 1) * N + (long)pe->Rt * C;
    if (keep) pe->part = arena_alloc(g->arena, (size_t)pe->T * pe->part_n * sizeof(float));
#pragma omp parallel num_threads(pe->T) if (pe->T > 1)
    {
        int id = 0;
#ifdef _OPENMP
        id = omp_get_thread_num();
#endif
        float *z = pe->tile + (long)id * 2 * pe->rows * C;
#pragma omp for schedule(static)
        for (int k = 0; k < pe->tl.n; k++) {
            int r0, r1, sg;
            tile_rows(&pe->tl, seg, k, &r0, &r1, &sg);
            pair_encode_z(n, r0, r1, sg, z, NULL);
            float *y = n->out->data + (long)r0 * N;
            gemm_nn(r1 - r0, N, C, z, C, w->data + (long)sg * C * N, N, y, N, 0);
            const float *bb = b->data + (long)sg * N;
            for (int i = r0; i < r1; i++, y += N) {
#pragma omp simd
                for (int c = 0; c < N; c++) y[c] += bb[c];
            }
            ln_rows(n->out->data + (long)r0 * N, r1 - r0, N, PAIR_ENCODE_LN_EPS, keep ? pe->rs + r0 : NULL);
        }
    }
}

static void pair_encode_bwd(Node *n) {
    Tensor *s = n->ins[0], *t = n->ins[1], *w = n->ins[2], *b = n->ins[3];
    const PairEncode *pe = (const PairEncode *)n->aux;
    int G = pe->G, M = pe->M, C = pe->C, N = pe->N, T = pe->T;
    const int *src = n->idx, *dst = n->idx + M, *seg = n->idx + 2L * M;
    long W = (long)G * (C + 1) * N;
    int want_z = s->grad || t->grad || pe->sacc;
#pragma omp parallel num_threads(T) if (T > 1)
    {
        int id = 0;
#ifdef _OPENMP
        id = omp_get_thread_num();
#endif
        float *part = pe->part + (long)id * pe->part_n, *pt = part + W;
        float *z = pe->tile + (long)id * 2 * pe->rows * C, *dz = z + (long)pe->rows * C;
        memset(part, 0, (size_t)pe->part_n * sizeof(float));
        GemmBt bt; /* a group's Wᵀ, kept over its tiles */
        bt.b = NULL;
#pragma omp for schedule(static)
        for (int k = 0; k < pe->tl.n; k++) {
            int r0, r1, sg;
            tile_rows(&pe->tl, seg, k, &r0, &r1, &sg);
            pair_encode_z(n, r0, r1, sg, z, NULL);
            /* back through the LayerNorm, in place: out is x̂; every consumer of out has added its part */
            for (int i = r0; i < r1; i++)
                ln_row_backward(n->out->grad + (long)i * N, n->out->data + (long)i * N, pe->rs[i], N);
            const float *dY = n->out->grad + (long)r0 * N, *wg = w->data + (long)sg * C * N;
            float *pw = part + (long)sg * (C + 1) * N, *pb = pw + (long)C * N;
            if (w->grad) gemm_tn(C, N, r1 - r0, z, C, dY, N, pw, N, 1);
            if (b->grad)
                for (int i = 0; i < r1 - r0; i++) {
#pragma omp simd
                    for (int c = 0; c < N; c++) pb[c] += dY[(long)i * N + c];
                }
            if (!want_z) continue;
            gemm_nt_reuse(&bt, r1 - r0, C, N, dY, N, wg, N, dz, C, 0);
            for (int i = r0; i < r1; i++) {
                const float *zr = z + (long)(i - r0) * C;
                float *dr = dz + (long)(i - r0) * C;
#pragma omp simd
                for (int c = 0; c < C; c++) dr[c] = zr[c] > 0 ? dr[c] : 0.0f;
                if (s->grad) { /* this tile's own rows of s */
                    float *gs = s->grad + (long)src[i] * C;
#pragma omp simd
                    for (int c = 0; c < C; c++) gs[c] += dr[c];
                }
                if (pe->sacc) {
                    float *sa = pe->sacc + (long)src[i] * C;
#pragma omp simd
                    for (int c = 0; c < C; c++) sa[c] += dr[c];
                }
                if (t->grad) {
                    float *gt = pt + (long)dst[i] * C;
#pragma omp simd
                    for (int c = 0; c < C; c++) gt[c] += dr[c];
                }
            }
        }
    }
    if (t->grad) add_partials(t->grad, pe->part + W, pe->part_n, T, (long)pe->Rt * C, 0);
    add_seg_partials(w->grad, b->grad, pe->part, pe->part_n, T, G, (long)C * N, N);
    if (pe->sacc) /* serial, slot by slot in order: a gather's scatter would add the same sums */
        for (int k = 0; k < G; k++) {
            float *gb = n->ins[4]->grad + (long)k * C;
            for (int i = seg[k]; i < seg[k + 1]; i++) {
                if (i > seg[k] && src[i] == src[i - 1]) continue; /* each slot once: its first row */
                const float *sa = pe->sacc + (long)src[i] * C;
                for (int c = 0; c < C; c++) gb[c] += sa[c];
            }
        }
}

Tensor *op_pair_encode(Graph *g, Tensor *s, const int *src, Tensor *sb, Tensor *t, const int *dst, Tensor *w, Tensor *b,
                       const int *seg, int G, int M) {
    NP_ASSERT(M >= 0 && G >= 1, "pair_encode: %d rows, %d groups", M, G);
    Node n = {.op = OP_PAIR_ENCODE,
              .ins = arena_tensors(g, (Tensor *[]){s, t, w, b, sb}, sb ? 5 : 4),
              .nin = sb ? 5 : 4,
              .ia = {G, M},
              .idx = rows_and_segments(g, src, dst, M, seg, G)};
    return tape_apply(g, &n);
}

/* ======================= segment_rmsnorm: rows grouped by index, each column normalized ======================= */
/* x [n, D], idx n group ids < G (ia[0]): y[i, c] = x[i, c] / sqrt(mean over rows j of i's group of
 * x[j, c]² + eps). aux keeps r = 1/sqrt(.) per (group, column). Backward:
 * dx_i = r dy_i - r³ x_i mean_j(dy_j x_j). */
static void segment_rmsnorm_shape(const Node *n, int *ndim, int *shape) {
    const Tensor *x = n->in[0];
    NP_ASSERT(x->ndim == 2, "segment_rmsnorm: x must be [n, D]");
    long bad = first_outside(n->idx, x->shape[0], n->ia[0]);
    NP_ASSERT(bad < 0, "segment_rmsnorm: group %d out of [0, %d)", n->idx[bad], n->ia[0]);
    copy_shape(x, ndim, shape);
}
static void segment_rmsnorm_fwd(Graph *g, Node *n) {
    const Tensor *x = n->in[0];
    int R = x->shape[0], D = x->shape[1], G = n->ia[0];
    float *r = n->aux = arena_calloc(g->arena, (size_t)(2L * G * D + G + 1) * sizeof(float)), *cnt = r + 2L * G * D;
    for (int i = 0; i < R; i++) { /* serial: rows add into their group in row order */
        const float *xr = x->data + (long)i * D;
        float *m = r + (long)n->idx[i] * D;
        for (int c = 0; c < D; c++) m[c] += xr[c] * xr[c];
        cnt[n->idx[i]] += 1.0f;
    }
    for (int k = 0; k < G; k++)
        for (int c = 0; c < D; c++)
            r[(long)k * D + c] = 1.0f / sqrtf(r[(long)k * D + c] / (cnt[k] > 0 ? cnt[k] : 1.0f) + n->fa[0]);
    for (int i = 0; i < R; i++) {
        const float *xr = x->data + (long)i * D, *rr = r + (long)n->idx[i] * D;
        float *y = n->out->data + (long)i * D;
        for (int c = 0; c < D; c++) y[c] = xr[c] * rr[c];
    }
}
static void segment_rmsnorm_bwd(Node *n) {
    Tensor *x = n->in[0];
    if (!x->grad) return;
    int R = x->shape[0], D = x->shape[1], G = n->ia[0];
    const float *r = n->aux, *cnt = r + 2L * G * D;
    float *s = n->aux + (long)G * D; /* mean of dy x per (group, column) */
    memset(s, 0, (size_t)G * D * sizeof(float));
    for (int i = 0; i < R; i++) {
        const float *xr = x->data + (long)i * D, *dy = n->out->grad + (long)i * D;
        float *sr = s + (long)n->idx[i] * D;
        for (int c = 0; c < D; c++) sr[c] += dy[c] * xr[c];
    }
    for (int i = 0; i < R; i++) {
        int k = n->idx[i];
        const float *xr = x->data + (long)i * D, *dy = n->out->grad + (long)i * D, *rr = r + (long)k * D,
                    *sr = s + (long)k * D;
        float *dx = x->grad + (long)i * D, inv = 1.0f / cnt[k];
        for (int c = 0; c < D; c++) dx[c] += rr[c] * dy[c] - rr[c] * rr[c] * rr[c] * xr[c] * sr[c] * inv;
    }
}
Tensor *op_segment_rmsnorm(Graph *g, Tensor *x, const int *idx, int G, float eps) {
    NP_ASSERT(x->ndim == 2 && G >= 1, "segment_rmsnorm: x must be [n, D] and G >= 1");
    Node n = {.op = OP_SEGMENT_RMSNORM, .in = {x}, .ia = {G}, .fa = {eps}, .idx = arena_ints(g, idx, x->shape[0])};
    return tape_apply(g, &n);
}

/* ======================= reductions and losses ======================= */
static void scalar_shape(const Node *n, int *ndim, int *shape) { SET_SHAPE(1); }
static void sum_fwd(Graph *g, Node *n) {
    const Tensor *a = n->in[0];
    double s = 0;
    for (long i = 0; i < a->numel; i++) s += a->data[i];
    if (n->op == OP_MEAN && a->numel) s /= a->numel;
    n->out->data[0] = (float)s;
}
static void sum_bwd(Node *n) {
    Tensor *a = n->in[0];
    if (!a->grad) return;
    float d = n->out->grad[0] / (n->op == OP_MEAN && a->numel ? (float)a->numel : 1.0f);
    for (long i = 0; i < a->numel; i++) a->grad[i] += d;
}
Tensor *op_sum(Graph *g, Tensor *a) {
    Node n = {.op = OP_SUM, .in = {a}};
    return tape_apply(g, &n);
}
Tensor *op_mean(Graph *g, Tensor *a) {
    Node n = {.op = OP_MEAN, .in = {a}};
    return tape_apply(g, &n);
}

static void sum_axis_shape(const Node *n, int *ndim, int *shape) {
    NP_ASSERT(n->ia[0] >= 0 && n->ia[0] < n->in[0]->ndim, "sum_axis: axis %d of a %d-D tensor", n->ia[0],
              n->in[0]->ndim);
    copy_shape(n->in[0], ndim, shape);
    shape[n->ia[0]] = 1;
}
static void sum_axis_fwd(Graph *g, Node *n) {
    long outer, inner;
    axis_split(n->in[0], n->ia[0], &outer, &inner);
    int A = n->in[0]->shape[n->ia[0]];
    for (long o = 0; o < outer; o++)
        for (long j = 0; j < inner; j++) {
            double s = 0;
            for (int k = 0; k < A; k++) s += n->in[0]->data[(o * A + k) * inner + j];
            n->out->data[o * inner + j] = (float)s;
        }
}
static void sum_axis_bwd(Node *n) {
    float *ga = n->in[0]->grad;
    if (!ga) return;
    long outer, inner;
    axis_split(n->in[0], n->ia[0], &outer, &inner);
    int A = n->in[0]->shape[n->ia[0]];
    for (long o = 0; o < outer; o++)
        for (int k = 0; k < A; k++)
            for (long j = 0; j < inner; j++) ga[(o * A + k) * inner + j] += n->out->grad[o * inner + j];
}
Tensor *op_sum_axis(Graph *g, Tensor *a, int axis) {
    Node n = {.op = OP_SUM_AXIS, .in = {a}, .ia = {axis}};
    return tape_apply(g, &n);
}

static void mse_check(const Node *n, int *ndim, int *shape) {
    NP_ASSERT(n->in[0]->numel == n->in[1]->numel, "mse: %ld predictions vs %ld targets", n->in[0]->numel,
              n->in[1]->numel);
    SET_SHAPE(1);
}
static void mse_fwd(Graph *g, Node *n) {
    const float *p = n->in[0]->data, *y = n->in[1]->data;
    long N = n->in[0]->numel;
    double s = 0;
    for (long i = 0; i < N; i++) s += (double)(p[i] - y[i]) * (p[i] - y[i]);
    n->out->data[0] = N ? (float)(s / N) : 0.0f;
}
static void mse_bwd(Node *n) {
    float *gp = n->in[0]->grad;
    if (!gp) return;
    const float *p = n->in[0]->data, *y = n->in[1]->data;
    long N = n->in[0]->numel;
    float k = 2.0f * n->out->grad[0] / (float)N;
    for (long i = 0; i < N; i++) gp[i] += k * (p[i] - y[i]);
}
Tensor *op_mse(Graph *g, Tensor *pred, const Tensor *target) {
    Node n = {.op = OP_MSE, .in = {pred, (Tensor *)target}};
    return tape_apply(g, &n);
}

static void ce_shape(const Node *n, int *ndim, int *shape) {
    const Tensor *l = n->in[0];
    int C = l->shape[l->ndim - 1];
    long R = l->numel / (C ? C : 1);
    for (long r = 0; r < R; r++)
        NP_ASSERT(n->idx[r] >= -1 && n->idx[r] < C, "cross_entropy: label %d out of [-1, %d)", n->idx[r], C);
    SET_SHAPE(1);
}
static void ce_fwd(Graph *g, Node *n) {
    const Tensor *l = n->in[0];
    int C = l->shape[l->ndim - 1];
    long R = l->numel / C, cnt = 0;
    n->aux = arena_alloc(g->arena, (R + 1) * sizeof(float)); /* log-sum-exp per row; aux[R] = 1/count */
#pragma omp parallel for schedule(static) if (R * C > PAR_EXP)
    for (long r = 0; r < R; r++) {
        const float *x = l->data + r * C;
        float mx = x[0];
        for (int c = 1; c < C; c++)
            if (x[c] > mx) mx = x[c];
        float z = 0; /* C terms in (0, 1], the largest 1 */
#pragma omp simd reduction(+ : z)
        for (int c = 0; c < C; c++) z += exp_nonpos(x[c] - mx);
        n->aux[r] = mx + (float)log(z);
    }
    double s = 0; /* summed in row order: the same for every thread count */
    for (long r = 0; r < R; r++)
        if (n->idx[r] >= 0) {
            s += n->aux[r] - l->data[r * C + n->idx[r]];
            cnt++;
        }
    n->aux[R] = cnt ? 1.0f / cnt : 0.0f;
    n->out->data[0] = (float)(s * n->aux[R]);
}
static void ce_bwd(Node *n) {
    Tensor *l = n->in[0];
    if (!l->grad) return;
    int C = l->shape[l->ndim - 1];
    long R = l->numel / C;
    float k = n->out->grad[0] * n->aux[R];
#pragma omp parallel for schedule(static) if (R * C > PAR_EXP)
    for (long r = 0; r < R; r++) {
        if (n->idx[r] < 0) continue;
        const float *x = l->data + r * C;
        float *dx = l->grad + r * C;
        float lse = n->aux[r];
#pragma omp simd
        for (int c = 0; c < C; c++) dx[c] += k * exp_nonpos(x[c] - lse);
        dx[n->idx[r]] -= k;
    }
}
Tensor *op_cross_entropy(Graph *g, Tensor *logits, const int *labels) {
    int C = logits->shape[logits->ndim - 1];
    NP_ASSERT(C > 0, "cross_entropy: zero classes");
    Node n = {.op = OP_CE, .in = {logits}, .idx = arena_ints(g, labels, (int)(logits->numel / C))};
    return tape_apply(g, &n);
}

/* How many ReLUs node n applies; with signs, whether each one's input is > 0 (gradient checks
 * compare these patterns at both ends of a finite difference: a switched sign is a kink, not a
 * gradient error). An edge round knows its signs only when it keeps them for backward. */
long op_relu_signs(const Node *n, unsigned char *signs) {
    const Tensor *t = n->op == OP_RELU ? n->in[0] : n->op == OP_SEGMM && n->ia[2] == EPI_RELU ? n->out : NULL;
    if (t) {
        for (long k = 0; signs && k < t->numel; k++) signs[k] = t->data[k] > 0;
        return t->numel;
    }
    if (n->op == OP_PAIR_ENCODE) { /* z is not kept: its signs rebuilt as forward makes z */
        int G = n->ia[0], M = n->ia[1], C = n->ins[0]->shape[1];
        const int *seg = n->idx + 2L * M;
        float *z = xmalloc((size_t)C * sizeof(float));
        for (int k = 0; signs && k < G; k++)
            for (int i = seg[k]; i < seg[k + 1]; i++) pair_encode_z(n, i, i + 1, k, z, signs + (long)i * C);
        free(z);
        return (long)M * C;
    }
    const EdgeRound *er = n->op == OP_EDGE_ROUND ? (const EdgeRound *)n->aux : NULL;
    if (er && er->pos) {
        long cnt = 3L * er->M * er->d;
        if (signs) memcpy(signs, er->pos, (size_t)cnt);
        return cnt;
    }
    return 0;
}

/* ======================= theta_head: a synthesis's θ head in one pass per tensor ======================= */
/* ins: raw [B, n], scale [T] (s_t), lin [T, B] (the common mode w_t·U + c_t), off [n], mask [n] or
 * absent; idx: per tensor t its first slot, rows, columns and 1 for a matrix (4 ints); ia = {T,
 * centred}; fa = {eps}. Per tensor and intent, what meta/head.c's theta_head composes from
 * segment_mean, gather, sub, segment_rmsnorm, mul and add, with the same operations in the same
 * order (each mean a sum of w·x in slot order, w = 1/count), so the same bits:
 *   c = x − mean(x); a matrix's row means, then its column means, removed (centred ≥ 2; a vector's
 *   "row" and "column" are the whole vector); c / √(mean c² + eps) (centred 3);
 *   θ = (c·s_t + lin_t·mask) + off (mask 1 when absent).
 * Tensors are independent: threads take them in any order and the bits do not depend on it.
 * Forward only (no-grad graphs): training keeps the composition, whose backward it needs. */
static void theta_head_shape(const Node *n, int *ndim, int *shape) {
    NP_ASSERT(n->nin == 4 || n->nin == 5, "theta_head: want 4 or 5 inputs");
    const Tensor *raw = n->ins[0];
    int T = n->ia[0];
    NP_ASSERT(raw->ndim == 2, "theta_head: raw must be [B, n]");
    int B = raw->shape[0];
    long N = raw->shape[1];
    NP_ASSERT(n->ins[1]->numel == T && n->ins[2]->numel == (long)T * B && n->ins[3]->numel == N &&
                  (n->nin == 4 || n->ins[4]->numel == N),
              "theta_head: scale [%d], lin [%d, %d], off and mask [%ld] expected", T, T, B, N);
    for (int t = 0; t < T; t++) {
        const int *L = n->idx + 4 * t;
        NP_ASSERT(L[0] >= 0 && L[1] >= 1 && L[2] >= 1 && L[0] + (long)L[1] * L[2] <= N && (L[3] || L[1] == 1),
                  "theta_head: tensor %d at %d of %d x %d outside [0, %ld)", t, L[0], L[1], L[2], N);
    }
    copy_shape(raw, ndim, shape);
}
/* y = x − Σ w·x (x in order from 0): one mean removed the way segment_mean, gather and sub remove it */
static inline void minus_mean(const float *x, float *y, long m, float w) {
    float acc = 0.0f;
    for (long k = 0; k < m; k++) acc += w * x[k];
    for (long k = 0; k < m; k++) y[k] = x[k] - acc;
}
static void theta_head_fwd(Graph *g, Node *n) {
    const Tensor *raw = n->ins[0];
    const float *scale = n->ins[1]->data, *lin = n->ins[2]->data, *off = n->ins[3]->data,
                *mask = n->nin == 5 ? n->ins[4]->data : NULL;
    int T = n->ia[0], centred = n->ia[1], B = raw->shape[0], most = 1;
    long N = raw->shape[1];
    float eps = n->fa[0];
    for (int t = 0; t < T; t++)
        if (n->idx[4 * t + 2] > most) most = n->idx[4 * t + 2];
    int nt = threads_for((long)B * N);
    float *colsum = arena_alloc(g->arena, (size_t)nt * most * sizeof(float)); /* per thread */
#pragma omp parallel for schedule(dynamic) num_threads(nt) if (nt > 1)
    for (int tb = 0; tb < T * B; tb++) {
        int t = tb / B, b = tb % B, id = 0;
#ifdef _OPENMP
        id = omp_get_thread_num();
#endif
        const int *L = n->idx + 4 * t;
        int R = L[1], C = L[2], mat = L[3];
        long m = (long)R * C;
        const float *x = raw->data + (long)b * N + L[0];
        float *y = n->out->data + (long)b * N + L[0], *cs = colsum + (long)id * most;
        float w = 1.0f / (float)m;
        minus_mean(x, y, m, w);
        if (centred >= 2 && mat) {
            float wc = 1.0f / (float)R;
            for (int r = 0; r < R; r++) minus_mean(y + (long)r * C, y + (long)r * C, C, 1.0f / (float)C);
            for (int c = 0; c < C; c++) cs[c] = 0.0f;
            for (int r = 0; r < R; r++)
                for (int c = 0; c < C; c++) cs[c] += wc * y[(long)r * C + c];
            for (int r = 0; r < R; r++)
                for (int c = 0; c < C; c++) y[(long)r * C + c] = y[(long)r * C + c] - cs[c];
        } else if (centred >= 2)
            for (int pass = 0; pass < 2; pass++) minus_mean(y, y, m, w); /* a vector's row mean, then its column mean */
        if (centred == 3) {
            float q = 0.0f;
            for (long k = 0; k < m; k++) q += y[k] * y[k];
            float rs = 1.0f / sqrtf(q / (float)m + eps);
            for (long k = 0; k < m; k++) y[k] = y[k] * rs;
        }
        float s = scale[t], l = lin[(long)t * B + b];
        const float *mk = mask ? mask + L[0] : NULL, *o = off + L[0];
        for (long k = 0; k < m; k++) y[k] = (y[k] * s + (mk ? l * mk[k] : l)) + o[k];
    }
}
Tensor *op_theta_head(Graph *g, Tensor *raw, Tensor *scale, Tensor *lin, Tensor *off, Tensor *mask, const int *layout,
                      int T, int centred, float eps) {
    NP_ASSERT(g->no_grad, "theta_head: forward only, for no-grad graphs");
    Node n = {.op = OP_THETA_HEAD,
              .ins = arena_tensors(g, (Tensor *[]){raw, scale, lin, off, mask}, mask ? 5 : 4),
              .nin = mask ? 5 : 4,
              .ia = {T, centred},
              .fa = {eps},
              .idx = arena_ints(g, layout, 4 * T)};
    return tape_apply(g, &n);
}

/* ======================= the table ======================= */
const OpDef OPS[] = {
    [OP_MATMUL] = {"matmul", matmul_shape, matmul_fwd, matmul_bwd},
    [OP_BMM] = {"bmm", bmm_shape, bmm_fwd, bmm_bwd},
    [OP_SEGMM] = {"segmm", segmm_shape, segmm_fwd, segmm_bwd},
    [OP_ADD] = {"add", binary_shape, binary_fwd, binary_bwd},
    [OP_SUB] = {"sub", binary_shape, binary_fwd, binary_bwd},
    [OP_MUL] = {"mul", binary_shape, binary_fwd, binary_bwd},
    [OP_SCALE] = {"scale", same_shape, scale_fwd, scale_bwd},
    [OP_ADDS] = {"add_scalar", same_shape, scale_fwd, scale_bwd},
    [OP_CONCAT] = {"concat", concat_shape, concat_fwd, concat_bwd},
    [OP_SLICE] = {"slice", slice_shape, slice_fwd, slice_bwd},
    [OP_PERMUTE] = {"permute", permute_shape, permute_fwd, permute_bwd},
    [OP_RELU] = {"relu", same_shape, act_fwd, act_bwd},
    [OP_GELU] = {"gelu", same_shape, act_fwd, act_bwd},
    [OP_SILU] = {"silu", same_shape, act_fwd, act_bwd},
    [OP_TANH] = {"tanh", same_shape, act_fwd, act_bwd},
    [OP_SIGMOID] = {"sigmoid", same_shape, act_fwd, act_bwd},
    [OP_SOFTMAX] = {"softmax", softmax_shape, softmax_fwd, softmax_bwd},
    [OP_LAYERNORM] = {"layernorm", layernorm_shape, layernorm_fwd, layernorm_bwd},
    [OP_GATHER] = {"gather", gather_shape, gather_fwd, gather_bwd},
    [OP_SCATTER_ADD] = {"scatter_add", scatter_shape, scatter_fwd, scatter_bwd},
    [OP_SEGMENT_MEAN] = {"segment_mean", scatter_shape, scatter_fwd, scatter_bwd},
    [OP_SUM] = {"sum", scalar_shape, sum_fwd, sum_bwd},
    [OP_MEAN] = {"mean", scalar_shape, sum_fwd, sum_bwd},
    [OP_SUM_AXIS] = {"sum_axis", sum_axis_shape, sum_axis_fwd, sum_axis_bwd},
    [OP_MSE] = {"mse", mse_check, mse_fwd, mse_bwd},
    [OP_CE] = {"cross_entropy", ce_shape, ce_fwd, ce_bwd},
    [OP_EDGE_ROUND] = {"edge_round", edge_round_shape, edge_round_fwd, edge_round_bwd},
    [OP_PAIR_ENCODE] = {"pair_encode", pair_encode_shape, pair_encode_fwd, pair_encode_bwd},
    [OP_GATHER_PRODUCT] = {"gather_product", gather_product_shape, gather_product_fwd, gather_product_bwd},
    [OP_SEGMENT_RMSNORM] = {"segment_rmsnorm", segment_rmsnorm_shape, segment_rmsnorm_fwd, segment_rmsnorm_bwd},
    [OP_THETA_HEAD] = {"theta_head", theta_head_shape, theta_head_fwd, NULL},
};
_Static_assert(sizeof OPS / sizeof *OPS == OP_COUNT, "one row of OPS per op");
_Static_assert(OP_COUNT <= 64, "OpProfile holds 64 ops");
const char *op_name(int op) { return op >= 0 && op < OP_COUNT ? OPS[op].name : NULL; }
int op_assigns(const Node *n, int k) {
    switch (n->op) {
    case OP_SEGMM: return k == 0;
    case OP_EDGE_ROUND: return k <= 2;
    case OP_SCALE:
    case OP_ADDS:
    case OP_RELU:
    case OP_GELU:
    case OP_SILU:
    case OP_TANH:
    case OP_SIGMOID:
    case OP_SOFTMAX: return k == 0;
    case OP_ADD:
    case OP_SUB:
    case OP_MUL: return tensor_same_shape(n->in[0], n->in[1]);
    default: return 0;
    }
}
