/* Meta-GNN: a structure-aware graph hypernetwork over the neural graph (V, E) of the template.
 * Every weight matrix below exists once per group g(·) and is shared by all its members (DeepSets
 * style tying); s and t are the source and target of edge e, σ is ReLU, U the intent's features.
 * As shipped on ADDMOD (pe=4, head=2, imlp=64; config.c has every task's row):
 *
 *   intent  U' = W₄ σ(W₃ U + b₃) + b₄                    one MLP for the whole graph     (imlp=64)
 *   codes   c_v = C₀^{g(v)}[i_v] ⊙ C₁^{g(v)}[j_v]        learned, per group, axis and index    (pe=4)
 *   encode  h_v = LN(W₂^{g(v)} σ(W_U^{g(v)} U' + c_v + b₁^{g(v)}) + b₂^{g(v)})          (same for edges)
 *   round   x_e = σ(W_e^{g(e)} h_e + W_s^{g(s)} h_s + W_t^{g(t)} h_t + b^{g(e)}) = [u_e ‖ m⁺_e ‖ m⁻_e]
 *           h_e ← LN(h_e + u_e)                                                 edge update
 *           a⁺_v = mean_{e=(s→v)} m⁺_e,   a⁻_v = mean_{e=(v→t)} m⁻_e            along and against edges
 *           h_v ← LN(h_v + φ^{g(v)}([h_v ‖ a⁺_v ‖ a⁻_v]))                       node update, k rounds
 *   decode  r_slot = f_dec^{g}(h_slot)                       a node's bias, an edge's weight
 *   head    θ_T = s_T · D(r_T) + (w_T · U + c_T) [+1 for LayerNorm gains]                      (head=2)
 *           D: minus the tensor's mean, then a matrix's row means and column means, per intent
 *
 * i_v, j_v are the slot's indices along its two axes (a weight's row and column, a bias's unit),
 * so codes are what tells interchangeable hidden units apart (strict equivariance would make them
 * identical); their product makes a generated matrix a rank-d factorization, not row + column.
 * D removes the row-plus-column modes a tied generator's steps are dominated by, and the one
 * common mode per tensor is w_T·U + c_T, linear in the intent (docs/meta.md). s_T, one per θ
 * tensor, is calibrated so the first θ has gain × a standard init's size (head.c). pe=1/2 give
 * fixed sinusoidal/index features W_p p_v instead of c_v (SUMFIRST); head=0 is θ = s_T·r; head=3
 * (1D-ARC) also divides each program's D(r_T) by its root mean square and keeps w_T·U + c_T on
 * vectors only.
 * imlp=0 (1D-ARC, SUMFIRST) has the encoders read U' = U; imlp=H puts an MLP of H hidden units
 * on the intent (16 outputs); the θ head reads U either way. The MLP reads the intent through a
 * shared hidden layer, as Meta-MLP does: on ADDMOD the linear reading of p lets runs snap a prime
 * between two trained ones to a neighbour's program (docs/meta.md).
 * Structural edges carry messages but are never decoded. All updates of a round read the previous
 * round's states. Mean aggregation and group tying make the map equivariant: permuting the graph by
 * a symmetry of the template permutes θ the same way when the codes move with it.
 *
 * Cost: the encoder's first layer splits into a per-slot part (codes, W_p p, computed once per
 * slot, not per intent) and a per-intent part (W_U U); the message layer's node terms run on node
 * rows and are gathered to edges, so each edge row costs one d×3d product per round.
 * Rows are slot-major, intent-minor (row = v·B + b): every group is a contiguous row range. */
#include "meta/meta_internal.h"
#include <math.h>
#include <string.h>

#define LN_EPS 1e-5f
#define IMLP_OUT 16 /* the intent MLP's outputs: the encoders' U' */

