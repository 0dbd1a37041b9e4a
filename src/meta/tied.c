/* Group-tied layers: one weight matrix (and bias) per group of slots, applied to rows laid out
 * slot-major so that a group is a contiguous row range; the slots' encodings (positional features
 * or learned codes per axis index). Used by Meta-GNN and Meta-gMLP (and Meta-MLP's encoder input). */
#include "meta/meta_internal.h"
#include <math.h>
#include <string.h>

void tied_linear_add(ParamSet *ps, TiedLinear *l, const char *name, int G, int in, int out) {
    char nm[112]; /* a tied_mlp_add name (up to 96) plus ".weight" */
    l->G = G;
    l->in = in;
    l->out = out;
    snprintf(nm, sizeof nm, "%s.weight", name);
    l->w = params_add(ps, nm, SHAPE(G, in, out));
    snprintf(nm, sizeof nm, "%s.bias", name);
    l->b = params_add(ps, nm, SHAPE(G, out));
}

void tied_linear_init(ParamSet *ps, const TiedLinear *l, Rng *r, float gain) {
    params_fill_normal(ps, l->w, r, gain / sqrtf((float)l->in));
    params_fill(ps, l->b, 0.0f);
}

Tensor *tied_linear(Graph *g, const ParamSet *ps, const TiedLinear *l, Tensor *x, const int *seg) {
    return op_segmm_bias(g, x, params_tensor(g, ps, l->w), params_tensor(g, ps, l->b), seg, l->G);
}

void tied_mlp_add(ParamSet *ps, TiedMLP *m, const char *name, int G, int in, int hidden, int out) {
    char nm[96];
    snprintf(nm, sizeof nm, "%s.0", name);
    tied_linear_add(ps, &m->l1, nm, G, in, hidden);
    snprintf(nm, sizeof nm, "%s.1", name);
    tied_linear_add(ps, &m->l2, nm, G, hidden, out);
}
void tied_mlp_init(ParamSet *ps, const TiedMLP *m, Rng *r) {
    tied_linear_init(ps, &m->l1, r, 1.0f);
    tied_linear_init(ps, &m->l2, r, 1.0f);
}
Tensor *tied_mlp(Graph *g, const ParamSet *ps, const TiedMLP *m, Tensor *x, const int *seg) {
    const TiedLinear *l1 = &m->l1;
    Tensor *z = op_segmm_bias_relu(g, x, params_tensor(g, ps, l1->w), params_tensor(g, ps, l1->b), seg, l1->G);
    Tensor *y = tied_linear(g, ps, &m->l2, z, seg);
    tensor_release(g, z);
    return y;
}

int *rows_by_group(Graph *g, const int *slot_seg, int G, int n_slots, int B, int tie) {
    int *sg = arena_alloc(g->arena, (size_t)(G + 1) * sizeof(int));
    if (!tie) {
        sg[0] = 0;
        sg[1] = n_slots * B;
    } else
        for (int k = 0; k <= G; k++) sg[k] = slot_seg[k] * B;
    return sg;
}

const float *pe_select(Graph *g, const float *pe, long n, int mode) {
    if (!pe_reads_encodings(mode) || !pe) return NULL;
    if (mode == PE_FULL) return pe;
    float *out = arena_calloc(g->arena, (size_t)(n > 0 ? n : 1) * NG_PE_DIM * sizeof(float));
    for (long i = 0; i < n; i++)
        for (int k = 0; k < NG_PE_DIM; k += NG_PE_AXIS) out[i * NG_PE_DIM + k] = pe[i * NG_PE_DIM + k];
    return out;
}

void slot_codes_add(ParamSet *ps, SlotCodes *c, const char *name, int G, const int *seg, const int *ix, int n, int d,
                    int pe) {
    c->product = pe == PE_PRODUCT;
    int *size = xcalloc(2 * (G > 0 ? G : 1), sizeof *size), *base = xcalloc(2 * (G > 0 ? G : 1), sizeof *base),
        rows = 0;
    for (int k = 0; k < G; k++)
        for (int s = seg[k]; s < seg[k + 1]; s++)
            for (int a = 0; a < 2; a++)
                if (ix[2 * s + a] + 1 > size[2 * k + a]) size[2 * k + a] = ix[2 * s + a] + 1;
    for (int q = 0; q < 2 * G; q++) {
        base[q] = rows;
        rows += size[q];
    }
    c->row = xmalloc((size_t)(n > 0 ? n : 1) * 2 * sizeof *c->row);
    for (int k = 0; k < G; k++)
        for (int s = seg[k]; s < seg[k + 1]; s++)
            for (int a = 0; a < 2; a++) c->row[2 * s + a] = base[2 * k + a] + ix[2 * s + a];
    char nm[96];
    snprintf(nm, sizeof nm, "%s.code", name); /* not "*.weight": no weight decay, like an embedding */
    c->table = params_add(ps, nm, SHAPE(rows > 0 ? rows : 1, d));
    free(size);
    free(base);
}

/* two codes add (or multiply) up to a unit-variance pre-activation, like the encoder's other inputs */
void slot_codes_init(ParamSet *ps, const SlotCodes *c, Rng *r) {
    params_fill_normal(ps, c->table, r, c->product ? 1.0f : sqrtf(0.5f));
}

Tensor *slot_codes(Graph *g, const ParamSet *ps, const SlotCodes *c, int n, int d) {
    if (c->product) return op_gather_product(g, params_tensor(g, ps, c->table), c->row, n);
    Tensor *both = op_reshape(g, op_gather(g, params_tensor(g, ps, c->table), c->row, 2 * n), SHAPE(n, 2, d));
    return op_reshape(g, op_sum_axis(g, both, 1), SHAPE(n, d));
}

Tensor *encoder_input(Graph *g, Tensor *u, const float *pe, int n_slots) {
    int B = u->shape[0], n = n_slots * B;
    int *intent_of = arena_alloc(g->arena, (size_t)(n > 0 ? n : 1) * sizeof(int));
    int *slot_of = arena_alloc(g->arena, (size_t)(n > 0 ? n : 1) * sizeof(int));
    for (int i = 0; i < n; i++) {
        intent_of[i] = i % B;
        slot_of[i] = i / B;
    }
    Tensor *p = pe ? op_gather(g, tensor_wrap(g, (float *)pe, NULL, SHAPE(n_slots, NG_PE_DIM)), slot_of, n)
                   : tensor_zeros(g, SHAPE(n, NG_PE_DIM));
    Tensor *cat[2] = {op_gather(g, u, intent_of, n), p};
    return op_concat(g, cat, 2, 1);
}
