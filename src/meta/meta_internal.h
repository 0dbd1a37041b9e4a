/* Shared by the method files only. */
#ifndef NEUROP_META_INTERNAL_H
#define NEUROP_META_INTERNAL_H
#include "meta/meta.h"

/* Shared building block: a linear map with one weight matrix and bias per group (or one for all
 * when untied), applied to rows split into contiguous group segments. */
typedef struct TiedLinear {
    int w, b, G, in, out;
} TiedLinear;
void tied_linear_add(ParamSet *ps, TiedLinear *l, const char *name, int G, int in, int out);
void tied_linear_init(ParamSet *ps, const TiedLinear *l, Rng *r, float gain);
/* x [M, in] with rows split into groups by seg[0..G] -> [M, out]. */
Tensor *tied_linear(Graph *g, const ParamSet *ps, const TiedLinear *l, Tensor *x, const int *seg);

/* The output head every meta-learner ends with (each method's impl struct starts with one): raw [B, n_theta] -> θ = raw * scale[tensor] + offset,
 * with one learned scale per θ tensor (calibrated at init to the standard init's spread) and
 * offset 1 for LayerNorm gains, 0 elsewhere. */
typedef struct ThetaHead {
    int scale, mean_w, mean_b, centred, n_rows, n_cols, base; /* base: θ₀'s view, -1 without (cfg.base 0) */
    int *tensor_of, *row_of, *col_of; /* θ index -> its tensor; its row and column ids (centred 2) */
    float *offset;
    float *lin_mask; /* head 3: 1 on vectors' slots, 0 on matrices' (no common mode) */
} ThetaHead;
void theta_head_add(ThetaHead *h, ParamSet *ps, const Template *t, int centred, int base, int n_feat);
/* centred (cfg.head = 1): θ_T = s_T·(raw_T − mean(raw_T)) + W_T·U + c_T + offset, the mean taken over
 * each tensor's slots per intent. A group-tied decoder moves all slots of a tensor together; here
 * that common mode is one explicit, linear-in-U scalar per tensor instead, so it can neither swamp
 * the slots' differences nor drift (e.g. every hidden bias far negative: a dead layer).
 * Double-centred (cfg.head = 2): each matrix's row means and column means are removed as well. A
 * tied generator's updates are dominated by row-plus-column modes (a_i + b_j), which here do nothing,
 * so its steps go into the matrix's interactions; behind a LayerNorm a row mean has no effect anyway.
 * Normalized (cfg.head = 3): as 2, then each tensor of each program divided by its root mean square
 * (op_segment_rmsnorm), so θ_T = s_T·ĉ_T + W_T·U + c_T with ‖ĉ_T‖ fixed: the size of every generated
 * tensor is one learned scalar that AdamW moves by at most a few lr per step, and no drift of the
 * generator's outputs can blow a program's weights up (weight normalization, Salimans & Kingma 2016).
 * A matrix then has no common mode either (W_T·U + c_T applies to vectors only): a constant added to
 * every entry is a rank-1 term of operator norm |m|·√(rows·cols) that nothing bounds.
 * Base (cfg.base = 1): θ₀ added to every program, one learned vector of |θ| shared by all intents and
 * zero at the start, so the first θ is the one without it. */
Tensor *theta_head(Graph *g, const ParamSet *ps, const ThetaHead *h, const Template *t, Tensor *raw, Tensor *u);
/* Sets each tensor's scale so that θ's spread matches the standard init on the calibration intents. */
void theta_head_calibrate(Method *m, ThetaHead *h, const float *calib, int n_calib);
void theta_head_free(ThetaHead *h);

/* Rows laid out slot-major, intent-minor (row = slot * B + b): a group of slots is then a
 * contiguous range of rows, as op_segmm wants. Returns the row segments [G+1] in the arena
 * (one segment for everything when untied). */
int *rows_by_group(Graph *g, const int *slot_seg, int G, int n_slots, int B, int tie);
/* The encodings of n slots as cfg.pe asks: NULL (off), pe itself (full), or an arena copy that
 * keeps only each axis' normalized index (the first feature of each NG_PE_AXIS block). */
const float *pe_select(Graph *g, const float *pe, long n, int mode);
/* [U_b ‖ pe_slot] for every (slot, b) row: [n_slots * B, n_feat + NG_PE_DIM]; pe may be NULL (zeros). */
Tensor *encoder_input(Graph *g, Tensor *u, const float *pe, int n_slots);
/* PE_ONEHOT, PE_PRODUCT: the first layer's weights times a one-hot index are a learned code per
 * (group, axis, index); a slot's pre-activation gets code(axis 0) + code(axis 1), or their
 * elementwise product (PE_PRODUCT). ix: [n, 2] indices, seg: the n slots' group ranges (G groups). */
typedef struct SlotCodes {
    int table, product;
    int *row;
} SlotCodes;
void slot_codes_add(ParamSet *ps, SlotCodes *c, const char *name, int G, const int *seg, const int *ix, int n, int d,
                    int pe);
void slot_codes_init(ParamSet *ps, const SlotCodes *c, Rng *r);
Tensor *slot_codes(Graph *g, const ParamSet *ps, const SlotCodes *c, int n, int d); /* [n, d] */
/* A group-tied two-layer MLP (in -> hidden -> out, ReLU between). */
typedef struct TiedMLP {
    TiedLinear l1, l2;
} TiedMLP;
void tied_mlp_add(ParamSet *ps, TiedMLP *m, const char *name, int G, int in, int hidden, int out);
void tied_mlp_init(ParamSet *ps, const TiedMLP *m, Rng *r);
Tensor *tied_mlp(Graph *g, const ParamSet *ps, const TiedMLP *m, Tensor *x, const int *seg);

int gnn_init(Method *m, Rng *r);
/* Meta-GNN's learned slot codes, of its nodes (edges 0) or edges (1); NULL when cfg.pe has none.
 * The equivariance test moves them with a graph symmetry, as it moves fixed encodings. */
SlotCodes *gnn_codes(Method *m, int edges);
Tensor *gnn_generate(Graph *g, Method *m, Tensor *u);
void gnn_free(Method *m);
int gmlp_init(Method *m, Rng *r);
Tensor *gmlp_generate(Graph *g, Method *m, Tensor *u);
void gmlp_free(Method *m);
int mlp_init(Method *m, Rng *r);
Tensor *mlp_generate(Graph *g, Method *m, Tensor *u);
void mlp_free(Method *m);
int direct_init(Method *m, Rng *r);
Tensor *direct_forward(Graph *g, Method *m, const Batch *b);
void direct_free(Method *m);

/* The demonstration encoder (demo.c): a one-layer Transformer over each example pair's cells
 * (token in * 10 + out), with the target template's window, its outputs averaged over cells and
 * examples, then LayerNorm -> U. */
#define DEMO_VOCAB 100 /* 10 input colours × 10 output colours */
typedef struct DemoEncoder {
    Template tpl; /* vocab 100, len demo_len, d = classes = n_feat */
    int theta;    /* its weights: one [1, n_theta] parameter, "demo.theta" */
    int pairs;
} DemoEncoder;
int demo_encoder_add(DemoEncoder *d, ParamSet *ps, int len, int window, int pairs, int n_feat, Err *e);
void demo_encoder_init(const DemoEncoder *d, ParamSet *ps, Rng *r);
Tensor *demo_encode(Graph *g, const ParamSet *ps, const DemoEncoder *d, const int *demo, int B); /* [B, n_feat] */

#endif
