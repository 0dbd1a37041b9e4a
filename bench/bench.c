/* Engine benchmark (make bench): GFLOP/s of op_matmul and op_bmm, forward and forward+backward,
 * next to plain cblas_sgemm on the same shapes measured in the same run (the ceiling), and the time
 * of one training step (forward + backward + AdamW) of a small MLP, for dev/bench_torch.py to
 * compare against. Thread count: OMP_NUM_THREADS (the ceiling gives OpenBLAS the same count).
 *
 * Output lines are "key value ..." so scripts/bench.sh can pick them out. */
#include "engine/adamw.h"
#include "engine/cpu.h"
#include "engine/params.h"
#include "engine/rng.h"
#include "engine/tape.h"
#include "engine/tensor.h"
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

/* Time per call: the best of 7 samples, each repeating fn for >= 40 ms (the best, not the median:
 * on a shared machine the other processes only ever add time). */
typedef void (*BenchFn)(void *ctx);
static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}
static double time_per_call(BenchFn fn, void *ctx) {
    fn(ctx);
    fn(ctx); /* warm caches, arena, thread pools */
    long reps = 1;
    for (;;) {
        double t0 = now();
        for (long i = 0; i < reps; i++) fn(ctx);
        if (now() - t0 >= 0.04 || reps >= (1L << 24)) break;
        reps *= 2;
    }
    double s[7];
    for (int k = 0; k < 7; k++) {
        double t0 = now();
        for (long i = 0; i < reps; i++) fn(ctx);
        s[k] = (now() - t0) / reps;
    }
    qsort(s, 7, sizeof *s, cmp_d);
    return s[0];
}

static float *randbuf(Rng *r, long n, float std) {
    float *p = xmalloc(n * sizeof(float));
    for (long i = 0; i < n; i++) p[i] = std * rng_normal(r);
    return p;
}

/* ---------------- products: batch Bt of op(A) [M,K] x B [K,N]; Bt = 0 means plain matmul ---------------- */
typedef struct {
    int Bt, M, K, N;
    float *A, *Bm, *C, *gA, *gB, *dC;
    Arena arena;
    Graph g;
} Prod;

static void run_backward(Graph *g) {
    for (int i = g->n_nodes - 1; i >= 0; i--) OPS[g->nodes[i].op].backward(&g->nodes[i]);
}
static Tensor *prod_forward(Prod *p, int with_grad) {
    graph_reset(&p->g);
    int b = p->Bt ? p->Bt : 1;
    Tensor *a, *w;
    if (p->Bt) {
        a = tensor_wrap(&p->g, p->A, with_grad ? p->gA : NULL, SHAPE(b, p->M, p->K));
        w = tensor_wrap(&p->g, p->Bm, with_grad ? p->gB : NULL, SHAPE(b, p->K, p->N));
        return op_bmm(&p->g, a, w, 0, 0);
    }
    a = tensor_wrap(&p->g, p->A, with_grad ? p->gA : NULL, SHAPE(p->M, p->K));
    w = tensor_wrap(&p->g, p->Bm, with_grad ? p->gB : NULL, SHAPE(p->K, p->N));
    return op_matmul(&p->g, a, w, 0, 0);
}
static void ours_fwd(void *c) { prod_forward(c, 0); }
static void ours_fwdbwd(void *c) {
    Prod *p = c;
    Tensor *y = prod_forward(p, 1);
    memcpy(y->grad, p->dC, y->numel * sizeof(float)); /* seed dL/dY, then walk the tape */
    run_backward(&p->g);
}
/* The ceiling: plain cblas_sgemm, OpenBLAS threaded with the same thread count; a loop over the
 * batch for bmm shapes. fwd+bwd = the three products C = AB, dA = dC B^T, dB = A^T dC. */
