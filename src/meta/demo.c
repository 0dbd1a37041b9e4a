/* The demonstration encoder (arc-demo): the intent U of a program made from example pairs.
 *
 *   z_{e,j} = E(pair e)_j          a one-layer Transformer over the pair's cells, one token per
 *                                  cell, in·10 + out (so a cell sees its input and output colour,
 *                                  its neighbours' through the target template's window, and by
 *                                  attention the rest of the pair)
 *   U       = LN(mean_{e,j} z_{e,j})   over the examples and their cells
 *
 * The mean over examples makes U the same for any order of them (permutation-invariant, a
 * DeepSets pooling); the mean over cells counts what the pairs show (how many cells a move
 * empties, which colour a size turns into). E's weights are one tensor, "demo.theta", run by
 * the target executor as a single program over all the batch's pairs, so E is the same tested
 * code as the programs it conditions; U carries the gradient of the loss back into it. */
#include "meta/meta_internal.h"
#include <string.h>

int demo_encoder_add(DemoEncoder *d, ParamSet *ps, int len, int window, int pairs, int n_feat, Err *e) {
    char spec[TPL_TEXT_MAX];
    int heads = n_feat % 4 == 0 ? 4 : n_feat % 2 == 0 ? 2 : 1;
    snprintf(spec, sizeof spec,
             "transformer vocab=%d len=%d d=%d heads=%d mlp=%d classes=%d layers=1 prenorm=1 readout=all act=relu "
             "window=%d",
             DEMO_VOCAB, len, n_feat, heads, 2 * n_feat, n_feat, window);
    memset(d, 0, sizeof *d);
    if (template_parse(spec, &d->tpl, e)) return -1;
    d->pairs = pairs;
    d->theta = params_add(ps, "demo.theta", SHAPE(1, (int)d->tpl.n_theta));
    return 0;
}

void demo_encoder_init(const DemoEncoder *d, ParamSet *ps, Rng *r) {
    template_init_theta(&d->tpl, params_data(ps, d->theta), r);
}

Tensor *demo_encode(Graph *g, const ParamSet *ps, const DemoEncoder *d, const int *demo, int B) {
    int T = d->tpl.len, F = d->tpl.classes, n = d->pairs * T;
    Tensor *z =
        exec_transformer(g, &d->tpl, params_tensor(g, ps, d->theta), demo, 1, B * d->pairs); /* [1, B·P, T, F] */
    Tensor *u = op_scale(g, op_sum_axis(g, op_reshape(g, z, SHAPE(B, n, F)), 1), 1.0f / (float)n);
    return op_layernorm(g, op_reshape(g, u, SHAPE(B, F)), NULL, NULL, 1e-5f);
}