typedef struct Encoder {
    int wp, wu, b1, w2, b2;
    SlotCodes codes;
} Encoder;
typedef struct Round {
    int ws, wt, we, be;
    TiedMLP node;
} Round;
typedef struct GNN {
    ThetaHead head; /* first: see meta_internal.h */
    Encoder enc_node, enc_edge;
    Round *rounds;
    TiedMLP dec_node, dec_edge;
    TiedMLP imlp;               /* cfg.imlp > 0: the intent MLP, U -> IMLP_OUT */
    int *slot_row;              /* θ index -> its node v, or n_nodes + its edge e */
    float *inv_deg;             /* [2, n_nodes]: each node's 1 / in-degree, then 1 / out-degree (0: none) */
    int *node_seg1, *edge_seg1; /* group ranges over slots (not rows) */
} GNN;

static void encoder_add(ParamSet *ps, Encoder *en, const char *name, int G, int F, int d) {
    char nm[96];
    snprintf(nm, sizeof nm, "%s.pe.weight", name);
    en->wp = params_add(ps, nm, SHAPE(G, NG_PE_DIM, d));
    snprintf(nm, sizeof nm, "%s.u.weight", name);
    en->wu = params_add(ps, nm, SHAPE(F, G * d));
    snprintf(nm, sizeof nm, "%s.0.bias", name);
    en->b1 = params_add(ps, nm, SHAPE(G, d));
    snprintf(nm, sizeof nm, "%s.1.weight", name);
    en->w2 = params_add(ps, nm, SHAPE(G, d, d));
    snprintf(nm, sizeof nm, "%s.1.bias", name);
    en->b2 = params_add(ps, nm, SHAPE(G, d));
}

static void encoder_init(ParamSet *ps, const Encoder *en, int F, int d, Rng *r) {
    float s = 1.0f / sqrtf((float)(F + NG_PE_DIM));
    params_fill_normal(ps, en->wp, r, s);
    params_fill_normal(ps, en->wu, r, s);
    params_fill_normal(ps, en->w2, r, 1.0f / sqrtf((float)d));
}

