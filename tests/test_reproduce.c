/* neurop reproduce, in its tiny mode on one task and two methods (seconds):
 * - every file is produced: results.md (with its table header), results.json (parses, has the
 *   expected keys, every exact match in [0, 1]), each run's eval.json and checkpoints, the
 *   gnuplot scripts and data, and the PNG plots when gnuplot is installed;
 * - a second invocation retrains nothing (eval.json and metrics.csv untouched);
 * - a run stopped half-way (last.safetensors, no eval.json) resumes instead of restarting;
 * - a folder made in another mode is refused, not mixed in;
 * - worker processes (--jobs 2) produce the same set of files;
 * - the quick and tiny configurations reduce the defaults; list parsing rejects unknown names. */
#include "test.h"
#include "engine/fileio.h"
#include "train/reproduce.h"
#include "train/train.h"
#include <cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void rm_rf(const char *dir) {
    char cmd[600];
    if (strncmp(dir, "/tmp/neurop-test-", 17)) return;   /* only our own temp folders */
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd)) {}
}

static int exists(const char *dir, const char *rel) {
    char p[1024]; struct stat st;
    snprintf(p, sizeof p, "%s/%s", dir, rel);
    return stat(p, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0;
}

static int is_png(const char *dir, const char *rel) {
    char p[1024]; unsigned char h[8] = {0};
    snprintf(p, sizeof p, "%s/%s", dir, rel);
    FILE *f = fopen(p, "rb");
    if (!f) return 0;
    size_t n = fread(h, 1, 8, f);
    fclose(f);
    return n == 8 && !memcmp(h, "\x89PNG\r\n\x1a\n", 8);
}

static long long mtime_ns(const char *dir, const char *rel) {
    char p[1024]; struct stat st;
    snprintf(p, sizeof p, "%s/%s", dir, rel);
    if (stat(p, &st)) return -1;
    return (long long)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
}

static char *slurp(const char *dir, const char *rel) {
    char p[1024]; unsigned char *buf; size_t len; Err e;
    snprintf(p, sizeof p, "%s/%s", dir, rel);
    return read_file(p, &buf, &len, &e) ? NULL : (char *)buf;
}

static int have_gnuplot(void) { return system("gnuplot --version >/dev/null 2>&1") == 0; }

static int in01(const cJSON *o, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble <= 1;
}

/* results.json: the keys the report promises, for runs of `methods` on sumfirst with `seeds`. */
static void check_results_json(TestCtx *t_, const char *dir, int n_methods, int seeds) {
    char *text = slurp(dir, "results.json");
    CHECK(text, "results.json missing");
    if (!text) return;
    cJSON *j = cJSON_Parse(text);
    free(text);
    CHECK(j, "results.json does not parse");
    if (!j) return;
    const char *keys[] = {"format", "mode", "seeds", "command", "commit", "date", "machine", "wall_seconds", "runs", "plots", "results"};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) CHECK(cJSON_HasObjectItem(j, keys[i]), "results.json has no '%s'", keys[i]);
    CHECK(cJSON_IsString(cJSON_GetObjectItem(j, "mode")) && !strcmp(cJSON_GetObjectItem(j, "mode")->valuestring, "tiny"), "mode");
    CHECK(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "machine"), "nproc")->valuedouble >= 1, "nproc");
    CHECK(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "runs"), "complete")->valuedouble == n_methods * seeds, "runs.complete");
    const cJSON *res = cJSON_GetObjectItem(j, "results");
    CHECK(cJSON_GetArraySize(res) == n_methods, "results has %d entries, want %d", cJSON_GetArraySize(res), n_methods);
    const cJSON *r;
    cJSON_ArrayForEach(r, res) {
        CHECK(!strcmp(cJSON_GetObjectItem(r, "task")->valuestring, "sumfirst"), "task");
        CHECK(cJSON_GetObjectItem(r, "n_seeds")->valuedouble == seeds, "n_seeds");
        const char *stats[] = {"iid", "ood", "iid_val"};
        for (int k = 0; k < 3; k++) {
            const cJSON *s = cJSON_GetObjectItem(r, stats[k]);
            CHECK(in01(s, "mean") && in01(s, "min") && in01(s, "max"), "%s: mean/min/max not in [0,1]", stats[k]);
            CHECK(cJSON_IsNumber(cJSON_GetObjectItem(s, "std")), "%s.std", stats[k]);
            const cJSON *ps = cJSON_GetObjectItem(s, "per_seed"), *p;
            CHECK(cJSON_GetArraySize(ps) == seeds, "%s.per_seed has %d values", stats[k], cJSON_GetArraySize(ps));
            cJSON_ArrayForEach(p, ps) CHECK(in01(p, "value"), "%s per-seed value", stats[k]);
        }
        const cJSON *b = cJSON_GetObjectItem(r, "best_seed");
        CHECK(cJSON_IsObject(b) && !strcmp(cJSON_GetObjectItem(b, "chosen_by")->valuestring, "iid_val") && in01(b, "ood"), "best_seed");
        CHECK(in01(cJSON_GetObjectItem(r, "paper_ood"), "low") && in01(cJSON_GetObjectItem(r, "paper_ood"), "high"), "paper_ood");
        CHECK(cJSON_GetObjectItem(r, "params")->valuedouble > 0, "params");
        CHECK(cJSON_GetObjectItem(cJSON_GetObjectItem(r, "train_seconds"), "mean")->valuedouble > 0, "train_seconds");
        CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(r, "intents")) == 10, "intents: want the 8 train + 2 OOD intents of sumfirst");
    }
    cJSON_Delete(j);
}

