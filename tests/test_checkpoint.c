/* A checkpoint is loaded only if it is exactly what the model and the trainer wrote: each
 * damaged copy of a real checkpoint below is refused with a message naming what is wrong
 * (not loaded into a run that then trains on constant data or transposed weights):
 * - data_rng that is not 64 hex digits, or all zero;
 * - a tensor with the right element count but another shape (transposed);
 * - a config without one of its keys, or with a key twice (no filling in from defaults; only a key
 *   added later, beta2, means the value older runs used);
 * - a config whose template would need gigabytes: refused before anything is allocated;
 * - another format version; step, adam_t or best_val out of range or not numbers. */
#include "test.h"
#include "io/fileio.h"
#include "io/safetensors.h"
#include "train/train.h"
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* A copy of src at dst with metadata key set to value (NULL: dropped), and with the first 2-D
 * non-square tensor's shape swapped when transpose. */
static int rewrite(const char *src, const char *dst, const char *key, const char *value, int transpose, Err *e) {
    StFile *f = st_read(src, e);
    if (!f) return -1;
    int nt = st_count(f), nm = st_meta_count(f), k = 0, done = 0;
    StTensor *ts = xcalloc(nt, sizeof *ts);
    StMeta *meta = xcalloc(nm + 1, sizeof *meta);
    for (int i = 0; i < nt; i++) {
        ts[i] = *st_at(f, i);
        if (transpose && !done && ts[i].ndim == 2 && ts[i].shape[0] != ts[i].shape[1]) {
            int64_t a = ts[i].shape[0];
            ts[i].shape[0] = ts[i].shape[1];
            ts[i].shape[1] = a;
            done = 1;
        }
    }
    for (int i = 0; i < nm; i++) {
        meta[k] = *st_meta_at(f, i);
        if (key && !strcmp(meta[k].key, key)) {
            if (!value) continue;
            meta[k].value = value;
        }
        k++;
    }
    int rc = st_write(dst, ts, nt, meta, k, e);
    free(ts);
    free(meta);
    st_free(f);
    return rc;
}

/* The config text of the checkpoint at path with `from` replaced by `to` (first occurrence). */
/* c with its first `from` replaced by `to` (malloc'd), or NULL when c lacks it */
static char *config_edit_text(const char *c, const char *from, const char *to) {
    const char *at = c ? strstr(c, from) : NULL;
    char *out = NULL;
    if (at) {
        out = xmalloc(strlen(c) + strlen(to) + 1);
        sprintf(out, "%.*s%s%s", (int)(at - c), c, to, at + strlen(from));
    }
    return out;
}
static char *config_edit(const char *path, const char *from, const char *to) {
    Err e;
    StFile *f = st_read(path, &e);
    if (!f) return NULL;
    char *out = config_edit_text(st_meta(f, "config"), from, to);
    st_free(f);
    return out;
}