int gnn_init(Method *m, Rng *r) {
    const NGraph *ng = &m->ng;
    int d = m->cfg.width, F = m->n_feat, K = m->cfg.rounds;
    int Gn = m->cfg.tie ? ng->n_node_groups : 1, Ge = m->cfg.tie ? ng->n_edge_groups : 1;
    GNN *net = xcalloc(1, sizeof *net);
    m->impl = net;
    ParamSet *ps = &m->ps;
    if (m->cfg.imlp > 0) {
        tied_mlp_add(ps, &net->imlp, "imlp", 1, F, m->cfg.imlp, IMLP_OUT);
        F = IMLP_OUT; /* the encoders read U' = MLP(U) */
    }
    encoder_add(ps, &net->enc_node, "enc.node", Gn, F, d);
    encoder_add(ps, &net->enc_edge, "enc.edge", Ge, F, d);
    if (pe_codes(m->cfg.pe)) {
        int one_n[2] = {0, ng->n_nodes}, one_e[2] = {0, ng->n_edges};
        slot_codes_add(ps, &net->enc_node.codes, "enc.node", Gn, m->cfg.tie ? ng->node_seg : one_n, ng->node_ix,
                       ng->n_nodes, d, m->cfg.pe);
        slot_codes_add(ps, &net->enc_edge.codes, "enc.edge", Ge, m->cfg.tie ? ng->edge_seg : one_e, ng->edge_ix,
                       ng->n_edges, d, m->cfg.pe);
    }
    net->rounds = xcalloc(K > 0 ? K : 1, sizeof *net->rounds);
    for (int k = 0; k < K; k++) {
        Round *R = &net->rounds[k];
        char nm[64];
        snprintf(nm, sizeof nm, "mp.%d.src.weight", k);
        R->ws = params_add(ps, nm, SHAPE(Gn, d, 3 * d));
        snprintf(nm, sizeof nm, "mp.%d.dst.weight", k);
        R->wt = params_add(ps, nm, SHAPE(Gn, d, 3 * d));
        snprintf(nm, sizeof nm, "mp.%d.edge.weight", k);
        R->we = params_add(ps, nm, SHAPE(Ge, d, 3 * d));
        snprintf(nm, sizeof nm, "mp.%d.edge.bias", k);
        R->be = params_add(ps, nm, SHAPE(Ge, 3 * d));
        snprintf(nm, sizeof nm, "mp.%d.node", k);
        tied_mlp_add(ps, &R->node, nm, Gn, 3 * d, d, d);
    }
    tied_mlp_add(ps, &net->dec_node, "dec.node", Gn, d, d, 1);
    tied_mlp_add(ps, &net->dec_edge, "dec.edge", Ge, d, d, 1);
    theta_head_add(&net->head, ps, &m->tpl, m->cfg.head, m->cfg.base, m->n_feat);
    params_finalize(ps);

    if (m->cfg.imlp > 0) tied_mlp_init(ps, &net->imlp, r);
    encoder_init(ps, &net->enc_node, F, d, r);
    encoder_init(ps, &net->enc_edge, F, d, r);
    if (pe_codes(m->cfg.pe)) {
        slot_codes_init(ps, &net->enc_node.codes, r);
        slot_codes_init(ps, &net->enc_edge.codes, r);
    }
    for (int k = 0; k < K; k++) {
        Round *R = &net->rounds[k];
        float s = 1.0f / sqrtf(3.0f * d); /* three d-wide inputs feed each output */
        params_fill_normal(ps, R->ws, r, s);
        params_fill_normal(ps, R->wt, r, s);
        params_fill_normal(ps, R->we, r, s);
        tied_mlp_init(ps, &R->node, r);
    }
    tied_mlp_init(ps, &net->dec_node, r);
    tied_mlp_init(ps, &net->dec_edge, r);
    params_fill(ps, net->head.scale, 1.0f);

    net->inv_deg = xmalloc(2 * (size_t)(ng->n_nodes > 0 ? ng->n_nodes : 1) * sizeof(float));
    edge_inv_degrees(ng->src, ng->dst, ng->n_edges, ng->n_nodes, net->inv_deg);
    net->slot_row = xmalloc(ng->n_theta * sizeof(int));
    for (int v = 0; v < ng->n_nodes; v++)
        if (ng->node_slot[v] >= 0) net->slot_row[ng->node_slot[v]] = v;
    for (int e = 0; e < ng->n_edges; e++)
        if (ng->edge_slot[e] >= 0) net->slot_row[ng->edge_slot[e]] = ng->n_nodes + e;
    return 0;
}

SlotCodes *gnn_codes(Method *m, int edges) {
    GNN *net = m->impl;
    if (!pe_codes(m->cfg.pe)) return NULL;
    return edges ? &net->enc_edge.codes : &net->enc_node.codes;
}

void gnn_free(Method *m) {
    GNN *net = m->impl;
    if (!net) return;
    theta_head_free(&net->head);
    free(net->rounds);
    free(net->slot_row);
    free(net->inv_deg);
    free(net->enc_node.codes.row);
    free(net->enc_edge.codes.row);
    free(net);
}

/* idx[i·B + b] = row[i]·B + b: row[i] (an edge's endpoint, a θ slot's node or edge) for each of B
 * intents; row itself for one intent */
static const int *intent_rows(Graph *g, const int *row, int n, int B) {
    if (B == 1) return row;
    int *idx = arena_alloc(g->arena, (size_t)(n > 0 ? n : 1) * B * sizeof(int));
    for (int i = 0; i < n; i++)
        for (int b = 0; b < B; b++) idx[(long)i * B + b] = row[i] * B + b;
    return idx;
}