static void check_files(TestCtx *t_, const char *dir, const char *const *names, int n, int plots) {
    const char *run_files[] = {"eval.json", "config.txt", "metrics.csv", "best.safetensors", "last.safetensors"};
    for (int i = 0; i < n; i++)
        for (size_t k = 0; k < sizeof run_files / sizeof *run_files; k++) {
            char rel[256]; snprintf(rel, sizeof rel, "runs/%s/%s", names[i], run_files[k]);
            CHECK(exists(dir, rel), "%s missing", rel);
        }
    const char *plot_src[] = {"plots/curves_sumfirst.gp", "plots/curves_sumfirst.dat", "plots/ood.gp", "plots/ood_seeds.dat", "plots/ood_summary.dat"};
    for (size_t k = 0; k < sizeof plot_src / sizeof *plot_src; k++) CHECK(exists(dir, plot_src[k]), "%s missing", plot_src[k]);
    if (plots) {
        CHECK(is_png(dir, "plots/curves_sumfirst.png"), "plots/curves_sumfirst.png missing or not a PNG");
        CHECK(is_png(dir, "plots/ood.png"), "plots/ood.png missing or not a PNG");
    }
    char *md = slurp(dir, "results.md");
    CHECK(md, "results.md missing");
    if (md) {
        CHECK(strstr(md, "| task | method | seeds | IID (test) | OOD | paper OOD | best seed (by IID val) |"), "results.md: no table header");
        CHECK(strstr(md, "SUMFIRST-n"), "results.md: no SUMFIRST row");
        CHECK(strstr(md, " 0.866 |") || strstr(md, " 0.140 |"), "results.md: no paper number");
        CHECK(strstr(md, "trainable params"), "results.md: no cost table");
        if (plots) CHECK(strstr(md, "plots/ood.png"), "results.md: no plot");
        free(md);
    }
}

