/* What the four methods share: names, dispatch, group-tied layers, the θ output head. */
#include "meta/meta_internal.h"
#include <math.h>
#include <string.h>
#include <strings.h>

static const char *NAMES[] = {"direct", "Meta-MLP", "Meta-gMLP", "Meta-GNN"};
static const char *IDS[] = {"direct", "mlp", "gmlp", "gnn"};

const char *method_name(MethodKind k) { return NAMES[k]; }
const char *method_id(MethodKind k) { return IDS[k]; }

int method_parse(const char *name, MethodKind *k, Err *e) {
    for (int i = 0; i < METHOD_COUNT; i++)
        if (!strcasecmp(name, IDS[i]) || !strcasecmp(name, NAMES[i])) { *k = (MethodKind)i; return 0; }
    return err_set(e, "unknown method '%s' (valid: direct, mlp, gmlp, gnn)", name);
}

int method_init(Method *m, MethodKind k, const MetaConfig *cfg, const Template *tpl, int n_feat,
                const float *calib, int n_calib, Rng *r, Err *e) {
    memset(m, 0, sizeof *m);
    m->kind = k; m->cfg = *cfg; m->tpl = *tpl; m->n_feat = n_feat;
    if (!(m->cfg.gain > 0)) m->cfg.gain = 1.0f;
    if (cfg->width < 1 || (k == METHOD_GNN && cfg->rounds < 0) || (k == METHOD_GMLP && cfg->mixer < 1))
        return err_set(e, "%s: width %d, rounds %d, mixer %d are not a valid configuration",
                       NAMES[k], cfg->width, cfg->rounds, cfg->mixer);
    params_init(&m->ps);
    if (k == METHOD_GNN || k == METHOD_GMLP)
        if (ngraph_build(tpl, &m->ng, e)) return -1;
    int rc = 0;
    switch (k) {
    case METHOD_DIRECT: rc = direct_init(m, r); break;
    case METHOD_MLP: rc = mlp_init(m, r); break;
    case METHOD_GMLP: rc = gmlp_init(m, r); break;
    case METHOD_GNN: rc = gnn_init(m, r); break;
    default: rc = -1;
    }
    if (rc) { method_free(m); return err_set(e, "%s: could not build the model", NAMES[k]); }
    if (k != METHOD_DIRECT && calib && n_calib > 0) theta_head_calibrate(m, (ThetaHead *)m->impl, calib, n_calib);
    return 0;
}

void method_free(Method *m) {
    switch (m->kind) {
    case METHOD_DIRECT: direct_free(m); break;
    case METHOD_MLP: mlp_free(m); break;
    case METHOD_GMLP: gmlp_free(m); break;
    case METHOD_GNN: gnn_free(m); break;
    default: break;
    }
    if (m->kind == METHOD_GNN || m->kind == METHOD_GMLP) ngraph_free(&m->ng);
    params_free(&m->ps);
    m->impl = NULL;
}

Tensor *method_generate(Graph *g, Method *m, const float *feat, int B) {
    switch (m->kind) {
    case METHOD_MLP: return mlp_generate(g, m, feat, B);
    case METHOD_GMLP: return gmlp_generate(g, m, feat, B);
    case METHOD_GNN: return gnn_generate(g, m, feat, B);
    default: NP_ASSERT(0, "method_generate: %s generates no weights", NAMES[m->kind]);
    }
    return NULL;
}

Tensor *method_forward(Graph *g, Method *m, const Batch *b) {
    if (m->kind == METHOD_DIRECT) return direct_forward(g, m, b);
    Tensor *theta = method_generate(g, m, b->feat, b->B);
    const Template *t = &m->tpl;
    if (t->kind == TPL_MLP) {
        Tensor *x = tensor_wrap(g, (float *)b->x, NULL, SHAPE(b->B, b->N, t->widths[0]));
        return exec_mlp(g, t, theta, x);
    }
    return exec_transformer(g, t, theta, b->tok, b->B, b->N);
}

/* ---------------- group-tied layers ---------------- */
void tied_linear_add(ParamSet *ps, TiedLinear *l, const char *name, int G, int in, int out) {
    char nm[96];
    l->G = G; l->in = in; l->out = out;
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
    snprintf(nm, sizeof nm, "%s.0", name); tied_linear_add(ps, &m->l1, nm, G, in, hidden);
    snprintf(nm, sizeof nm, "%s.1", name); tied_linear_add(ps, &m->l2, nm, G, hidden, out);
}
void tied_mlp_init(ParamSet *ps, const TiedMLP *m, Rng *r) {
    tied_linear_init(ps, &m->l1, r, 1.0f);
    tied_linear_init(ps, &m->l2, r, 1.0f);
}
Tensor *tied_mlp(Graph *g, const ParamSet *ps, const TiedMLP *m, Tensor *x, const int *seg) {
    const TiedLinear *l1 = &m->l1;
    Tensor *z = op_segmm_bias_relu(g, x, params_tensor(g, ps, l1->w), params_tensor(g, ps, l1->b), seg, l1->G);
    return tied_linear(g, ps, &m->l2, z, seg);
}

