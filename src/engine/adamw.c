#include "engine/adamw.h"
#include "engine/err.h"
#include <math.h>
#include <stdlib.h>
#ifdef _OPENMP
#include <omp.h>
#endif

AdamW adamw_default(float weight_decay) {
    return (AdamW){.beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f, .weight_decay = weight_decay, .t = 0};
}

void adamw_step(AdamW *o, ParamSet *ps, float lr) {
    o->t++;
    const float b1 = o->beta1, b2 = o->beta2;
    const float c1 = 1.0f - powf(b1, (float)o->t), c2 = 1.0f - powf(b2, (float)o->t);
    /* every thread one contiguous range of the flat buffer, across view boundaries (views are
     * mostly small: one loop per view would run most of them on one thread) */
#pragma omp parallel if (ps->n > 65536)
    {
        long lo = 0, hi = ps->n;
#ifdef _OPENMP
        int id = omp_get_thread_num(), nt = omp_get_num_threads();
        lo = ps->n * id / nt;
        hi = ps->n * (id + 1) / nt;
#endif
        for (int i = 0; i < ps->count; i++) {
            const ParamView *pv = &ps->views[i];
            long a = pv->off > lo ? pv->off : lo, b = pv->off + pv->numel < hi ? pv->off + pv->numel : hi;
            float *p = ps->data, *g = ps->grad, *m = ps->m, *v = ps->v;
            const float wd = pv->decay ? o->weight_decay : 0.0f;
#pragma omp simd
            for (long k = a; k < b; k++) {
                m[k] = b1 * m[k] + (1.0f - b1) * g[k];
                v[k] = b2 * v[k] + (1.0f - b2) * g[k] * g[k];
                float mhat = m[k] / c1, vhat = v[k] / c2;
                p[k] -= lr * (wd * p[k] + mhat / (sqrtf(vhat) + o->eps));
            }
        }
    }
}

void grad_filter_ema(ParamSet *ps, float *ema, float alpha, float lambda, int first) {
    float *g = ps->grad;
#pragma omp parallel for simd schedule(static) if (ps->n > 65536)
    for (long k = 0; k < ps->n; k++) {
        ema[k] = first ? g[k] : alpha * ema[k] + (1.0f - alpha) * g[k];
        g[k] += lambda * ema[k];
    }
}

/* The squares are summed in fixed blocks, each in order, then the blocks in order: the same norm
 * for every thread count. */
#define NORM_BLOCK 8192
float clip_grad_norm(ParamSet *ps, float max_norm) {
    long nb = (ps->n + NORM_BLOCK - 1) / NORM_BLOCK;
    double *part = xmalloc(sizeof *part * (size_t)(nb > 0 ? nb : 1)), s = 0;
#pragma omp parallel for schedule(static) if (nb > 4)
    for (long b = 0; b < nb; b++) {
        long lo = b * NORM_BLOCK, hi = lo + NORM_BLOCK < ps->n ? lo + NORM_BLOCK : ps->n;
        double t = 0;
#pragma omp simd reduction(+ : t)
        for (long k = lo; k < hi; k++) t += (double)ps->grad[k] * ps->grad[k];
        part[b] = t;
    }
    for (long b = 0; b < nb; b++) s += part[b];
    free(part);
    float norm = (float)sqrt(s);
    if (norm > max_norm && norm > 0) {
        float f = max_norm / (norm + 1e-6f);
#pragma omp parallel for simd schedule(static) if (ps->n > 65536)
        for (long k = 0; k < ps->n; k++) ps->grad[k] *= f;
    }
    return norm;
}

float lr_schedule(long step, long warmup, long total, float lr_max, float lr_min) {
    if (warmup > 0 && step < warmup) return lr_max * (float)(step + 1) / (float)warmup;
    if (step >= total) return lr_min;
    double prog = (double)(step - warmup) / (double)(total - warmup > 0 ? total - warmup : 1);
    return lr_min + 0.5f * (lr_max - lr_min) * (float)(1.0 + cos(3.141592653589793 * prog));
}
