/* Program files: save/load round trip, and files whose tensors or metadata do not match a
 * template refused with a message naming what is wrong. */
#include "test.h"
#include "io/safetensors.h"
#include "program/progfile.h"
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TF_TEXT "transformer vocab=6 len=3 d=4 heads=2 mlp=5 classes=3 layers=1 prenorm=1 readout=last act=relu"

static void tmp_path(char *buf, size_t n, const char *tag) {
    snprintf(buf, n, "/tmp/neurop_test_prog_%ld_%s.safetensors", (long)getpid(), tag);
}

TEST(program_file_roundtrip) {
    const char *texts[] = {"mlp 10-16-1 act=relu", TF_TEXT};
    for (int k = 0; k < 2; k++) {
        Template t;
        Err e = {{0}};
        CHECK(template_parse(texts[k], &t, &e) == 0, "%s", e.msg);
        float *th = xmalloc(t.n_theta * sizeof *th);
        Rng r;
        rng_seed(&r, 9);
        for (long i = 0; i < t.n_theta; i++) th[i] = rng_normal(&r);
        char path[256];
        tmp_path(path, sizeof path, "rt");
        CHECK(program_save(path, &t, th, "addmod p=83 \"quoted\"", &e) == 0, "save: %s", e.msg);
        Program p;
        CHECK(program_load(path, &p, &e) == 0, "load: %s", e.msg);
        if (p.theta) {
            char a[TPL_TEXT_MAX], b[TPL_TEXT_MAX];
            template_format(&t, a, sizeof a);
            template_format(&p.t, b, sizeof b);
            CHECK(!strcmp(a, b), "template %s vs %s", a, b);
            CHECK(p.t.n_theta == t.n_theta && !memcmp(p.theta, th, t.n_theta * sizeof *th),
                  "θ differs after the round trip");
            CHECK(!strcmp(p.intent, "addmod p=83 \"quoted\""), "intent '%s'", p.intent);
            /* standard safetensors: every tensor readable by name with its PyTorch shape */
            StFile *f = st_read(path, &e);
            const StTensor *w = f ? st_find(f, "layers.0.weight") : NULL;
            CHECK(k == 1 || (w && w->ndim == 2 && w->shape[0] == 16 && w->shape[1] == 10), "layers.0.weight [16, 10]");
            st_free(f);
        }
        program_free(&p);
        unlink(path);
        free(th);
    }
}

/* Writes the tensors of TF_TEXT, minus `drop`, with `reshape` given shape [2, 2], plus `extra`,
 * and metadata (fmt, tpl), then expects program_load to fail with `msg` in its message. */
static void expect_reject(TestCtx *t_, const char *drop, const char *reshape, const char *extra, const char *fmt,
                          const char *tpl, const char *msg) {
    Template t;
    Err e = {{0}};
    template_parse(TF_TEXT, &t, &e);
    float *th = xcalloc(t.n_theta, sizeof *th);
    StTensor ts[TPL_MAX_TENSORS + 1];
    int n = 0;
    for (int i = 0; i < t.n_tensors; i++) {
        const TplTensor *tt = &t.tensors[i];
        if (drop && !strcmp(drop, tt->name)) continue;
        StTensor s = {.name = tt->name, .ndim = tt->ndim, .shape = {tt->shape[0], tt->shape[1]}, .data = th + tt->off};
        if (reshape && !strcmp(reshape, tt->name)) {
            s.ndim = 2;
            s.shape[0] = 2;
            s.shape[1] = 2;
        }
        ts[n++] = s;
    }
    if (extra) ts[n++] = (StTensor){.name = extra, .ndim = 1, .shape = {3}, .data = th};
    StMeta meta[2] = {{"format", fmt}, {"template", tpl}};
    char path[256];
    tmp_path(path, sizeof path, "bad");
    CHECK(st_write(path, ts, n, meta, tpl ? 2 : 1, &e) == 0, "st_write: %s", e.msg);
    Program p;
    e.msg[0] = 0;
    CHECK(program_load(path, &p, &e) == -1, "accepted a file that should fail with '%s'", msg);
    CHECK(strstr(e.msg, msg) != NULL, "message '%s' lacks '%s'", e.msg, msg);
    CHECK(p.theta == NULL, "failed load left memory behind");
    unlink(path);
    free(th);
}

TEST(program_file_rejects_mismatches) {
    const char *F = PROGRAM_FORMAT;
    expect_reject(t_, "layers.0.attn.k.bias", NULL, NULL, F, TF_TEXT,
                  "tensor 'layers.0.attn.k.bias' is missing (the template wants [4])");
    expect_reject(t_, NULL, "embed.weight", NULL, F, TF_TEXT,
                  "tensor 'embed.weight' has shape [2, 2], the template wants [6, 4]");
    expect_reject(t_, NULL, NULL, "layers.1.attn.q.bias", F, TF_TEXT, "unexpected tensor 'layers.1.attn.q.bias'");
    expect_reject(t_, NULL, NULL, NULL, F, "transformer vocab=6 len=3 d=4 heads=3 mlp=5 classes=3",
                  "bad template metadata: template: heads=3 does not divide d=4");
    expect_reject(t_, NULL, NULL, NULL, F, NULL, "no template in the metadata");
    expect_reject(t_, NULL, NULL, NULL, "something-else", TF_TEXT, "not a neurop program");
    /* a template that declares more than the file has: the first missing tensor is named */
    expect_reject(t_, NULL, NULL, NULL, F, "transformer vocab=6 len=3 d=4 heads=2 mlp=5 classes=3 layers=2",
                  "tensor 'layers.1.ln1.weight' is missing");
    Program p;
    Err e = {{0}};
    CHECK(program_load("/nonexistent/prog.safetensors", &p, &e) == -1 && strstr(e.msg, "/nonexistent/prog.safetensors"),
          "missing file: '%s'", e.msg);
}