int *rows_by_group(Graph *g, const int *slot_seg, int G, int n_slots, int B, int tie) {
    int *sg = arena_alloc(g->arena, (size_t)(G + 1) * sizeof(int));
    if (!tie) { sg[0] = 0; sg[1] = n_slots * B; }
    else for (int k = 0; k <= G; k++) sg[k] = slot_seg[k] * B;
    return sg;
}

const float *pe_select(Graph *g, const float *pe, long n, int mode) {
    if (mode == PE_OFF || pe_codes(mode) || !pe) return NULL;
    if (mode == PE_FULL) return pe;
    float *out = arena_calloc(g->arena, (size_t)(n > 0 ? n : 1) * NG_PE_DIM * sizeof(float));
    for (long i = 0; i < n; i++)
        for (int k = 0; k < NG_PE_DIM; k += NG_PE_AXIS) out[i * NG_PE_DIM + k] = pe[i * NG_PE_DIM + k];
    return out;
}

void slot_codes_add(ParamSet *ps, SlotCodes *c, const char *name, int G, const int *seg, const int *ix, int n, int d, int pe) {
    c->product = pe == PE_PRODUCT;
    int *size = xcalloc(2 * (G > 0 ? G : 1), sizeof *size), *base = xcalloc(2 * (G > 0 ? G : 1), sizeof *base), rows = 0;
    for (int k = 0; k < G; k++)
        for (int s = seg[k]; s < seg[k + 1]; s++)
            for (int a = 0; a < 2; a++) if (ix[2 * s + a] + 1 > size[2 * k + a]) size[2 * k + a] = ix[2 * s + a] + 1;
    for (int q = 0; q < 2 * G; q++) { base[q] = rows; rows += size[q]; }
    c->row = xmalloc((size_t)(n > 0 ? n : 1) * 2 * sizeof *c->row);
    for (int k = 0; k < G; k++)
        for (int s = seg[k]; s < seg[k + 1]; s++)
            for (int a = 0; a < 2; a++) c->row[2 * s + a] = base[2 * k + a] + ix[2 * s + a];
    char nm[96];
    snprintf(nm, sizeof nm, "%s.code", name);   /* not "*.weight": no weight decay, like an embedding */
    c->table = params_add(ps, nm, SHAPE(rows > 0 ? rows : 1, d));
    free(size); free(base);
}

/* two codes add (or multiply) up to a unit-variance pre-activation, like the encoder's other inputs */
void slot_codes_init(ParamSet *ps, const SlotCodes *c, Rng *r) {
    params_fill_normal(ps, c->table, r, c->product ? 1.0f : sqrtf(0.5f));
}

Tensor *slot_codes(Graph *g, const ParamSet *ps, const SlotCodes *c, int n, int d) {
    Tensor *both = op_reshape(g, op_gather(g, params_tensor(g, ps, c->table), c->row, 2 * n), SHAPE(n, 2, d));
    if (!c->product) return op_reshape(g, op_sum_axis(g, both, 1), SHAPE(n, d));
    Tensor *a = op_reshape(g, op_slice(g, both, 1, 0, 1), SHAPE(n, d)), *b = op_reshape(g, op_slice(g, both, 1, 1, 1), SHAPE(n, d));
    return op_mul(g, a, b);
}

Tensor *encoder_input(Graph *g, const float *feat, int B, int n_feat, const float *pe, int n_slots) {
    int F = n_feat + NG_PE_DIM;
    Tensor *x = tensor_new(g, SHAPE(n_slots * B, F));
    for (int s = 0; s < n_slots; s++)
        for (int b = 0; b < B; b++) {
            float *row = x->data + ((long)s * B + b) * F;
            memcpy(row, feat + (long)b * n_feat, n_feat * sizeof(float));
            if (pe) memcpy(row + n_feat, pe + (long)s * NG_PE_DIM, NG_PE_DIM * sizeof(float));
            else memset(row + n_feat, 0, NG_PE_DIM * sizeof(float));
        }
    return x;
}

