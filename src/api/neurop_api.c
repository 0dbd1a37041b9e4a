/* The shared library's API (neurop_api.h): a thin, non-aborting wrapper over run_open and
 * run_synth. Every argument a caller controls is checked here, before the library sees it. */
#include "api/neurop_api.h"
#include "train/train.h"
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

struct NeuropRun {
    Run run;
    char tpl[TPL_TEXT_MAX];
};

static int fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...) {
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

int neurop_api_version(void) { return NEUROP_API_VERSION; }

NeuropRun *neurop_open(const char *run_dir, const char *which, char *err, size_t errlen) {
    if (!run_dir) {
        fail(err, errlen, "neurop_open: no run folder given");
        return NULL;
    }
    if (!which) which = "best";
    if (strcmp(which, "best") && strcmp(which, "last")) {
        fail(err, errlen, "neurop_open: which is 'best' or 'last', not '%s'", which);
        return NULL;
    }
    NeuropRun *r = xcalloc(1, sizeof *r);
    Err e = {{0}};
    if (run_open(&r->run, run_dir, which, &e)) {
        fail(err, errlen, "%s", e.msg);
        free(r);
        return NULL;
    }
    template_format(&r->run.tpl, r->tpl, sizeof r->tpl);
    if (err && errlen) err[0] = 0;
    return r;
}

void neurop_close(NeuropRun *r) {
    if (!r) return;
    run_free(&r->run);
    free(r);
}

const char *neurop_template(const NeuropRun *r) { return r->tpl; }
const char *neurop_task(const NeuropRun *r) { return task_label(&r->run.task); }
const char *neurop_method(const NeuropRun *r) { return method_id(r->run.cfg.method); }
long neurop_n_theta(const NeuropRun *r) { return r->run.tpl.n_theta; }
int neurop_n_tensors(const NeuropRun *r) { return r->run.tpl.n_tensors; }

const char *neurop_tensor_name(const NeuropRun *r, int i) {
    return i >= 0 && i < r->run.tpl.n_tensors ? r->run.tpl.tensors[i].name : NULL;
}

int neurop_tensor_shape(const NeuropRun *r, int i, long shape[2], long *offset) {
    if (i < 0 || i >= r->run.tpl.n_tensors) return -1;
    const TplTensor *t = &r->run.tpl.tensors[i];
    shape[0] = t->shape[0];
    shape[1] = t->ndim == 2 ? t->shape[1] : 1;
    if (offset) *offset = t->off;
    return t->ndim;
}

int neurop_synth(NeuropRun *r, const char *intent, float *theta, long n, char *canon, size_t canonlen, int *is_ood,
                 char *err, size_t errlen) {
    Run *run = &r->run;
    if (run->cfg.method == METHOD_DIRECT)
        return fail(err, errlen, "this run is the direct baseline, which generates no weights");
    if (!intent || !theta) return fail(err, errlen, "neurop_synth: intent and theta must not be NULL");
    if (run->task.demo_pairs)
        return fail(err, errlen, "an %s run makes a program from a task's examples, not from an intent (neurop solve)",
                    run->task.name);
    if (n != run->tpl.n_theta)
        return fail(err, errlen, "neurop_synth: theta holds %ld floats, the template has %ld", n, run->tpl.n_theta);
    Intent u;
    Err e = {{0}};
    if (task_intent_parse(&run->task, intent, &u, &e)) return fail(err, errlen, "%s", e.msg);
    run_synth(run, u, theta);
    if (canon && canonlen) task_intent_format(&run->task, u, canon, canonlen);
    if (is_ood) *is_ood = task_is_ood(&run->task, u);
    if (err && errlen) err[0] = 0;
    return 0;
}
