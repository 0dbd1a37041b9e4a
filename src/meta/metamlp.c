/* Meta-MLP: the classic hypernetwork, an MLP from the intent features to the flat θ.
 *   θ = s_T · (W₃ relu(W₂ relu(W₁ U + b₁) + b₂) + b₃)   (+1 for LayerNorm gains) */
#include "meta/meta_internal.h"
#include <math.h>

typedef struct MMLP {
    ThetaHead head;
    int w[3], b[3];
} MMLP;

int mlp_init(Method *m, Rng *r) {
    int h = m->cfg.width, dims[4] = {m->n_feat, h, h, (int)m->tpl.n_theta};
    MMLP *n = xcalloc(1, sizeof *n);
    m->impl = n;
    ParamSet *ps = &m->ps;
    for (int l = 0; l < 3; l++) {
        char nm[32];
        snprintf(nm, sizeof nm, "mlp.%d.weight", l);
        n->w[l] = params_add(ps, nm, SHAPE(dims[l], dims[l + 1]));
        snprintf(nm, sizeof nm, "mlp.%d.bias", l);
        n->b[l] = params_add(ps, nm, SHAPE(dims[l + 1]));
    }
    theta_head_add(&n->head, ps, &m->tpl, m->cfg.head, m->cfg.base, m->n_feat);
    params_finalize(ps);
    for (int l = 0; l < 3; l++) params_fill_normal(ps, n->w[l], r, 1.0f / sqrtf((float)dims[l]));
    params_fill(ps, n->head.scale, 1.0f);
    return 0;
}

void mlp_free(Method *m) {
    MMLP *n = m->impl;
    if (!n) return;
    theta_head_free(&n->head);
    free(n);
}

Tensor *mlp_generate(Graph *g, Method *m, Tensor *u) {
    MMLP *n = m->impl;
    const ParamSet *ps = &m->ps;
    Tensor *h = u;
    for (int l = 0; l < 3; l++) {
        h = op_add(g, op_matmul(g, h, params_tensor(g, ps, n->w[l]), 0, 0), params_tensor(g, ps, n->b[l]));
        if (l < 2) h = op_relu(g, h);
    }
    return theta_head(g, ps, &n->head, &m->tpl, h, u);
}