static void sgemm_fwd(void *c) {
    Prod *p = c;
    int b = p->Bt ? p->Bt : 1;
    long sa = (long)p->M * p->K, sb = (long)p->K * p->N, sc = (long)p->M * p->N;
    for (int i = 0; i < b; i++)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, p->M, p->N, p->K, 1.0f, p->A + i * sa, p->K,
                    p->Bm + i * sb, p->N, 0.0f, p->C + i * sc, p->N);
}
static void sgemm_fwdbwd(void *c) {
    Prod *p = c;
    int b = p->Bt ? p->Bt : 1;
    long sa = (long)p->M * p->K, sb = (long)p->K * p->N, sc = (long)p->M * p->N;
    for (int i = 0; i < b; i++) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, p->M, p->N, p->K, 1.0f, p->A + i * sa, p->K,
                    p->Bm + i * sb, p->N, 0.0f, p->C + i * sc, p->N);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, p->M, p->K, p->N, 1.0f, p->dC + i * sc, p->N,
                    p->Bm + i * sb, p->N, 1.0f, p->gA + i * sa, p->K);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, p->K, p->N, p->M, 1.0f, p->A + i * sa, p->K,
                    p->dC + i * sc, p->N, 1.0f, p->gB + i * sb, p->N);
    }
}

/* Ours first, for every shape, then the ceilings, so OpenBLAS's own thread pool (woken only by the
 * multi-threaded ceiling) cannot compete with our OpenMP threads for the cores. */
typedef struct {
    const char *name;
    int Bt, M, K, N;
    double ours_f, ours_fb, s1_f, s1_fb, sn_f, sn_fb;
} Shape;

static void prod_setup(Prod *p, const Shape *s, Rng *r) {
    memset(p, 0, sizeof *p);
    p->Bt = s->Bt;
    p->M = s->M;
    p->K = s->K;
    p->N = s->N;
    int b = s->Bt ? s->Bt : 1;
    long na = (long)b * s->M * s->K, nb = (long)b * s->K * s->N, nc = (long)b * s->M * s->N;
    p->A = randbuf(r, na, 1);
    p->Bm = randbuf(r, nb, 0.1f);
    p->dC = randbuf(r, nc, 1e-3f);
    p->C = xcalloc(nc, sizeof(float));
    p->gA = xcalloc(na, sizeof(float));
    p->gB = xcalloc(nb, sizeof(float));
    arena_init(&p->arena, 0);
    graph_init(&p->g, &p->arena); /* sets OpenBLAS to 1 thread: OpenMP owns them */
}
static void prod_free(Prod *p) {
    graph_free(&p->g);
    arena_free(&p->arena);
    free(p->A);
    free(p->Bm);
    free(p->C);
    free(p->gA);
    free(p->gB);
    free(p->dC);
}
static double gflops(const Shape *s, double t, int fb) {
    return (fb ? 3 : 1) * 2.0 * (s->Bt ? s->Bt : 1) * s->M * s->N * s->K / t * 1e-9;
}

static void bench_products(Shape *sh, int n, int nt, Rng *r) {
    Prod p;
    for (int i = 0; i < n; i++) {
        prod_setup(&p, &sh[i], r);
        sh[i].ours_f = gflops(&sh[i], time_per_call(ours_fwd, &p), 0);
        sh[i].ours_fb = gflops(&sh[i], time_per_call(ours_fwdbwd, &p), 1);
        prod_free(&p);
    }
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < n; i++) {
            prod_setup(&p, &sh[i], r);
            openblas_set_num_threads(pass ? nt : 1);
            double f = gflops(&sh[i], time_per_call(sgemm_fwd, &p), 0),
                   fb = gflops(&sh[i], time_per_call(sgemm_fwdbwd, &p), 1);
            if (pass) {
                sh[i].sn_f = f;
                sh[i].sn_fb = fb;
            } else {
                sh[i].s1_f = f;
                sh[i].s1_fb = fb;
            }
            openblas_set_num_threads(1);
            prod_free(&p);
        }
}

static void print_products(const Shape *sh, int n, int nt) {
    printf("%-6s %-26s %-7s %8s %8s %8s %8s  %s\n", "op", "shape", "pass", "ours", "sgemm1t", "sgemmNt", "ceiling",
           "ours/ceiling");
    for (int i = 0; i < n; i++)
        for (int fb = 0; fb < 2; fb++) {
            const Shape *s = &sh[i];
            char shape[64];
            if (s->Bt) snprintf(shape, sizeof shape, "B=%d [%d,%d]x[%d,%d]", s->Bt, s->M, s->K, s->K, s->N);
            else snprintf(shape, sizeof shape, "[%d,%d]x[%d,%d]", s->M, s->K, s->K, s->N);
            double o = fb ? s->ours_fb : s->ours_f, a = fb ? s->s1_fb : s->s1_f, b = fb ? s->sn_fb : s->sn_f,
                   c = a > b ? a : b;
            printf("%-6s %-26s %-7s %8.2f %8.2f %8.2f %8.2f  %.2f\n", s->name, shape, fb ? "fwd+bwd" : "fwd", o, a, b,
                   c, o / c);
        }
    printf("(GFLOP/s; sgemm1t / sgemmNt: plain cblas_sgemm with OpenBLAS on 1 / %d threads, a loop over the batch for "
           "bmm;\n"
           " ceiling = the better of the two; fwd+bwd counts 3 products, both operands take a gradient)\n",
           nt);
}

