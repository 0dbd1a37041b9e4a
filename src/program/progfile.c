/* Program files: θ split into the template's named tensors, written and read with safetensors. */
#include "program/progfile.h"
#include "io/safetensors.h"
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

int program_save(const char *path, const Template *t, const float *theta, const char *intent, Err *e) {
    for (long k = 0; k < t->n_theta; k++)
        if (!isfinite(theta[k]))
            return err_set(e, "%s: not written: weight %ld of the program is %s", path, k,
                           isnan(theta[k]) ? "NaN" : "Inf");
    StTensor *ts = xcalloc(t->n_tensors, sizeof *ts);
    for (int i = 0; i < t->n_tensors; i++) {
        const TplTensor *tt = &t->tensors[i];
        ts[i].name = tt->name;
        ts[i].ndim = tt->ndim;
        for (int k = 0; k < tt->ndim; k++) ts[i].shape[k] = tt->shape[k];
        ts[i].data = (float *)theta + tt->off; /* st_write only reads */
    }
    char text[TPL_TEXT_MAX];
    template_format(t, text, sizeof text);
    StMeta meta[] = {{"format", PROGRAM_FORMAT}, {"template", text}, {"intent", intent ? intent : ""}};
    int rc = st_write(path, ts, t->n_tensors, meta, 3, e);
    free(ts);
    return rc;
}

static void fmt_shape(char *buf, size_t len, int ndim, const int64_t *shape) {
    size_t n = snprintf(buf, len, "[");
    for (int k = 0; k < ndim && n < len; k++)
        n += snprintf(buf + n, len - n, "%s%lld", k ? ", " : "", (long long)shape[k]);
    if (n < len) snprintf(buf + n, len - n, "]");
}

/* Every template tensor present with its shape, and nothing else in the file. */
static int check_tensors(const char *path, const StFile *f, const Template *t, Err *e) {
    char want[64], got[64];
    for (int i = 0; i < t->n_tensors; i++) {
        const TplTensor *tt = &t->tensors[i];
        int64_t shp[2] = {tt->shape[0], tt->shape[1]};
        fmt_shape(want, sizeof want, tt->ndim, shp);
        const StTensor *s = st_find(f, tt->name);
        if (!s) return err_set(e, "%s: tensor '%s' is missing (the template wants %s)", path, tt->name, want);
        int same = s->ndim == tt->ndim;
        for (int k = 0; same && k < tt->ndim; k++) same = s->shape[k] == tt->shape[k];
        fmt_shape(got, sizeof got, s->ndim, s->shape);
        if (!same) return err_set(e, "%s: tensor '%s' has shape %s, the template wants %s", path, tt->name, got, want);
    }
    for (int i = 0; i < st_count(f); i++)
        if (template_find(t, st_at(f, i)->name) < 0)
            return err_set(e, "%s: unexpected tensor '%s' (not part of the template)", path, st_at(f, i)->name);
    /* a NaN or Inf weight makes every output it reaches NaN (or, through ReLU, silently 0) */
    for (int i = 0; i < st_count(f); i++) {
        const StTensor *s = st_at(f, i);
        for (int64_t k = 0; k < st_numel(s); k++)
            if (!isfinite(s->data[k]))
                return err_set(
                    e, "%s: tensor '%s' holds %s at index %" PRId64 "; a program's weights must be finite numbers",
                    path, s->name, isnan(s->data[k]) ? "NaN" : "Inf", k);
    }
    return 0;
}

static int read_template(const char *path, const StFile *f, Template *t, Err *e) {
    const char *fmt = st_meta(f, "format"), *text = st_meta(f, "template");
    if (!fmt || strcmp(fmt, PROGRAM_FORMAT))
        return err_set(e, "%s: not a neurop program (metadata format is '%s', want '%s')", path, fmt ? fmt : "(none)",
                       PROGRAM_FORMAT);
    if (!text) return err_set(e, "%s: no template in the metadata", path);
    Err te;
    if (template_parse(text, t, &te)) return err_set(e, "%s: bad template metadata: %s", path, te.msg);
    return 0;
}

int program_load(const char *path, Program *p, Err *e) {
    memset(p, 0, sizeof *p);
    StFile *f = st_read(path, e);
    if (!f) return -1;
    if (read_template(path, f, &p->t, e) || check_tensors(path, f, &p->t, e)) {
        st_free(f);
        return -1;
    }
    p->theta = xmalloc((size_t)p->t.n_theta * sizeof *p->theta);
    for (int i = 0; i < p->t.n_tensors; i++) {
        const TplTensor *tt = &p->t.tensors[i];
        memcpy(p->theta + tt->off, st_find(f, tt->name)->data, tt->numel * sizeof *p->theta);
    }
    const char *intent = st_meta(f, "intent");
    p->intent = strdup(intent ? intent : "");
    st_free(f);
    return 0;
}

void program_free(Program *p) {
    free(p->theta);
    free(p->intent);
    memset(p, 0, sizeof *p);
}