/* h = LN(W₂ σ(W_U U + W_p p + b₁) + b₂) for n slots of G groups (slot_seg), B intents. */
static Tensor *encode(Graph *g, const Method *m, const Encoder *en, Tensor *u, const float *pe, int n, int G,
                      const int *slot_seg, const int *seg) {
    const ParamSet *ps = &m->ps;
    int d = m->cfg.width, tie = m->cfg.tie, B = u->shape[0];
    int one_seg[2] = {0, n};
    const int *sseg = tie ? slot_seg : one_seg;
    int Gt = tie ? G : 1;
    int *slot_grp = arena_alloc(g->arena, (size_t)(n > 0 ? n : 1) * sizeof(int));
    for (int k = 0; k < Gt; k++)
        for (int s = sseg[k]; s < sseg[k + 1]; s++) slot_grp[s] = k;
    /* per slot: W_p p + b₁ -> [n, d], or the codes c, with b₁ by group added in pair_encode (their
     * sum never stored), or b₁ by group alone */
    Tensor *b1 = params_tensor(g, ps, en->b1), *slot, *slot_b1 = NULL;
    if (pe)
        slot = op_segmm_bias(g, tensor_wrap(g, (float *)pe, NULL, SHAPE(n, NG_PE_DIM)), params_tensor(g, ps, en->wp),
                             b1, sseg, Gt);
    else if (pe_codes(m->cfg.pe)) {
        slot = slot_codes(g, ps, &en->codes, n, d);
        slot_b1 = b1;
    } else slot = op_gather(g, b1, slot_grp, n);
    /* per intent and group: W_U U -> [G·B, d] */
    Tensor *pu = op_permute(g, op_reshape(g, op_matmul(g, u, params_tensor(g, ps, en->wu), 0, 0), SHAPE(B, Gt, d)),
                            (int[]){1, 0, 2});
    pu = op_reshape(g, pu, SHAPE(Gt * B, d));
    int *slot_of = arena_alloc(g->arena, (size_t)(n > 0 ? n : 1) * B * sizeof(int));
    int *gb_of = arena_alloc(g->arena, (size_t)(n > 0 ? n : 1) * B * sizeof(int));
    for (int s = 0; s < n; s++)
        for (int b = 0; b < B; b++) {
            slot_of[(long)s * B + b] = s;
            gb_of[(long)s * B + b] = slot_grp[s] * B + b;
        }
    /* LN(W₂ σ(W_p p_s + b₁ + W_U U_b) + b₂) per row, the hidden rows never stored */
    Tensor *h = op_pair_encode(g, slot, slot_of, slot_b1, pu, gb_of, params_tensor(g, ps, en->w2),
                               params_tensor(g, ps, en->b2), seg, Gt, n * B);
    tensor_release(g, slot); /* synthesis (no-grad) reuses the memory of what is done with */
    return h;
}

