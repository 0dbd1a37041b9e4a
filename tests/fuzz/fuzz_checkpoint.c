/* run_open on an arbitrary last.safetensors: refused with a one-line message naming the file, or
 * a run whose step, AdamW step and data RNG are in range. A config asking for a large model is
 * skipped: it would be allocated before its tensors are compared (docs/bad-inputs.md), which is
 * the work it asks for, not a parser fault. */
#include "fuzz.h"
#include "io/safetensors.h"
#include "train/train.h"
#include <sys/stat.h>

static const char *folder(void) {
    static char dir[128];
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "/tmp/neurop-fuzz-ckpt-%ld", (long)getpid());
        mkdir(dir, 0755);
    }
    return dir;
}

static int small_model(const char *path) {
    Err e;
    StFile *f = st_read(path, &e);
    if (!f) return 1; /* refused by st_read: run_open refuses it too */
    const char *text = st_meta(f, "config");
    TrainConfig c;
    Template t;
    int small = 1;
    if (text && !config_defaults("sumfirst", METHOD_GNN, &c, &e) && !config_parse(text, &c, &e))
        small = c.meta.width <= 64 && c.meta.rounds <= 4 && c.meta.mixer <= 256 &&
                (template_parse(c.tpl, &t, &e) || t.n_theta <= 100000);
    st_free(f);
    return small;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char path[200];
    snprintf(path, sizeof path, "%s/last.safetensors", folder());
    FILE *f = fopen(path, "wb");
    if (!f) abort();
    if (size && fwrite(data, 1, size, f) != size) abort();
    fclose(f);
    if (!small_model(path)) return 0;
    Run r;
    Err e = {{0}};
    if (run_open(&r, folder(), "last", &e)) {
        fuzz_check_message(e.msg);
        if (!strstr(e.msg, "last.safetensors")) abort();
        run_free(&r);
        return 0;
    }
    if (r.step < 0 || r.step > r.cfg.steps || r.opt.t < 0 || r.best_step > r.step) abort();
    if (!(r.data_rng.s[0] | r.data_rng.s[1] | r.data_rng.s[2] | r.data_rng.s[3])) abort();
    run_free(&r);
    return 0;
}
