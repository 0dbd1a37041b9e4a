/* direct: no weight generation. One network of the task's kind reads the intent with the input
 * and predicts Y itself: for an MLP template the intent features are extra input features; for
 * a Transformer template the intent is a few tokens prepended to every input (ids chosen by the
 * trainer, e.g. the prime itself for ADDMOD, family and parameter tokens for 1D-ARC). On a
 * demonstration task (arc-demo) it is an in-context model: the examples' cells (in·10 + out, after
 * the colour ids) come before the test input's, and it reads the output off the input's positions. */
#include "meta/meta_internal.h"
#include <string.h>

typedef struct Direct {
    Template net;
    int first;
} Direct; /* first: the view of the net's first tensor */

int direct_network(const Template *t, const MetaConfig *cfg, int n_feat, Template *net, Err *e) {
    char spec[512];
    int w = cfg->width;
    if (t->kind == TPL_MLP) {
        snprintf(spec, sizeof spec, "mlp %d-%d-%d-%d act=relu", t->widths[0] + n_feat, w, w, t->widths[t->n_layers]);
    } else {
        int heads = t->heads, mlp = t->mlp * w / t->d;
        while (w % heads) heads--;
        snprintf(spec, sizeof spec,
                 "transformer vocab=%d len=%d d=%d heads=%d mlp=%d classes=%d layers=%d prenorm=%d readout=%s act=%s "
                 "window=%d",
                 t->vocab + cfg->itok_vocab, t->len + cfg->itok_len, w, heads, mlp > 0 ? mlp : w, t->classes,
                 t->n_layers, t->prenorm, t->readout_last ? "last" : "all", t->mlp_act == ACT_GELU ? "gelu" : "relu",
                 t->window);
    }
    return template_parse(spec, net, e);
}

int direct_init(Method *m, Rng *r) {
    Direct *n = xcalloc(1, sizeof *n);
    m->impl = n;
    Err e;
    if (direct_network(&m->tpl, &m->cfg, m->n_feat, &n->net, &e)) {
        fprintf(stderr, "neurop: direct: %s\n", e.msg);
        return -1;
    }
    /* one view per template tensor, in θ order: contiguous, so together they are θ [1, |θ|], and
     * each gets its own weight decay (matrices) or none (biases, gains) */
    for (int k = 0; k < n->net.n_tensors; k++) {
        char nm[96];
        const TplTensor *tt = &n->net.tensors[k];
        snprintf(nm, sizeof nm, "net.%s", tt->name);
        int v = tt->ndim == 2 ? params_add(&m->ps, nm, SHAPE(tt->shape[0], tt->shape[1]))
                              : params_add(&m->ps, nm, SHAPE(tt->shape[0]));
        if (k == 0) n->first = v;
    }
    params_finalize(&m->ps);
    template_init_theta(&n->net, params_data(&m->ps, n->first), r);
    return 0;
}

void direct_free(Method *m) { free(m->impl); }

Tensor *direct_forward(Graph *g, Method *m, const Batch *b) {
    Direct *n = m->impl;
    const Template *t = &m->tpl, *net = &n->net;
    long off = m->ps.views[n->first].off;
    Tensor *theta = tensor_wrap(g, m->ps.data + off, m->ps.grad + off, SHAPE(1, (int)net->n_theta));
    int B = b->B, N = b->N, R = B * N;
    if (t->kind == TPL_MLP) { /* one program over all B·N examples, each [x ‖ U] */
        int in = t->widths[0], F = m->n_feat;
        Tensor *x = tensor_new(g, SHAPE(1, R, in + F));
        for (int i = 0; i < R; i++) {
            memcpy(x->data + (long)i * (in + F), b->x + (long)i * in, in * sizeof(float));
            memcpy(x->data + (long)i * (in + F) + in, b->feat + (long)(i / N) * F, F * sizeof(float));
        }
        Tensor *y = exec_mlp(g, net, theta, x);
        return op_reshape(g, y, SHAPE(B, N, y->shape[2]));
    }
    int P = m->cfg.itok_len, L = t->len, L2 = L + P;
    int *tok = arena_alloc(g->arena, (size_t)R * L2 * sizeof(int));
    for (int i = 0; i < R; i++) {
        if (m->cfg.demo_len) /* the program's examples, cell by cell, as tokens after the colours */
            for (int j = 0; j < P; j++) tok[(long)i * L2 + j] = t->vocab + b->demo[(long)(i / N) * P + j];
        else memcpy(tok + (long)i * L2, b->itok + (long)(i / N) * P, P * sizeof(int));
        memcpy(tok + (long)i * L2 + P, b->tok + (long)i * L, L * sizeof(int));
    }
    Tensor *y = exec_transformer(g, net, theta, tok, 1, R);
    if (t->readout_last) return op_reshape(g, y, SHAPE(B, N, t->classes));
    y = op_slice(g, op_reshape(g, y, SHAPE(R, L2, t->classes)), 1, P, L); /* drop the intent positions */
    return op_reshape(g, y, SHAPE(B, N, L, t->classes));
}