/* ---------------- θ output head ---------------- */
void theta_head_add(ThetaHead *h, ParamSet *ps, const Template *t, int centred, int n_feat) {
    h->scale = params_add(ps, "head.scale", SHAPE(t->n_tensors, 1));
    h->centred = centred;
    if (centred) {   /* zero at init: the first θ is the centred, scaled raw output */
        h->mean_w = params_add(ps, "head.mean.w", SHAPE(t->n_tensors, n_feat));
        h->mean_b = params_add(ps, "head.mean.b", SHAPE(t->n_tensors, 1));
    }
    if (centred >= 2) {   /* ids: every row of every matrix, then one per vector; columns alike */
        h->row_of = xmalloc(t->n_theta * sizeof(int));
        h->col_of = xmalloc(t->n_theta * sizeof(int));
        h->n_rows = h->n_cols = 0;
        for (int k = 0; k < t->n_tensors; k++) {
            const TplTensor *tt = &t->tensors[k];
            int mat = tt->ndim == 2, C = mat ? tt->shape[1] : 1;
            for (long j = 0; j < tt->numel; j++) {
                h->row_of[tt->off + j] = h->n_rows + (mat ? (int)(j / C) : 0);
                h->col_of[tt->off + j] = h->n_cols + (mat ? (int)(j % C) : 0);
            }
            h->n_rows += mat ? tt->shape[0] : 1;
            h->n_cols += C;
        }
    }
    h->tensor_of = xmalloc(t->n_theta * sizeof(int));
    h->offset = xmalloc(t->n_theta * sizeof(float));
    h->lin_mask = NULL;
    if (centred == 3) {
        h->lin_mask = xmalloc(t->n_theta * sizeof(float));
        for (int k = 0; k < t->n_tensors; k++)
            for (long j = 0; j < t->tensors[k].numel; j++) h->lin_mask[t->tensors[k].off + j] = t->tensors[k].ndim == 2 ? 0.0f : 1.0f;
    }
    for (int k = 0; k < t->n_tensors; k++)
        for (long j = 0; j < t->tensors[k].numel; j++) {
            h->tensor_of[t->tensors[k].off + j] = k;
            h->offset[t->tensors[k].off + j] = t->tensors[k].init == TPL_INIT_GAIN ? 1.0f : 0.0f;
        }
}

void theta_head_free(ThetaHead *h) {
    free(h->tensor_of); free(h->offset); free(h->row_of); free(h->col_of); free(h->lin_mask);
    h->tensor_of = h->row_of = h->col_of = NULL; h->offset = h->lin_mask = NULL;
}

Tensor *theta_head(Graph *g, const ParamSet *ps, const ThetaHead *h, const Template *t, Tensor *raw,
                   const float *feat, int n_feat) {
    int n = (int)t->n_theta, B = raw->shape[0];
    Tensor *s = op_gather(g, params_tensor(g, ps, h->scale), h->tensor_of, n);   /* [n, 1] */
    Tensor *off = tensor_wrap(g, h->offset, NULL, SHAPE(1, n));
    if (!h->centred) return op_add(g, op_mul(g, raw, op_reshape(g, s, SHAPE(1, n))), off);
    Tensor *r = op_permute(g, raw, (int[]){1, 0});                                   /* [n, B] */
    Tensor *mu = op_segment_mean(g, r, h->tensor_of, t->n_tensors);                  /* [T, B] */
    Tensor *u = tensor_wrap(g, (float *)feat, NULL, SHAPE(B, n_feat));
    Tensor *lin = op_add(g, op_matmul(g, params_tensor(g, ps, h->mean_w), u, 0, 1),
                         params_tensor(g, ps, h->mean_b));                           /* [T, B] */
    Tensor *c = op_sub(g, r, op_gather(g, mu, h->tensor_of, n));
    if (h->centred >= 2) {   /* a vector's row and column are the whole vector: its mean is already 0 */
        c = op_sub(g, c, op_gather(g, op_segment_mean(g, c, h->row_of, h->n_rows), h->row_of, n));
        c = op_sub(g, c, op_gather(g, op_segment_mean(g, c, h->col_of, h->n_cols), h->col_of, n));
    }
    /* head 3: each tensor of each program at unit RMS, so that s_T alone sets its size: the
     * generator chooses directions, and no drift of its outputs can grow a weight matrix */
    Tensor *common = op_gather(g, lin, h->tensor_of, n);                            /* [n, B] */
    if (h->centred == 3) {
        c = op_segment_rmsnorm(g, c, h->tensor_of, t->n_tensors, 1e-4f);
        common = op_mul(g, common, tensor_wrap(g, h->lin_mask, NULL, SHAPE(n, 1)));
    }
    Tensor *th = op_add(g, op_mul(g, c, s), common);
    return op_add(g, op_permute(g, th, (int[]){1, 0}), off);
}

