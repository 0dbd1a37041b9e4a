#include "engine/params.h"
#include <string.h>

void params_init(ParamSet *ps) { memset(ps, 0, sizeof *ps); }

int params_add(ParamSet *ps, const char *name, int ndim, const int *shape) {
    NP_ASSERT(!ps->finalized, "params_add(%s) after params_finalize", name);
    NP_ASSERT(ndim >= 1 && ndim <= NT_MAXDIM, "params_add(%s): ndim %d", name, ndim);
    NP_ASSERT(strlen(name) < sizeof ps->views[0].name, "parameter name too long: %s", name);
    NP_ASSERT(params_find(ps, name) < 0, "duplicate parameter name %s", name);
    if (ps->count == ps->cap) {
        ps->cap = ps->cap ? 2 * ps->cap : 16;
        ps->views = xrealloc(ps->views, ps->cap * sizeof *ps->views);
    }
    ParamView *v = &ps->views[ps->count];
    memset(v, 0, sizeof *v);
    strcpy(v->name, name);
    v->ndim = ndim;
    memcpy(v->shape, shape, ndim * sizeof(int));
    v->numel = shape_numel(ndim, shape);
    v->off = ps->n;
    size_t nl = strlen(name);
    v->decay = nl >= 7 && !strcmp(name + nl - 7, ".weight");
    ps->n += v->numel;
    return ps->count++;
}

void params_finalize(ParamSet *ps) {
    /* written whole by every run (initialized or loaded): huge pages (err.h); the optimizer's
     * buffers stay lazily zeroed, untouched when a run is opened only to synthesize */
    ps->data = xhuge_alloc(ps->n * sizeof(float));
    memset(ps->data, 0, ps->n * sizeof(float));
    ps->grad = xcalloc(ps->n, sizeof(float));
    ps->m = xcalloc(ps->n, sizeof(float));
    ps->v = xcalloc(ps->n, sizeof(float));
    ps->finalized = 1;
}

void params_free(ParamSet *ps) {
    free(ps->data);
    free(ps->grad);
    free(ps->m);
    free(ps->v);
    free(ps->views);
    memset(ps, 0, sizeof *ps);
}

int params_find(const ParamSet *ps, const char *name) {
    for (int i = 0; i < ps->count; i++)
        if (!strcmp(ps->views[i].name, name)) return i;
    return -1;
}

float *params_data(const ParamSet *ps, int i) { return ps->data + ps->views[i].off; }

Tensor *params_tensor(Graph *g, const ParamSet *ps, int i) {
    const ParamView *v = &ps->views[i];
    return tensor_wrap(g, ps->data + v->off, g->no_grad ? NULL : ps->grad + v->off, v->ndim, v->shape);
}

void params_zero_grad(ParamSet *ps) { memset(ps->grad, 0, ps->n * sizeof(float)); }

void params_fill_normal(ParamSet *ps, int i, Rng *r, float std) {
    if (!r) return; /* a checkpoint fills them (method_init) */
    float *d = params_data(ps, i);
    for (long k = 0; k < ps->views[i].numel; k++) d[k] = std * rng_normal(r);
}

void params_fill(ParamSet *ps, int i, float value) {
    float *d = params_data(ps, i);
    for (long k = 0; k < ps->views[i].numel; k++) d[k] = value;
}
