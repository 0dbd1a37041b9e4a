/* A run: task + template + method built from a config; forward passes over batches of intents;
 * evaluation and synthesis. The training loop itself is in trainer.c. */
#include "train/run_internal.h"
#include <math.h>
#include <string.h>

int intent_tokens(const Task *t, Intent u, int *itok) {
    int extra;
    switch (t->kind) {
    case TASK_FILE: return t->in_dim > 0 ? 0 : taskfile_intent_tokens(t, u, itok, MAX_INTENT_TOKENS, &extra);
    case TASK_ADDMOD: itok[0] = u.param; return 1; /* the prime, as a number token */
    case TASK_ARC:
        itok[0] = t->vocab + u.family;
        itok[1] = u.param > 0 ? u.param : 0;
        return 2; /* family, parameter digit */
    default: return 0;
    }
}

/* U of one task of each trained intent (no grad), then the θ head's scales from them. */
static void demo_calibration(Run *r, Rng rng, float *calib) {
    const Task *t = &r->task;
    Examples ex;
    examples_alloc(t, t->n_train, &ex);
    int m = 0;
    for (int i = 0; i < t->n_train; i++) {
        if (task_held(t, r->cfg.hold, i)) continue;
        Examples one;
        examples_alloc(t, 1, &one);
        task_sample(t, t->train[i], SPLIT_TRAIN, &rng, 1, &one);
        size_t n = (size_t)t->demo_pairs * t->seq_len;
        memcpy(ex.demo + m++ * n, one.demo, n * sizeof(int));
        examples_free(&one);
    }
    Arena a;
    Graph g;
    arena_init(&a, 1 << 22);
    graph_init(&g, &a);
    g.no_grad = 1;
    Tensor *u = method_encode_demo(&g, &r->m, ex.demo, m);
    memcpy(calib, u->data, (size_t)m * t->n_feat * sizeof(float));
    graph_free(&g);
    arena_free(&a);
    examples_free(&ex);
    method_calibrate(&r->m, calib, m);
}

/* fresh = 0 when a checkpoint's parameters will replace the drawn ones: then φ is not drawn and the
 * θ head not calibrated (its scales are parameters too), work that would be thrown away (before:
 * 90% of `neurop solve` on one task). to_train = 0: the run is only scored or solved, so arc-demo's
 * task skips reading the real files that only training draws must avoid (half of the rest). */
