/* What the four methods share: names, dispatch (init, generate, forward, free). The group-tied
 * layers are in tied.c, the θ output head in head.c. */
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
        if (!strcasecmp(name, IDS[i]) || !strcasecmp(name, NAMES[i])) {
            *k = (MethodKind)i;
            return 0;
        }
    return err_set(e, "unknown method '%s' (valid: direct, mlp, gmlp, gnn)", name);
}

int method_init(Method *m, MethodKind k, const MetaConfig *cfg, const Template *tpl, int n_feat, const float *calib,
                int n_calib, Rng *r, Err *e) {
    memset(m, 0, sizeof *m);
    m->kind = k;
    m->cfg = *cfg;
    m->tpl = *tpl;
    m->n_feat = n_feat;
    if (!(m->cfg.gain > 0)) m->cfg.gain = 1.0f;
    if (cfg->width < 1 || (k == METHOD_GNN && cfg->rounds < 0) || (k == METHOD_GMLP && cfg->mixer < 1))
        return err_set(e, "%s: width %d, rounds %d, mixer %d are not a valid configuration", NAMES[k], cfg->width,
                       cfg->rounds, cfg->mixer);
    params_init(&m->ps);
    int with_pe = k == METHOD_GMLP || pe_reads_encodings(cfg->pe); /* Meta-gMLP copies them whatever its pe */
    if (k == METHOD_GNN || k == METHOD_GMLP)
        if (ngraph_build(tpl, &m->ng, with_pe, e)) return -1;
    if (cfg->demo_len > 0 && k == METHOD_DIRECT) { /* in context: the examples' cells come first */
        m->cfg.itok_len = cfg->demo_pairs * cfg->demo_len;
        m->cfg.itok_vocab = DEMO_VOCAB;
    } else if (cfg->demo_len > 0) { /* declared first: the methods finalize the parameter set */
        m->demo = xcalloc(1, sizeof *m->demo);
        if (demo_encoder_add(m->demo, &m->ps, cfg->demo_len, tpl->window, cfg->demo_pairs, n_feat, e)) {
            method_free(m);
            return -1;
        }
    }
    int rc = 0;
    switch (k) {
    case METHOD_DIRECT: rc = direct_init(m, r); break;
    case METHOD_MLP: rc = mlp_init(m, r); break;
    case METHOD_GMLP: rc = gmlp_init(m, r); break;
    case METHOD_GNN: rc = gnn_init(m, r); break;
    default: rc = -1;
    }
    if (rc) {
        method_free(m);
        return err_set(e, "%s: could not build the model", NAMES[k]);
    }
    if (m->demo) demo_encoder_init(m->demo, &m->ps, r); /* drawn after φ: an intent method's φ is unchanged */
    if (k != METHOD_DIRECT && calib && n_calib > 0) theta_head_calibrate(m, (ThetaHead *)m->impl, calib, n_calib);
    return 0;
}

void method_calibrate(Method *m, const float *calib, int n) {
    NP_ASSERT(m->kind != METHOD_DIRECT, "direct generates no weights to calibrate");
    theta_head_calibrate(m, (ThetaHead *)m->impl, calib, n);
}

Tensor *method_encode_demo(Graph *g, Method *m, const int *demo, int B) {
    NP_ASSERT(m->demo && demo, "method_encode_demo: a demonstration method and its examples");
    return demo_encode(g, &m->ps, m->demo, demo, B);
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
    free(m->demo);
    m->demo = NULL;
    params_free(&m->ps);
    m->impl = NULL;
}

Tensor *method_generate(Graph *g, Method *m, Tensor *u) {
    NP_ASSERT(u->ndim == 2 && u->shape[1] == m->n_feat, "method_generate: U must be [B, %d]", m->n_feat);
    switch (m->kind) {
    case METHOD_MLP: return mlp_generate(g, m, u);
    case METHOD_GMLP: return gmlp_generate(g, m, u);
    case METHOD_GNN: return gnn_generate(g, m, u);
    default: NP_ASSERT(0, "method_generate: %s generates no weights", NAMES[m->kind]);
    }
    return NULL;
}

Tensor *method_forward(Graph *g, Method *m, const Batch *b) { return method_forward_theta(g, m, b, NULL); }
Tensor *method_forward_theta(Graph *g, Method *m, const Batch *b, Tensor **theta_out) {
    if (theta_out) *theta_out = NULL;
    if (m->kind == METHOD_DIRECT) return direct_forward(g, m, b);
    Tensor *u = m->demo ? method_encode_demo(g, m, b->demo, b->B)
                        : tensor_wrap(g, (float *)b->feat, NULL, SHAPE(b->B, m->n_feat));
    Tensor *theta = method_generate(g, m, u);
    if (theta_out) *theta_out = theta;
    const Template *t = &m->tpl;
    if (t->kind == TPL_MLP) {
        Tensor *x = tensor_wrap(g, (float *)b->x, NULL, SHAPE(b->B, b->N, t->widths[0]));
        return exec_mlp(g, t, theta, x);
    }
    return exec_transformer(g, t, theta, b->tok, b->B, b->N);
}