/* ---------------- one training step of an MLP 64 -> 256 -> 256 -> 10, batch 256 ---------------- */
enum { MB = 256, MIN = 64, MH = 256, MOUT = 10 };
typedef struct {
    ParamSet ps;
    int w[3], b[3];
    AdamW opt;
    Arena arena;
    Graph g;
    float *x;
    int *labels;
    float loss;
} Mlp;

static void mlp_step(void *c) {
    Mlp *m = c;
    graph_reset(&m->g);
    params_zero_grad(&m->ps);
    Tensor *h = tensor_wrap(&m->g, m->x, NULL, SHAPE(MB, MIN));
    for (int l = 0; l < 3; l++) {
        h = op_add(&m->g, op_matmul(&m->g, h, params_tensor(&m->g, &m->ps, m->w[l]), 0, 0),
                   params_tensor(&m->g, &m->ps, m->b[l]));
        if (l < 2) h = op_relu(&m->g, h);
    }
    Tensor *L = op_cross_entropy(&m->g, h, m->labels);
    graph_backward(&m->g, L);
    adamw_step(&m->opt, &m->ps, 1e-3f);
    m->loss = L->data[0];
}

static void bench_mlp(Rng *r) {
    Mlp m;
    params_init(&m.ps);
    const int dims[4] = {MIN, MH, MH, MOUT};
    for (int l = 0; l < 3; l++) {
        char n[16];
        snprintf(n, sizeof n, "w%d", l);
        m.w[l] = params_add(&m.ps, n, SHAPE(dims[l], dims[l + 1]));
        snprintf(n, sizeof n, "b%d", l);
        m.b[l] = params_add(&m.ps, n, SHAPE(dims[l + 1]));
    }
    params_finalize(&m.ps);
    for (int l = 0; l < 3; l++) params_fill_normal(&m.ps, m.w[l], r, 1.0f / sqrtf((float)dims[l]));
    m.opt = adamw_default(0.01f);
    arena_init(&m.arena, 0);
    graph_init(&m.g, &m.arena);
    m.x = randbuf(r, (long)MB * MIN, 1);
    m.labels = xmalloc(MB * sizeof(int));
    for (int i = 0; i < MB; i++) m.labels[i] = rng_int(r, MOUT);
    double t = time_per_call(mlp_step, &m);
    double flops = 0;
    for (int l = 0; l < 3; l++) flops += 3 * 2.0 * MB * dims[l] * dims[l + 1];
    flops -= 2.0 * MB * dims[0] * dims[1]; /* no gradient for the input x */
    printf("mlp_step_ms %.4f  (MLP %d-%d-%d-%d, batch %d, fwd+bwd+AdamW; %.2f GFLOP/s in its products; loss %.4f)\n",
           t * 1e3, MIN, MH, MH, MOUT, MB, flops / t * 1e-9, m.loss);
    graph_free(&m.g);
    arena_free(&m.arena);
    params_free(&m.ps);
    free(m.x);
    free(m.labels);
}

int main(int argc, char **argv) {
    cpu_setup(argv);
    int nt = 1;
#ifdef _OPENMP
    nt = omp_get_max_threads();
#endif
    printf("threads %d\n", nt);
    Rng r;
    rng_seed(&r, 1);
    Shape sh[] = {
        {.name = "matmul", .M = 4096, .K = 64, .N = 64},      {.name = "matmul", .M = 16384, .K = 96, .N = 32},
        {.name = "matmul", .M = 256, .K = 256, .N = 256},     {.name = "bmm", .Bt = 64, .M = 64, .K = 10, .N = 16},
        {.name = "bmm", .Bt = 64, .M = 96, .K = 16, .N = 48},
    };
    int n = (int)(sizeof sh / sizeof *sh);
    bench_mlp(&r); /* before any multi-threaded OpenBLAS call */
    bench_products(sh, n, nt, &r);
    print_products(sh, n, nt);
    return 0;
}
