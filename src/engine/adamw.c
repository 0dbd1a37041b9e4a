#include "engine/adamw.h"
#include <math.h>

AdamW adamw_default(float weight_decay) {
    return (AdamW){.beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f, .weight_decay = weight_decay, .t = 0};
}

void adamw_step(AdamW *o, ParamSet *ps, float lr) {
    o->t++;
    const float b1 = o->beta1, b2 = o->beta2;
    const float c1 = 1.0f - powf(b1, (float)o->t), c2 = 1.0f - powf(b2, (float)o->t);
    for (int i = 0; i < ps->count; i++) {
        const ParamView *pv = &ps->views[i];
        float *p = ps->data + pv->off, *g = ps->grad + pv->off, *m = ps->m + pv->off, *v = ps->v + pv->off;
        const float wd = pv->decay ? o->weight_decay : 0.0f;
#pragma omp parallel for schedule(static) if (pv->numel > 65536)
        for (long k = 0; k < pv->numel; k++) {
            m[k] = b1 * m[k] + (1.0f - b1) * g[k];
            v[k] = b2 * v[k] + (1.0f - b2) * g[k] * g[k];
            float mhat = m[k] / c1, vhat = v[k] / c2;
            p[k] -= lr * (wd * p[k] + mhat / (sqrtf(vhat) + o->eps));
        }
    }
}

float clip_grad_norm(ParamSet *ps, float max_norm) {
    double s = 0;
    for (long k = 0; k < ps->n; k++) s += (double)ps->grad[k] * ps->grad[k];
    float norm = (float)sqrt(s);
    if (norm > max_norm && norm > 0) {
        float f = max_norm / (norm + 1e-6f);
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
