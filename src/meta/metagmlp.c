/* Meta-gMLP: the same group-tied encoders as Meta-GNN, but over the decoded slots only and into
 * a small width w; then a global mixer, an MLP over all slots' embeddings concatenated (one
 * vector of n_theta·w per intent), with a residual; then group-tied decoders.
 *
 *   z_j = f_enc^{g(j)}([U ‖ p_j])  (j = 1..|θ|)      Z = [z_1 ‖ ... ‖ z_|θ|]
 *   Z  ← Z + W₂ relu(W₁ Z + b₁) + b₂                θ_j = s_T · f_dec^{g(j)}(z_j)
 *
 * Groups are the θ tensors (each is one weight matrix or bias vector of the template). The
 * mixer's size grows with |θ|: that is the point of comparison with Meta-GNN. */
#include "meta/meta_internal.h"
#include <math.h>
#include <string.h>

typedef struct GMLP {
    ThetaHead head; /* first: see meta_internal.h */
    TiedMLP enc, dec;
    int mix1_w, mix1_b, mix2_w, mix2_b;
    int *seg;        /* [n_tensors + 1] slot ranges: θ order */
    float *pe;       /* [n_theta, NG_PE_DIM]: each slot's node or edge encoding */
    SlotCodes codes; /* PE_ONEHOT, PE_PRODUCT */
} GMLP;

int gmlp_init(Method *m, Rng *r) {
    const Template *t = &m->tpl;
    const NGraph *G = &m->ng;
    int w = m->cfg.width, h = m->cfg.mixer, F = m->n_feat + NG_PE_DIM, Gt = m->cfg.tie ? t->n_tensors : 1;
    int Z = (int)t->n_theta * w;
    GMLP *n = xcalloc(1, sizeof *n);
    m->impl = n;
    ParamSet *ps = &m->ps;
    n->seg = xmalloc((t->n_tensors + 1) * sizeof(int));
    for (int k = 0; k < t->n_tensors; k++) n->seg[k] = (int)t->tensors[k].off;
    n->seg[t->n_tensors] = (int)t->n_theta;
    tied_mlp_add(ps, &n->enc, "enc", Gt, F, w, w);
    n->mix1_w = params_add(ps, "mix.0.weight", SHAPE(Z, h));
    n->mix1_b = params_add(ps, "mix.0.bias", SHAPE(h));
    n->mix2_w = params_add(ps, "mix.1.weight", SHAPE(h, Z));
    n->mix2_b = params_add(ps, "mix.1.bias", SHAPE(Z));
    tied_mlp_add(ps, &n->dec, "dec", Gt, w, w, 1);
    theta_head_add(&n->head, ps, t, m->cfg.head, m->cfg.base, m->n_feat);
    if (pe_codes(m->cfg.pe)) { /* each θ slot's two indices, from its node or edge */
        int *ix = xcalloc(2 * t->n_theta, sizeof *ix), one[2] = {0, (int)t->n_theta};
        for (int v = 0; v < G->n_nodes; v++)
            if (G->node_slot[v] >= 0) memcpy(ix + 2 * G->node_slot[v], G->node_ix + 2 * v, 2 * sizeof *ix);
        for (int e = 0; e < G->n_edges; e++)
            if (G->edge_slot[e] >= 0) memcpy(ix + 2 * G->edge_slot[e], G->edge_ix + 2 * e, 2 * sizeof *ix);
        slot_codes_add(ps, &n->codes, "enc", Gt, m->cfg.tie ? n->seg : one, ix, (int)t->n_theta, w, m->cfg.pe);
        free(ix);
    }
    params_finalize(ps);
    tied_mlp_init(ps, &n->enc, r);
    params_fill_normal(ps, n->mix1_w, r, 1.0f / sqrtf((float)Z));
    params_fill_normal(ps, n->mix2_w, r, 1.0f / sqrtf((float)h));
    tied_mlp_init(ps, &n->dec, r);
    if (pe_codes(m->cfg.pe)) slot_codes_init(ps, &n->codes, r);
    params_fill(ps, n->head.scale, 1.0f);

    n->pe = xcalloc(t->n_theta * NG_PE_DIM, sizeof(float));
    for (int v = 0; v < G->n_nodes; v++)
        if (G->node_slot[v] >= 0)
            memcpy(n->pe + G->node_slot[v] * NG_PE_DIM, G->node_pe + (long)v * NG_PE_DIM, NG_PE_DIM * sizeof(float));
    for (int e = 0; e < G->n_edges; e++)
        if (G->edge_slot[e] >= 0)
            memcpy(n->pe + G->edge_slot[e] * NG_PE_DIM, G->edge_pe + (long)e * NG_PE_DIM, NG_PE_DIM * sizeof(float));
    return 0;
}

void gmlp_free(Method *m) {
    GMLP *n = m->impl;
    if (!n) return;
    theta_head_free(&n->head);
    free(n->seg);
    free(n->pe);
    free(n->codes.row);
    free(n);
}

Tensor *gmlp_generate(Graph *g, Method *m, Tensor *u) {
    GMLP *n = m->impl;
    const Template *t = &m->tpl;
    const ParamSet *ps = &m->ps;
    int T = (int)t->n_theta, w = m->cfg.width, B = u->shape[0];
    int *seg = rows_by_group(g, n->seg, t->n_tensors, T, B, m->cfg.tie);
    Tensor *x = encoder_input(g, u, pe_select(g, n->pe, T, m->cfg.pe), T), *z;
    if (pe_codes(m->cfg.pe)) { /* the codes join the first layer's pre-activation */
        int *slot_of = arena_alloc(g->arena, (size_t)T * B * sizeof(int));
        for (long i = 0; i < (long)T * B; i++) slot_of[i] = (int)(i / B);
        Tensor *h1 = op_add(g, tied_linear(g, ps, &n->enc.l1, x, seg),
                            op_gather(g, slot_codes(g, ps, &n->codes, T, w), slot_of, T * B));
        z = tied_linear(g, ps, &n->enc.l2, op_relu(g, h1), seg);
    } else z = tied_mlp(g, ps, &n->enc, x, seg);
    /* [T·B, w] -> [B, T·w]: one vector per intent for the mixer */
    Tensor *zb = op_reshape(g, op_permute(g, op_reshape(g, z, SHAPE(T, B, w)), (int[]){1, 0, 2}), SHAPE(B, T * w));
    Tensor *hid =
        op_relu(g, op_add(g, op_matmul(g, zb, params_tensor(g, ps, n->mix1_w), 0, 0), params_tensor(g, ps, n->mix1_b)));
    Tensor *mix = op_add(g, op_matmul(g, hid, params_tensor(g, ps, n->mix2_w), 0, 0), params_tensor(g, ps, n->mix2_b));
    zb = op_add(g, zb, mix);
    z = op_reshape(g, op_permute(g, op_reshape(g, zb, SHAPE(B, T, w)), (int[]){1, 0, 2}), SHAPE(T * B, w));
    Tensor *raw = op_reshape(g, tied_mlp(g, ps, &n->dec, z, seg), SHAPE(T, B));
    return theta_head(g, ps, &n->head, t, op_permute(g, raw, (int[]){1, 0}), u);
}