TEST(reproduce_tiny_writes_every_file_and_resumes) {
    char dir[128] = "/tmp/neurop-test-repro-XXXXXX";
    if (!mkdtemp(dir)) { CHECK(0, "mkdtemp"); return; }
    Err e = {{0}};
    ReproOptions o = {.mode = REPRO_TINY, .seeds = 1, .out = dir, .no_real = 1, .jobs = 1, .command = "test"};
    CHECK(!repro_parse_tasks("sumfirst", &o.tasks, &e), "%s", e.msg);
    CHECK(!repro_parse_methods("mlp,gnn", &o.methods, &e), "%s", e.msg);

    /* A run stopped half-way: the planned config, trained to 10 of its 20 steps (its folder's
     * config.txt is the planned one, as for a run killed at step 10). */
    TrainConfig c;
    CHECK(!repro_config("sumfirst", METHOD_MLP, REPRO_TINY, 0, &c, &e), "%s", e.msg);
    char plan[1024], half[512];
    config_format(&c, plan, sizeof plan);
    long planned_steps = c.steps;
    c.steps = 10;
    Run r;
    char runs[256];
    snprintf(runs, sizeof runs, "%s/runs", dir);
    mkdir(runs, 0755);
    snprintf(half, sizeof half, "%s/runs/sumfirst-mlp-s0", dir);
    CHECK(!run_init(&r, &c, &e), "%s", e.msg);
    TrainOptions to = {.dir = half};
    CHECK(run_train(&r, &to, &e) == 0, "%s", e.msg);
    run_free(&r);
    char cfgp[600];
    snprintf(cfgp, sizeof cfgp, "%s/config.txt", half);
    FILE *f = fopen(cfgp, "w");
    if (f) { fprintf(f, "%s\n", plan); fclose(f); }

    ReproSummary s;
    int rc = reproduce(&o, &s, &e);
    CHECK(rc == 0, "reproduce: %d %s", rc, e.msg);
    CHECK(s.total == 2 && s.trained == 1 && s.resumed == 1 && s.skipped == 0 && s.failed == 0,
          "first run: total %d trained %d resumed %d skipped %d failed %d", s.total, s.trained, s.resumed, s.skipped, s.failed);
    int plots = have_gnuplot();
    CHECK(!plots || s.plots == 2, "%d plots, want 2 (the training curves of sumfirst, OOD)", s.plots);
    const char *names[] = {"sumfirst-mlp-s0", "sumfirst-gnn-s0"};
    check_files(t_, dir, names, 2, plots);
    check_results_json(t_, dir, 2, 1);
    /* the resumed run went on to the planned end */
    char *ev = slurp(dir, "runs/sumfirst-mlp-s0/eval.json");
    cJSON *j = ev ? cJSON_Parse(ev) : NULL;
    CHECK(j && cJSON_GetObjectItem(j, "steps_done")->valuedouble == planned_steps, "resumed run: steps_done");
    CHECK(j && !strcmp(cJSON_GetObjectItem(j, "config")->valuestring, plan), "eval.json: config");
    cJSON_Delete(j); free(ev);
    char *csv = slurp(dir, "runs/sumfirst-mlp-s0/metrics.csv");
    CHECK(csv && strstr(csv, "\n10,") && strstr(csv, "\n20,"), "resumed run: metrics.csv has steps 10 and 20");
    free(csv);

    /* second invocation: nothing is retrained */
    long long m1 = mtime_ns(dir, "runs/sumfirst-gnn-s0/eval.json"), m2 = mtime_ns(dir, "runs/sumfirst-gnn-s0/metrics.csv"),
              m3 = mtime_ns(dir, "runs/sumfirst-mlp-s0/last.safetensors");
    usleep(20000);
    rc = reproduce(&o, &s, &e);
    CHECK(rc == 0, "second reproduce: %s", e.msg);
    CHECK(s.skipped == 2 && s.trained == 0 && s.resumed == 0, "second run: skipped %d trained %d resumed %d", s.skipped, s.trained, s.resumed);
    CHECK(m1 == mtime_ns(dir, "runs/sumfirst-gnn-s0/eval.json"), "eval.json rewritten");
    CHECK(m2 == mtime_ns(dir, "runs/sumfirst-gnn-s0/metrics.csv"), "metrics.csv rewritten");
    CHECK(m3 == mtime_ns(dir, "runs/sumfirst-mlp-s0/last.safetensors"), "checkpoint rewritten");
    check_results_json(t_, dir, 2, 1);

    /* a trained run without eval.json is evaluated again, not retrained */
    char p[600];
    snprintf(p, sizeof p, "%s/runs/sumfirst-gnn-s0/eval.json", dir);
    unlink(p);
    rc = reproduce(&o, &s, &e);
    CHECK(rc == 0 && s.resumed == 1 && s.skipped == 1 && s.trained == 0, "third run: rc %d resumed %d skipped %d", rc, s.resumed, s.skipped);
    CHECK(m2 == mtime_ns(dir, "runs/sumfirst-gnn-s0/metrics.csv"), "metrics.csv changed: the finished run was retrained");
    CHECK(exists(dir, "runs/sumfirst-gnn-s0/eval.json"), "eval.json not rewritten");

    /* another mode into the same folder is refused */
    ReproOptions q = o;
    q.mode = REPRO_QUICK;
    rc = reproduce(&q, &s, &e);
    CHECK(rc == -1 && strstr(e.msg, "another configuration"), "quick over tiny: rc %d, %s", rc, e.msg);
    rm_rf(dir);
}