TEST(checkpoint_damaged_copies_refused) {
    char dir[128], bad[128];
    snprintf(dir, sizeof dir, "/tmp/neurop-test-ckpt-XXXXXX");
    snprintf(bad, sizeof bad, "/tmp/neurop-test-ckptbad-XXXXXX");
    if (!mkdtemp(dir) || !mkdtemp(bad)) {
        CHECK(0, "mkdtemp");
        return;
    }
    TrainConfig c;
    Err e = {{0}};
    CHECK(!config_defaults("sumfirst", METHOD_GNN, &c, &e), "%s", e.msg);
    c.meta.width = 8;
    c.meta.rounds = 1;
    c.B = 2;
    c.N = 8;
    c.eval_n = 16;
    CHECK(!config_set(&c, "beta2=0.98", &e) && !config_set(&c, "theta_l2=0.5", &e), "%s", e.msg);
    CHECK(config_set(&c, "beta2=1", &e) == -1 && strstr(e.msg, "beta2=1: want a number in [0, 0.99999]"),
          "beta2=1: '%s'", e.msg);
    config_set_steps(&c, 2, 2);
    Run r;
    TrainOptions o = {.dir = dir};
    CHECK(!run_init(&r, &c, &e) && run_train(&r, &o, &e) == 0, "training: %s", e.msg);
    run_free(&r);
    char *src = path_join(dir, "last.safetensors"), *dst = path_join(bad, "last.safetensors");
    char *no_head = config_edit(src, " head=1", ""), *twice = config_edit(src, " head=", " width=8 head="),
         *huge = config_edit(src, "mlp 10-16-1", "mlp 10-40000-40000-1");
    CHECK(no_head && twice && huge, "config edits");
    const struct {
        const char *key, *value;
        int transpose;
        const char *want;
    } cases[] = {
        {"data_rng", "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz", 0, "data_rng"},
        {"data_rng", "0000000000000000000000000000000000000000000000000000000000000000", 0, "all zero"},
        {"data_rng", "1234", 0, "64 hex digits"},
        {NULL, NULL, 1, "has shape ["},
        {"config", no_head, 0, "'head=' is missing"},
        {"config", twice, 0, "'width' given twice"},
        {"config", huge, 0, "weights, more than"},
        {"format", "neurop-checkpoint-9", 0, "this build reads neurop-checkpoint-1"},
        {"step", "99", 0, "'step'"},
        {"step", "1x", 0, "'step'"},
        {"adam_t", "-1", 0, "'adam_t'"},
        {"best_val", "nan", 0, "'best_val'"},
        {"best_step", NULL, 0, "no 'best_step'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        if (cases[i].key && !cases[i].value && strcmp(cases[i].key, "best_step")) continue;
        if (rewrite(src, dst, cases[i].key, cases[i].value, cases[i].transpose, &e)) {
            CHECK(0, "rewrite %zu: %s", i, e.msg);
            continue;
        }
        Run k;
        memset(&k, 0xa5, sizeof k); /* garbage, as on a caller's stack: a failed run_open must leave it safe to free */
        Err le = {{0}};
        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        int rc = run_open(&k, bad, "last", &le);
        clock_gettime(CLOCK_MONOTONIC, &b);
        run_free(&k);
        CHECK(rc == -1 && strstr(le.msg, cases[i].want) && strstr(le.msg, bad),
              "case %zu (%s): rc %d, message '%s', want '%s'", i, cases[i].key ? cases[i].key : "transposed", rc,
              le.msg, cases[i].want);
        CHECK((b.tv_sec - a.tv_sec) + 1e-9 * (b.tv_nsec - a.tv_nsec) < 1.0, "case %zu took more than a second", i);
        /* the same damage refuses a resume too, and the folder's files stay as they were */
        if (i == 0) {
            TrainOptions ro = {.dir = bad, .resume = 1, .steps = 4};
            Run rr;
            memset(&rr, 0, sizeof rr);
            CHECK(run_train(&rr, &ro, &le) == -1 && strstr(le.msg, "data_rng"), "resume from a bad data_rng: %s",
                  le.msg);
            run_free(&rr);
        }
    }
    /* the undamaged copy loads, and says where it was made (bit-identity holds per machine) */
    CHECK(!rewrite(src, dst, NULL, NULL, 0, &e), "%s", e.msg);
    Run k;
    CHECK(!run_open(&k, bad, "last", &e), "the undamaged copy: %s", e.msg);
    CHECK(strstr(k.machine, "cpu=") && strstr(k.machine, "blas=") && strstr(k.machine, "(kernel ") &&
              strstr(k.machine, "threads="),
          "machine: '%s'", k.machine);
    CHECK(k.cfg.beta2 == 0.98f && k.opt.beta2 == 0.98f, "beta2 %g, optimizer %g, want the run's 0.98", k.cfg.beta2,
          k.opt.beta2);
    CHECK(k.cfg.theta_l2 == 0.5f, "theta_l2 %g, want the run's 0.5", k.cfg.theta_l2);
    run_free(&k);
    /* a checkpoint written before beta2, gain and theta_l2 were settings (no keys) means what those
     * runs used: 0.999, 1 and 0 */
    char *old1 = config_edit(src, " beta2=0.980000019", "");
    CHECK(old1, "config edit");
    if (!old1) return;
    char *old = config_edit_text(old1, " theta_l2=0.5", "");
    free(old1);
    CHECK(old && !rewrite(src, dst, "config", old, 0, &e), "%s", e.msg);
    CHECK(!run_open(&k, bad, "last", &e), "a config without beta2: %s", e.msg);
    CHECK(k.cfg.beta2 == 0.999f && k.opt.beta2 == 0.999f && k.cfg.meta.gain == 1.0f && k.cfg.theta_l2 == 0.0f,
          "old config: beta2 %g, optimizer %g, gain %g, theta_l2 %g, want 0.999, 1 and 0", k.cfg.beta2, k.opt.beta2,
          k.cfg.meta.gain, k.cfg.theta_l2);
    run_free(&k);
    free(old);
    free(no_head);
    free(twice);
    free(huge);
    free(src);
    free(dst);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s'", dir, bad);
    if (system(cmd)) {}
}
