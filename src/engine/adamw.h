/* AdamW (decoupled weight decay, Loshchilov & Hutter), global-norm gradient clipping and the
 * warmup + cosine learning-rate schedule. Same update as torch.optim.AdamW. */
#ifndef NEUROP_ADAMW_H
#define NEUROP_ADAMW_H
#include "engine/params.h"

typedef struct AdamW {
    float beta1, beta2, eps, weight_decay;
    long t; /* steps taken (bias correction) */
} AdamW;

AdamW adamw_default(float weight_decay); /* betas (0.9, 0.999), eps 1e-8 */
/* One update of every parameter with its grad; views with decay=0 get no weight decay. */
void adamw_step(AdamW *o, ParamSet *ps, float lr);
/* Scales all gradients so their global L2 norm is at most max_norm; returns the norm before. */
float clip_grad_norm(ParamSet *ps, float max_norm);
/* Grokfast-EMA (Lee et al. 2024, "Grokfast: accelerated grokking by amplifying slow gradients"):
 * ema ← alpha·ema + (1 − alpha)·grad (ema ← grad at the first step), then grad ← grad + lambda·ema. */
void grad_filter_ema(ParamSet *ps, float *ema, float alpha, float lambda, int first);
/* Linear warmup over `warmup` steps (step s gets lr_max·(s+1)/warmup), then cosine from lr_max
 * down to lr_min at `total`. */
float lr_schedule(long step, long warmup, long total, float lr_max, float lr_min);

#endif