TEST(reproduce_tiny_with_worker_processes) {
    char dir[128] = "/tmp/neurop-test-reprojobs-XXXXXX";
    if (!mkdtemp(dir)) { CHECK(0, "mkdtemp"); return; }
    Err e = {{0}};
    ReproOptions o = {.mode = REPRO_TINY, .seeds = 2, .out = dir, .no_real = 1, .no_plots = 1, .jobs = 2};
    CHECK(!repro_parse_tasks("sumfirst", &o.tasks, &e), "%s", e.msg);
    CHECK(!repro_parse_methods("direct,gmlp", &o.methods, &e), "%s", e.msg);
    ReproSummary s;
    int rc = reproduce(&o, &s, &e);
    CHECK(rc == 0 && s.total == 4 && s.trained == 4, "rc %d (%s) total %d trained %d", rc, e.msg, s.total, s.trained);
    const char *names[] = {"sumfirst-direct-s0", "sumfirst-gmlp-s0", "sumfirst-direct-s1", "sumfirst-gmlp-s1"};
    check_files(t_, dir, names, 4, 0);
    char *json = slurp(dir, "results.json");
    cJSON *j = json ? cJSON_Parse(json) : NULL;
    CHECK(j && cJSON_GetArraySize(cJSON_GetObjectItem(j, "results")) == 2, "results.json");
    cJSON_Delete(j); free(json);
    rc = reproduce(&o, &s, &e);
    CHECK(rc == 0 && s.skipped == 4 && s.trained == 0, "second run: skipped %d", s.skipped);
    rm_rf(dir);
}

TEST(reproduce_configs_and_lists) {
    Err e = {{0}};
    const char *tasks[] = {"sumfirst", "addmod", "arc"};
    for (int t = 0; t < 3; t++)
        for (int m = 0; m < METHOD_COUNT; m++) {
            TrainConfig d, full, quick, tiny;
            CHECK(!config_defaults(tasks[t], (MethodKind)m, &d, &e), "%s", e.msg);
            CHECK(!repro_config(tasks[t], (MethodKind)m, REPRO_FULL, 3, &full, &e), "%s", e.msg);
            CHECK(!repro_config(tasks[t], (MethodKind)m, REPRO_QUICK, 3, &quick, &e), "%s", e.msg);
            CHECK(!repro_config(tasks[t], (MethodKind)m, REPRO_TINY, 3, &tiny, &e), "%s", e.msg);
            d.seed = 3;
            CHECK(!memcmp(&d, &full, sizeof d), "%s/%d: full mode is not the defaults", tasks[t], m);
            CHECK(quick.seed == 3 && tiny.seed == 3, "seed");
            CHECK(quick.steps < d.steps && quick.steps >= 20 && quick.B <= d.B && quick.N <= d.N && quick.eval_n == 128, "%s/%d quick", tasks[t], m);
            CHECK(tiny.steps <= 50 && tiny.eval_n <= 16 && tiny.B <= 2, "%s/%d tiny", tasks[t], m);
            CHECK(quick.eval_every >= 1 && quick.eval_every <= quick.steps && tiny.eval_every <= tiny.steps, "eval_every");
            CHECK(!strcmp(quick.tpl, d.tpl) && quick.meta.width == d.meta.width, "quick keeps the model");
        }
    unsigned mask;
    CHECK(!repro_parse_tasks("arc,sumfirst", &mask, &e) && mask == 5u, "tasks mask %u", mask);
    CHECK(!repro_parse_tasks("all", &mask, &e) && mask == 7u, "all tasks");
    CHECK(!repro_parse_methods("gnn,direct", &mask, &e) && mask == ((1u << METHOD_GNN) | (1u << METHOD_DIRECT)), "methods mask");
    CHECK(repro_parse_tasks("sumfirst,nope", &mask, &e) == -1, "unknown task accepted");
    CHECK(repro_parse_methods("gnn,transformer", &mask, &e) == -1, "unknown method accepted");
    CHECK(repro_parse_methods("", &mask, &e) == -1, "empty list accepted");
}