static int run_build(Run *r, const TrainConfig *c, int fresh, int to_train, Err *e) {
    memset(r, 0, sizeof *r);
    r->cfg = *c;
    if ((to_train ? task_get : task_get_to_score)(c->task, &r->task, e)) return -1;
    if (template_parse(c->tpl, &r->tpl, e)) return -1;
    const Task *t = &r->task;
    const Template *tp = &r->tpl;
    /* the template must fit the task's inputs and outputs */
    if (t->in_dim > 0) {
        if (tp->kind != TPL_MLP || tp->widths[0] != t->in_dim || tp->widths[tp->n_layers] != t->out_len)
            return err_set(e, "template '%s' does not fit %s (want an MLP %d -> ... -> %d)", c->tpl, t->name, t->in_dim,
                           t->out_len);
    } else if (t->kind == TASK_FILE) {
        int all = t->out_len > 1 || strstr(task_template(t), "readout=all") != NULL;
        if (tp->kind != TPL_TRANSFORMER || tp->vocab < t->vocab || tp->classes != t->n_classes ||
            tp->len != t->seq_len || tp->readout_last == all)
            return err_set(e,
                           "template '%s' does not fit %s (want a Transformer with vocab >= %d, classes = %d, len = "
                           "%d, readout=%s)",
                           c->tpl, t->name, t->vocab, t->n_classes, t->seq_len, all ? "all" : "last");
    } else {
        if (tp->kind != TPL_TRANSFORMER || tp->vocab < t->vocab || tp->classes != t->n_classes ||
            tp->readout_last != (t->kind == TASK_ADDMOD) || tp->len < t->seq_len)
            return err_set(e, "template '%s' does not fit %s (vocab >= %d, classes = %d, len >= %d, readout=%s)",
                           c->tpl, t->name, t->vocab, t->n_classes, t->seq_len,
                           t->kind == TASK_ADDMOD ? "last" : "every");
        if (t->kind == TASK_ARC) {
            r->task.seq_len = tp->len;
            r->task.out_len = tp->len;
        } else if (tp->len != t->seq_len)
            return err_set(e, "template len %d: %s inputs have %d tokens", tp->len, t->name, t->seq_len);
    }
    /* checked before any allocation that grows with θ: a config (a checkpoint's too) cannot ask
     * for gigabytes before its tensors are compared with the model */
    if (tp->n_theta > RUN_MAX_THETA)
        return err_set(e, "template '%s' has %ld weights, more than the %d a run supports", c->tpl, tp->n_theta,
                       RUN_MAX_THETA);
    if (c->hold >= t->n_train)
        return err_set(e, "hold=%d: %s has %d train intents, and at least one must be trained on", c->hold, t->name,
                       t->n_train);
    if (c->interp > 0 && (!task_scalar_intent(t) || c->method == METHOD_DIRECT || t->n_train - c->hold < 2))
        return err_set(e,
                       "interp=%g: needs a meta-learner, a task whose intent is one number (sumfirst, addmod) "
                       "and two trained intents",
                       c->interp);
    if (c->relabel && !t->demo_pairs)
        return err_set(e, "relabel=1 renames the colours of an arc-demo task's examples; %s has none", t->name);
    r->task.relabel = c->relabel;
    if (c->meta.base && c->method == METHOD_DIRECT)
        return err_set(e, "base=1 adds a learned program to a generator's; direct trains its network itself");
    if (c->meta.imlp > 0 && c->method != METHOD_GNN)
        return err_set(e, "imlp=%d: the intent MLP is Meta-GNN's (method gnn); %s reads the intent its own way",
                       c->meta.imlp, method_id(c->method));
    if (c->restarts > 1 && c->hold < 1)
        return err_set(e, "restarts=%d: the candidates are chosen on held intents; set hold to 1 or more", c->restarts);
    MetaConfig mc = c->meta;
    mc.demo_len = t->demo_pairs ? t->seq_len : 0;
    mc.demo_pairs = t->demo_pairs;
    if (c->method == METHOD_DIRECT && t->in_dim == 0) {
        int tmp[MAX_INTENT_TOKENS];
        mc.itok_len = intent_tokens(t, t->train[0], tmp);
        mc.itok_vocab = t->kind == TASK_ARC ? ARC_N_FAMILIES : 0;
        if (t->kind == TASK_FILE &&
            (mc.itok_len < 0 || taskfile_intent_tokens(t, t->train[0], tmp, MAX_INTENT_TOKENS, &mc.itok_vocab) < 0))
            return err_set(e, "%s: the direct method reads at most %d intent fields as tokens", t->name,
                           MAX_INTENT_TOKENS);
    }
    Rng root;
    rng_seed(&root, c->seed);
    Rng init = rng_fork(&root, c->init ? 1000 + (uint64_t)c->init : 1); /* init 0: the draw of every older run */
    r->data_rng = rng_fork(&root, 2);
    /* calibration intents: the trained intents only, never an OOD or a held one (a demonstration
     * task: one task of each, U from the new encoder, drawn from a stream of their own) */
    float *calib = xmalloc((size_t)t->n_train * t->n_feat * sizeof(float));
    int n_cal = 0;
    for (int i = 0; !t->demo_pairs && i < t->n_train; i++)
        if (!task_held(t, c->hold, i)) task_features(t, t->train[i], calib + (long)n_cal++ * t->n_feat);
    int rc = method_init(&r->m, c->method, &mc, tp, t->n_feat, t->demo_pairs || !fresh ? NULL : calib, n_cal,
                         fresh ? &init : NULL, e);
    if (!rc && r->m.demo && fresh) demo_calibration(r, rng_fork(&root, 3), calib);
    free(calib);
    if (rc) return -1;
    r->opt = adamw_default(c->wd);
    r->opt.beta2 = c->beta2;
    if (c->grokfast > 0) r->grad_ema = xcalloc((size_t)r->m.ps.n, sizeof(float));
    focus_alloc(r);
    r->best_val = -1;
    r->best_step = -1;
    return 0;
}

int run_init(Run *r, const TrainConfig *c, Err *e) { return run_build(r, c, 1, 1, e); }
int run_init_to_load(Run *r, const TrainConfig *c, int to_train, Err *e) { return run_build(r, c, 0, to_train, e); }