Tensor *gnn_generate(Graph *g, Method *m, Tensor *u) {
    GNN *net = m->impl;
    const NGraph *ng = &m->ng;
    const ParamSet *ps = &m->ps;
    int V = ng->n_nodes, E = ng->n_edges, tie = m->cfg.tie, B = u->shape[0];
    int *nseg = rows_by_group(g, ng->node_seg, ng->n_node_groups, V, B, tie);
    int *eseg = rows_by_group(g, ng->edge_seg, ng->n_edge_groups, E, B, tie);
    int Gn = tie ? ng->n_node_groups : 1, Ge = tie ? ng->n_edge_groups : 1;
    const int *src = intent_rows(g, ng->src, E, B), *dst = intent_rows(g, ng->dst, E, B);
    Tensor *inv = tensor_wrap(g, net->inv_deg, NULL, SHAPE(2, V)); /* node row v·B + b has node v's degrees */
    if (B > 1) {
        Tensor *rows = tensor_new(g, SHAPE(2, V * B));
        for (int k = 0; k < 2 * V; k++)
            for (int b = 0; b < B; b++) rows->data[(long)k * B + b] = net->inv_deg[k];
        inv = rows;
    }

    if (g->no_grad) { /* synthesis: the edge tensors take turns in two slots of a round's output size */
        Tensor *slot[2];
        for (int i = 0; i < 2; i++) slot[i] = tensor_new(g, SHAPE(E * B + 2 * V * B, m->cfg.width));
        for (int i = 0; i < 2; i++) tensor_release(g, slot[i]);
    }
    const float *npe = pe_select(g, ng->node_pe, V, m->cfg.pe), *epe = pe_select(g, ng->edge_pe, E, m->cfg.pe);
    /* U' = MLP(U) [B, IMLP_OUT], what the encoders read (the θ head reads U); its group range is
     * arena memory because the backward pass reads it */
    Tensor *ue = u;
    if (m->cfg.imlp > 0) {
        int *one = arena_alloc(g->arena, 2 * sizeof(int));
        one[0] = 0;
        one[1] = B;
        ue = tied_mlp(g, ps, &net->imlp, u, one);
    }
    Tensor *hv = encode(g, m, &net->enc_node, ue, npe, V, ng->n_node_groups, ng->node_seg, nseg);
    Tensor *he = encode(g, m, &net->enc_edge, ue, epe, E, ng->n_edge_groups, ng->edge_seg, eseg);

    Tensor *he_mem = he; /* what holds he: the encoder's output, then the last round's */
    for (int k = 0; k < m->cfg.rounds; k++) {
        const Round *R = &net->rounds[k];
        Tensor *xs = op_segmm(g, hv, params_tensor(g, ps, R->ws), nseg, Gn); /* W_s h per node row */
        Tensor *xt = op_segmm(g, hv, params_tensor(g, ps, R->wt), nseg, Gn); /* W_t h per node row */
        /* x_e = [u ‖ m⁺ ‖ m⁻]; out = [LN(h_e + u); a⁺; a⁻] */
        Tensor *out = op_edge_round(g, he, xs, xt, params_tensor(g, ps, R->we), params_tensor(g, ps, R->be), inv, src,
                                    dst, eseg, Ge, LN_EPS);
        tensor_release(g, xs);
        tensor_release(g, xt);
        tensor_release(g, he_mem);
        he_mem = out;
        he = op_rows(g, out, 0, E * B);
        Tensor *a_in = op_rows(g, out, E * B, V * B), *a_out = op_rows(g, out, E * B + V * B, V * B);
        Tensor *cat[3] = {hv, a_in, a_out}, *x = op_concat(g, cat, 3, 1), *y = tied_mlp(g, ps, &R->node, x, nseg);
        tensor_release(g, x);
        Tensor *sum = op_add(g, hv, y);
        tensor_release(g, y);
        tensor_release(g, hv);
        hv = op_layernorm(g, sum, NULL, NULL, LN_EPS);
        tensor_release(g, sum);
    }

    /* decode every node and edge, then pick the slots in θ order: [n_theta·B] -> [B, n_theta] */
    Tensor *both[2] = {tied_mlp(g, ps, &net->dec_node, hv, nseg), tied_mlp(g, ps, &net->dec_edge, he, eseg)};
    tensor_release(g, he_mem);
    tensor_release(g, hv);
    Tensor *all = op_concat(g, both, 2, 0);
    tensor_release(g, both[0]);
    tensor_release(g, both[1]);
    long T = ng->n_theta;
    const int *pick = intent_rows(g, net->slot_row, (int)T, B); /* each θ slot's row */
    Tensor *picked = op_gather(g, all, pick, (int)(T * B));
    tensor_release(g, all);
    Tensor *raw = op_permute(g, op_reshape(g, picked, SHAPE((int)T, B)), (int[]){1, 0});
    tensor_release(g, picked);
    Tensor *theta = theta_head(g, ps, &net->head, &m->tpl, raw, u);
    tensor_release(g, raw);
    return theta;
}