/* The spread a standard initialization gives each kind of tensor (the decoders start there). */
static float target_std(const TplTensor *tt) {
    switch (tt->init) {
    case TPL_INIT_WEIGHT: return 1.0f / sqrtf((float)tt->fan_in);
    case TPL_INIT_BIAS:   return 1.0f / sqrtf(3.0f * (float)tt->fan_in);
    case TPL_INIT_GAIN:   return 0.1f;   /* gains centred on 1 */
    default:              return 1.0f;   /* embeddings: N(0, 1) as torch.nn.Embedding */
    }
}

/* The centred head calibrates weight matrices and embeddings by their operator norm. */
static int by_operator_norm(const ThetaHead *h, const TplTensor *tt) {
    return h->centred && tt->ndim == 2 && (tt->init == TPL_INIT_WEIGHT || tt->init == TPL_INIT_EMBED);
}

/* The largest singular value of the R×C matrix v (power iteration from a fixed start). */
static double spectral_norm(const double *v, int R, int C) {
    double *x = xmalloc(C * sizeof *x), *y = xmalloc(R * sizeof *y), nx = 0;
    for (int j = 0; j < C; j++) x[j] = 1.0 + 0.01 * j;
    for (int it = 0; it < 100; it++) {
        for (int i = 0; i < R; i++) { y[i] = 0; for (int j = 0; j < C; j++) y[i] += v[(long)i * C + j] * x[j]; }
        nx = 0;
        for (int j = 0; j < C; j++) { x[j] = 0; for (int i = 0; i < R; i++) x[j] += v[(long)i * C + j] * y[i]; nx += x[j] * x[j]; }
        nx = sqrt(nx);
        if (nx < 1e-30) break;
        for (int j = 0; j < C; j++) x[j] /= nx;
    }
    free(x); free(y);
    return sqrt(nx);   /* ‖MᵀM x‖ → σ² for the unit top singular vector x */
}

void theta_head_calibrate(Method *m, ThetaHead *h, const float *calib, int n_calib) {
    const Template *t = &m->tpl;
    float *scale = params_data(&m->ps, h->scale);
    for (int k = 0; k < t->n_tensors; k++) scale[k] = 1.0f;
    double *s2 = xcalloc(t->n_tensors, sizeof(double)), *buf = xmalloc(t->n_theta * sizeof(double));
    Arena a; Graph g;
    arena_init(&a, 1 << 20);
    graph_init(&g, &a);
    g.no_grad = 1;
    for (int b = 0; b < n_calib; b++) {   /* one intent at a time: the memory of one forward pass */
        Tensor *theta = method_generate(&g, m, calib + (long)b * m->n_feat, 1);   /* scale 1: raw outputs */
        for (int k = 0; k < t->n_tensors; k++) {
            const TplTensor *tt = &t->tensors[k];
            double m1 = 0, m2 = 0, *v = buf + tt->off;
            for (long j = 0; j < tt->numel; j++) {
                v[j] = theta->data[tt->off + j] - h->offset[tt->off + j];
                m1 += v[j]; m2 += v[j] * v[j];
            }
            if (!h->centred) { s2[k] += m2; continue; }
            /* centred head: this intent's spread about its mean; for a matrix, its largest singular
             * value squared, which the calibration matches (below) */
            for (long j = 0; j < tt->numel; j++) v[j] -= m1 / tt->numel;
            if (by_operator_norm(h, tt)) {
                double sn = spectral_norm(v, tt->shape[0], tt->shape[1]);
                s2[k] += sn * sn;
            } else s2[k] += m2 - m1 * m1 / tt->numel;
        }
        graph_reset(&g);
    }
    for (int k = 0; k < t->n_tensors; k++) {
        const TplTensor *tt = &t->tensors[k];
        /* Plain head: the root mean square, not the std: outputs that agree across slots (a large
         * common mean) must come out small too, or the first θ would be far from a standard init.
         * Operator norm: generated matrices are far from random (low rank, correlated rows), so
         * matching the entry spread left the first program's activations growing ~√width per
         * layer (initial ADDMOD loss 150-400); a standard init's norm is about std·(√rows + √cols). */
        int op = by_operator_norm(h, tt);
        double ms = s2[k] / (op ? (double)n_calib : (double)tt->numel * n_calib), want = target_std(tt);
        if (op) want *= sqrt((double)tt->shape[0]) + sqrt((double)tt->shape[1]);
        scale[k] = (float)(m->cfg.gain * want / sqrt(ms > 1e-8 ? ms : 1e-8));
    }
    free(s2); free(buf);
    graph_free(&g);
    arena_free(&a);
}