void run_free(Run *r) {
    method_free(&r->m);
    task_free(&r->task);
    if (r->eval_arena.head) arena_free(&r->eval_arena);
    free(r->grad_ema);
    free(r->focus_err);
    memset(r, 0, sizeof *r);
}

/* A no-grad graph over the run's evaluation arena (kept across calls: no page faults per call).
 * Its first block is 64 MiB of address space, not of memory: the kernel zeroes a page when it is
 * first touched, so a block costs what is used of it, and one block that never grows touches less
 * than a chain of doubling blocks, each left with its last huge page partly used (a Meta-GNN
 * synthesis at width 32: 28.6 against 32.6 MB resident). */
static void eval_graph(Run *r, Graph *g) {
    if (!r->eval_arena.head) arena_init(&r->eval_arena, (size_t)64 << 20);
    graph_init(g, &r->eval_arena);
    arena_reset(&r->eval_arena);
    g->no_grad = 1;
}

/* ---- batches ---- */
void batch_alloc(Run *r, int B, int N, BatchBuf *bb) {
    const Task *t = &r->task;
    memset(bb, 0, sizeof *bb);
    bb->B = B;
    bb->N = N;
    bb->feat = xmalloc((size_t)B * t->n_feat * sizeof(float));
    bb->itok = xcalloc((size_t)B * MAX_INTENT_TOKENS, sizeof(int));
    if (t->demo_pairs) bb->demo = xmalloc((size_t)B * t->demo_pairs * t->seq_len * sizeof(int));
    bb->ex = xcalloc(B, sizeof(Examples));
    for (int b = 0; b < B; b++) examples_alloc(t, N, &bb->ex[b]);
    if (t->in_dim > 0) {
        bb->x = xmalloc((size_t)B * N * t->in_dim * sizeof(float));
        bb->y = xmalloc((size_t)B * N * t->out_len * sizeof(float));
    } else {
        bb->tok = xmalloc((size_t)B * N * t->seq_len * sizeof(int));
        bb->lab = xmalloc((size_t)B * N * t->out_len * sizeof(int));
    }
}

void batch_free(BatchBuf *bb) {
    for (int b = 0; b < bb->B; b++) examples_free(&bb->ex[b]);
    free(bb->ex);
    free(bb->feat);
    free(bb->itok);
    free(bb->demo);
    free(bb->x);
    free(bb->y);
    free(bb->tok);
    free(bb->lab);
    memset(bb, 0, sizeof *bb);
}

/* Packs the per-intent examples (bb->ex[b], n = bb->N each) and intents into the flat arrays. */
void batch_pack(Run *r, BatchBuf *bb, const Intent *us) {
    const Task *t = &r->task;
    int N = bb->N;
    size_t nd = (size_t)t->demo_pairs * t->seq_len;
    for (int b = 0; b < bb->B; b++) {
        if (t->demo_pairs) memcpy(bb->demo + b * nd, bb->ex[b].demo, nd * sizeof(int)); /* the N rows share it */
        else { /* a demonstration has neither features nor intent tokens (direct's itok_len counts its cells) */
            task_features(t, us[b], bb->feat + (long)b * t->n_feat);
            intent_tokens(t, us[b], bb->itok + (long)b * r->m.cfg.itok_len);
        }
        const Examples *ex = &bb->ex[b];
        if (t->in_dim > 0) {
            memcpy(bb->x + (long)b * N * t->in_dim, ex->x, (size_t)N * t->in_dim * sizeof(float));
            memcpy(bb->y + (long)b * N * t->out_len, ex->y, (size_t)N * t->out_len * sizeof(float));
        } else {
            memcpy(bb->tok + (long)b * N * t->seq_len, ex->tok, (size_t)N * t->seq_len * sizeof(int));
            memcpy(bb->lab + (long)b * N * t->out_len, ex->lab, (size_t)N * t->out_len * sizeof(int));
        }
    }
}

Tensor *batch_forward(Graph *g, Run *r, const BatchBuf *bb, Tensor **theta) {
    Batch b = {
        .B = bb->B, .N = bb->N, .feat = bb->feat, .x = bb->x, .tok = bb->tok, .itok = bb->itok, .demo = bb->demo};
    return method_forward_theta(g, &r->m, &b, theta);
}

