/* Focus (the setting focus > 0): a share of the training steps goes where the training batches
 * still fail. Each train intent i keeps err_i, an average of 1 − (the exact match of its rows)
 * over the batches it was drawn in, each new batch weighing FOCUS_RATE; with probability focus a
 * step's intent is drawn ∝ err_i + FOCUS_FLOOR (held intents never), otherwise by the run's usual
 * draw (task_intent_cdf).
 *
 * Why: a uniform draw over arc-demo's 18 families spends its steps alike on the families solved
 * within the first thousand steps (denoising, pattern copy) and on those that start to learn
 * only after thousands (padded fill, the recolours). The signal is the training batch's own
 * prediction, already computed for the loss, so no validation or OOD example steers the data.
 * err starts at 1 (nothing learned), lives in the checkpoint (metadata "focus_err"), and is
 * summed over the ranks' batches, so a resumed run and every rank draw as one uninterrupted run. */
#include "train/dist.h"
#include "train/run_internal.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define FOCUS_RATE 0.02f /* an intent drawn B/n_train times a step: arc-demo's forget in ~100 steps */
#define FOCUS_FLOOR 0.05 /* a solved intent keeps a share, so a relapse shows in its batches */

void focus_alloc(Run *r) {
    if (r->cfg.focus <= 0) return;
    r->focus_err = xmalloc(sizeof *r->focus_err * (size_t)r->task.n_train);
    for (int i = 0; i < r->task.n_train; i++) r->focus_err[i] = 1.0f;
}

static double weight(const Run *r, int i) {
    return task_held(&r->task, r->cfg.hold, i) ? 0 : r->focus_err[i] + FOCUS_FLOOR;
}

int focus_draw(const Run *r, const double *cdf, Rng *rng) {
    const Task *t = &r->task;
    if (!r->focus_err || rng_uniform(rng) >= r->cfg.focus) return task_draw_intent(t, cdf, rng);
    double total = 0;
    for (int i = 0; i < t->n_train; i++) total += weight(r, i);
    double x = rng_uniform(rng) * total;
    int last = 0;
    for (int i = 0; i < t->n_train; i++) {
        double w = weight(r, i);
        if (w <= 0) continue;
        if (x < w) return i;
        x -= w;
        last = i; /* rounding left x above the sum: the last intent drawable */
    }
    return last;
}

void focus_update(Run *r, const BatchBuf *bb, const Tensor *pred, const int *drawn, int b0) {
    if (!r->focus_err) return;
    const Task *t = &r->task;
    int B = r->cfg.B, N = bb->N, per = task_pred_width(t);
    float *acc = xcalloc((size_t)B, sizeof *acc); /* [B] exact match of each intent's rows; others' 0 here */
    for (int k = 0; k < bb->B; k++) {
        int correct = 0;
        for (int j = 0; j < N; j++) correct += task_correct(t, pred->data + ((long)k * N + j) * per, &bb->ex[k], j);
        acc[b0 + k] = (float)correct / (float)N;
    }
    dist_allreduce_sum(acc, B);
    for (int b = 0; b < B; b++) {
        float *err = &r->focus_err[drawn[b]];
        *err += FOCUS_RATE * ((1.0f - acc[b]) - *err);
    }
    free(acc);
}

char *focus_format(const Run *r) {
    if (!r->focus_err) return NULL;
    size_t len = 16 * (size_t)r->task.n_train + 1, o = 0;
    char *s = xmalloc(len);
    s[0] = 0;
    for (int i = 0; i < r->task.n_train; i++)
        o += (size_t)snprintf(s + o, len - o, "%s%.9g", i ? "," : "", r->focus_err[i]);
    return s;
}

int focus_parse(Run *r, const char *text, const char *path, Err *e) {
    if (!r->focus_err) return 0;
    int n = r->task.n_train;
    if (!text) return err_set(e, "%s: a focus run's checkpoint without 'focus_err' in its metadata", path);
    const char *p = text;
    for (int i = 0; i < n; i++) {
        char *end;
        float x = strtof(p, &end);
        if (end == p || !(x >= 0 && x <= 1) || *end != (i + 1 < n ? ',' : '\0'))
            return err_set(e, "%s: bad 'focus_err' in its metadata (want %d numbers in [0, 1], comma-separated)", path,
                           n);
        r->focus_err[i] = x;
        p = end + 1;
    }
    return 0;
}