Tensor *theta_penalty(Graph *g, const Run *r, Tensor *theta, float theta_l2, float theta_ms) {
    const Template *t = &r->m.tpl;
    long n = t->n_theta, nw = 0;
    for (int k = 0; k < t->n_tensors; k++) nw += t->tensors[k].ndim == 2 ? t->tensors[k].numel : 0;
    float *w = arena_calloc(g->arena, (size_t)n * sizeof(float));
    for (int k = 0; k < t->n_tensors; k++)
        if (t->tensors[k].ndim == 2)
            for (long j = 0; j < t->tensors[k].numel; j++) w[t->tensors[k].off + j] = 1.0f / (float)nw;
    int B = theta->shape[0];
    /* ms [B, 1]: each program's mean square over its matrix entries; only what exceeds theta_ms costs */
    Tensor *ms = op_matmul(g, op_mul(g, theta, theta), tensor_wrap(g, w, NULL, SHAPE((int)n, 1)), 0, 0);
    Tensor *over = op_relu(g, op_add_scalar(g, ms, -theta_ms));
    return op_scale(g, op_sum(g, over), 0.5f * theta_l2 / (float)B);
}

/* The trained intents in increasing order, each pair of neighbours a candidate; one pair and s
 * are drawn from a fork of the data stream, which the draw leaves as it is: every rank draws the
 * same, and a resumed run the same as an uninterrupted one. s is drawn anew each step because a
 * fixed midpoint could be met by a generator that steps exactly there. */
void interp_draw(const Run *r, double *a, double *b, double *s) {
    const Task *t = &r->task;
    int ix[64], n = 0;
    for (int i = 0; i < t->n_train && n < 64; i++) {
        if (task_held(t, r->cfg.hold, i)) continue;
        int j = n++;
        for (; j > 0 && t->train[ix[j - 1]].param > t->train[i].param; j--) ix[j] = ix[j - 1];
        ix[j] = i;
    }
    NP_ASSERT(n >= 2, "interp: %d trained intents", n);
    Rng q = rng_fork(&r->data_rng, 0x696e74657270ULL); /* "interp" */
    int k = rng_int(&q, n - 1);
    *s = rng_uniform(&q);
    *a = t->train[ix[k]].param;
    *b = t->train[ix[k + 1]].param;
}

/* A generator that computes an intent between two trained ones from its neighbours pays little
 * here; one that snaps each intent to the nearest trained one pays about s(1 − s)·ms(θ(b) − θ(a)). */
Tensor *interp_penalty(Graph *g, Run *r, double a, double b, double s) {
    const Task *t = &r->task;
    int nf = t->n_feat;
    float *feat = arena_alloc(g->arena, (size_t)3 * nf * sizeof(float)),
          *mix = arena_alloc(g->arena, 3 * sizeof(float));
    task_features_at(t, a, feat);
    task_features_at(t, b, feat + nf);
    task_features_at(t, a + s * (b - a), feat + 2 * nf);
    Tensor *theta = method_generate(g, &r->m, tensor_wrap(g, feat, NULL, SHAPE(3, nf))); /* [3, n_theta] */
    mix[0] = (float)(1 - s);
    mix[1] = (float)s;
    mix[2] = -1;
    Tensor *d = op_matmul(g, tensor_wrap(g, mix, NULL, SHAPE(1, 3)), theta, 0, 0); /* [1, n_theta] */
    return op_scale(g, op_sum(g, op_mul(g, d, d)), r->cfg.interp / (float)theta->shape[1]);
}

Tensor *batch_train_loss(Graph *g, Run *r, const BatchBuf *bb, Tensor **pred) {
    Tensor *theta = NULL, *out = batch_forward(g, r, bb, &theta);
    if (pred) *pred = out;
    Tensor *loss = batch_loss(g, r, bb, out);
    if (r->cfg.theta_l2 > 0 && theta)
        loss = op_add(g, loss, theta_penalty(g, r, theta, r->cfg.theta_l2, r->cfg.theta_ms));
    if (r->cfg.interp > 0) {
        double a, b, s;
        interp_draw(r, &a, &b, &s);
        loss = op_add(g, loss, interp_penalty(g, r, a, b, s));
    }
    return loss;
}

Tensor *batch_loss(Graph *g, Run *r, const BatchBuf *bb, Tensor *pred) {
    const Task *t = &r->task;
    long R = (long)bb->B * bb->N;
    if (t->in_dim > 0) {
        int n = (int)(R * t->out_len);
        return op_mse(g, op_reshape(g, pred, SHAPE(n)), tensor_wrap(g, bb->y, NULL, SHAPE(n)));
    }
    return op_cross_entropy(g, op_reshape(g, pred, SHAPE((int)(R * t->out_len), t->n_classes)), bb->lab);
}

/* ---- evaluation ---- */
#define EVAL_CHUNK 256

#define DEMO_CHUNK 16 /* programs at once: the memory of a training batch of 16 */

/* A demonstration task's rows: each its own program (made from the row's examples), so a chunk is
 * B = chunk programs of N = 1 row. */
static int score_demo(Run *r, const Examples *ex) {
    const Task *t = &r->task;
    int correct = 0, chunk = ex->n < DEMO_CHUNK ? ex->n : DEMO_CHUNK;
    if (chunk == 0) return 0;
    Graph g;
    eval_graph(r, &g);
    size_t nd = (size_t)t->demo_pairs * t->seq_len;
    int per = task_pred_width(t);
    for (int s = 0; s < ex->n; s += chunk) {
        int n = ex->n - s < chunk ? ex->n - s : chunk;
        Batch b = {.B = n, .N = 1, .tok = ex->tok + (size_t)s * t->seq_len, .demo = ex->demo + s * nd};
        Tensor *pred = method_forward(&g, &r->m, &b);
        for (int i = 0; i < n; i++) correct += task_correct(t, pred->data + (long)i * per, ex, s + i);
        graph_reset(&g);
    }
    graph_free(&g);
    return correct;
}

/* Correct predictions of one intent on ex, run in chunks with no tape. */
int run_score(Run *r, Intent u, const Examples *ex) {
    const Task *t = &r->task;
    if (t->demo_pairs) return score_demo(r, ex);
    int correct = 0;
    int chunk = ex->n < EVAL_CHUNK ? ex->n : EVAL_CHUNK;
    if (chunk == 0) return 0;
    Graph g;
    eval_graph(r, &g);
    BatchBuf bb;
    batch_alloc(r, 1, chunk, &bb);
    int per = task_pred_width(t);
    for (int s = 0; s < ex->n; s += chunk) {
        int n = ex->n - s < chunk ? ex->n - s : chunk;
        Examples *cur = &bb.ex[0];
        cur->n = n;
        if (t->in_dim > 0) {
            memcpy(cur->x, ex->x + (long)s * t->in_dim, (size_t)n * t->in_dim * sizeof(float));
            memcpy(cur->y, ex->y + (long)s * t->out_len, (size_t)n * t->out_len * sizeof(float));
        } else {
            memcpy(cur->tok, ex->tok + (long)s * t->seq_len, (size_t)n * t->seq_len * sizeof(int));
            memcpy(cur->lab, ex->lab + (long)s * t->out_len, (size_t)n * t->out_len * sizeof(int));
        }
        bb.N = n;
        batch_pack(r, &bb, &u);
        Tensor *pred = batch_forward(&g, r, &bb, NULL);
        for (int i = 0; i < n; i++) correct += task_correct(t, pred->data + (long)i * per, cur, i);
        graph_reset(&g);
    }
    bb.N = chunk;
    batch_free(&bb);
    graph_free(&g);
    return correct;
}

static void score_intent(Run *r, Intent u, Split s, IntentScore *out) {
    Examples ex;
    int n = task_eval_set(&r->task, u, s, r->cfg.eval_n, 0x5eed0000u + (uint64_t)s, &ex);
    out->u = u;
    out->split = s;
    out->n = n;
    out->correct = run_score(r, u, &ex);
    examples_free(&ex);
}

void run_evaluate(Run *r, Split iid_split, int with_ood, EvalReport *rep) {
    const Task *t = &r->task;
    memset(rep, 0, sizeof *rep);
    rep->items = xcalloc(t->n_train + (with_ood ? t->n_ood : 0), sizeof *rep->items);
    long correct = 0, total = 0;
    for (int i = 0; i < t->n_train; i++) {
        IntentScore *s = &rep->items[rep->n++];
        score_intent(r, t->train[i], iid_split, s);
        if ((s->held = task_held(t, r->cfg.hold, i))) {
            rep->held += s->n ? (double)s->correct / s->n : 0;
            rep->n_held++;
            continue;
        }
        rep->iid += s->n ? (double)s->correct / s->n : 0;
        rep->n_iid++;
        correct += s->correct;
        total += s->n;
    }
    for (int i = 0; with_ood && i < t->n_ood; i++) {
        IntentScore *s = &rep->items[rep->n++];
        score_intent(r, t->ood[i], SPLIT_OOD, s);
        double a = s->n ? (double)s->correct / s->n : 0;
        rep->ood += a;
        rep->n_ood++;
        if (task_ood_ordinal(t, t->ood[i])) {
            rep->ood_ordinal += a;
            rep->n_ood_ordinal++;
        }
    }
    if (rep->n_iid) rep->iid /= rep->n_iid;
    if (rep->n_held) rep->held /= rep->n_held;
    if (rep->n_ood) rep->ood /= rep->n_ood;
    if (rep->n_ood_ordinal) rep->ood_ordinal /= rep->n_ood_ordinal;
    rep->iid_pooled = total ? (double)correct / total : 0;
}

void eval_report_free(EvalReport *rep) {
    free(rep->items);
    memset(rep, 0, sizeof *rep);
}

static void synth_features(Run *r, float *feat, float *theta) {
    Graph g;
    eval_graph(r, &g);
    Tensor *th = method_generate(&g, &r->m, tensor_wrap(&g, feat, NULL, SHAPE(1, r->task.n_feat)));
    memcpy(theta, th->data, r->tpl.n_theta * sizeof(float));
    graph_free(&g);
}

void run_synth(Run *r, Intent u, float *theta) {
    float *feat = xmalloc(r->task.n_feat * sizeof(float));
    task_features(&r->task, u, feat);
    synth_features(r, feat, theta);
    free(feat);
}

void run_synth_at(Run *r, double x, float *theta) {
    NP_ASSERT(task_scalar_intent(&r->task), "run_synth_at: %s has no scalar intent", r->task.name);
    float *feat = xmalloc(r->task.n_feat * sizeof(float));
    task_features_at(&r->task, x, feat);
    synth_features(r, feat, theta);
    free(feat);
}

void run_solve_demo(Run *r, const int *demo, const int *tok, float *theta, int *pred) {
    Graph g;
    eval_graph(r, &g);
    const Template *t = &r->tpl;
    Tensor *y;
    if (r->m.kind == METHOD_DIRECT) {
        Batch b = {.B = 1, .N = 1, .tok = tok, .demo = demo};
        y = method_forward(&g, &r->m, &b);
    } else {
        Tensor *th = method_generate(&g, &r->m, method_encode_demo(&g, &r->m, demo, 1));
        if (theta) memcpy(theta, th->data, t->n_theta * sizeof(float));
        y = exec_transformer(&g, t, th, tok, 1, 1);
    }
    for (int j = 0; j < t->len; j++) pred[j] = logits_argmax(y->data + (long)j * t->classes, t->classes);
    graph_free(&g);
}

double run_step_flops(Run *r) {
    Arena a;
    Graph g;
    arena_init(&a, 1 << 22);
    graph_init(&g, &a);
    BatchBuf bb;
    batch_alloc(r, r->cfg.B, r->cfg.N, &bb);
    Intent *us = xmalloc(r->cfg.B * sizeof *us);
    Rng rng;
    rng_seed(&rng, 1);
    for (int b = 0; b < r->cfg.B; b++) {
        us[b] = r->task.train[b % r->task.n_train];
        /* a validation draw costs what a training draw costs, and a run opened to be scored
         * (run_open) may not draw training tasks: arc-demo's need the real files' exclusion */
        task_sample(&r->task, us[b], SPLIT_VAL, &rng, r->cfg.N, &bb.ex[b]);
    }
    batch_pack(r, &bb, us);
    batch_loss(&g, r, &bb, batch_forward(&g, r, &bb, NULL)); /* counts forward and backward products */
    double f = g.flops;
    free(us);
    batch_free(&bb);
    graph_free(&g);
    arena_free(&a);
    return f;
}
