/* neurop reproduce, in its tiny mode on one task and two methods (seconds):
 * - every file is produced: results.md (with its table header), results.json (parses, has the
 *   expected keys, every exact match in [0, 1]), each run's eval.json and checkpoints, the
 *   gnuplot scripts and data, and the PNG plots when gnuplot is installed;
 * - the studies (tiny: the target's width ×1 and ×2 for Meta-gMLP and Meta-GNN, Meta-GNN with
 *   k = 0 rounds and without group tying) have their runs, sections in results.md, entries in
 *   results.json with the configuration they promise, and the scaling plot;
 * - a second invocation retrains nothing (eval.json and metrics.csv untouched, study runs too);
 * - a run stopped half-way (last.safetensors, no eval.json) resumes instead of restarting;
 * - a folder made in another mode is refused, not mixed in;
 * - worker processes (--jobs 2) produce the same set of files;
 * - the quick and tiny configurations reduce the defaults; list parsing rejects unknown names. */
#include "test.h"
#include "io/fileio.h"
#include "repro/reproduce.h"
#include "train/train.h"
#include <cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

static void rm_rf(const char *dir) {
    char cmd[600];
    if (strncmp(dir, "/tmp/neurop-test-", 17)) return; /* only our own temp folders */
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd)) {}
}

static int exists(const char *dir, const char *rel) {
    char p[1024];
    struct stat st;
    snprintf(p, sizeof p, "%s/%s", dir, rel);
    return stat(p, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0;
}

static int is_png(const char *dir, const char *rel) {
    char p[1024];
    unsigned char h[8] = {0};
    snprintf(p, sizeof p, "%s/%s", dir, rel);
    FILE *f = fopen(p, "rb");
    if (!f) return 0;
    size_t n = fread(h, 1, 8, f);
    fclose(f);
    return n == 8 && !memcmp(h, "\x89PNG\r\n\x1a\n", 8);
}

static long long mtime_ns(const char *dir, const char *rel) {
    char p[1024];
    struct stat st;
    snprintf(p, sizeof p, "%s/%s", dir, rel);
    if (stat(p, &st)) return -1;
    return (long long)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
}

static char *slurp(const char *dir, const char *rel) {
    char p[1024];
    unsigned char *buf;
    size_t len;
    Err e;
    snprintf(p, sizeof p, "%s/%s", dir, rel);
    return read_file(p, &buf, &len, &e) ? NULL : (char *)buf;
}

/* Writes j as dir/rel (a test's edit of a run's eval.json). */
static void write_json(const char *dir, const char *rel, const cJSON *j) {
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", dir, rel);
    char *txt = cJSON_Print(j);
    FILE *f = fopen(p, "w");
    if (f) {
        fputs(txt, f);
        fclose(f);
    }
    free(txt);
}

/* results.json's top-level string `key`, or NULL */
static char *json_string(const char *dir, const char *key) {
    char *text = slurp(dir, "results.json"), *v = NULL;
    cJSON *j = text ? cJSON_Parse(text) : NULL;
    const cJSON *o = cJSON_GetObjectItem(j, key);
    if (cJSON_IsString(o)) v = strdup(o->valuestring);
    cJSON_Delete(j);
    free(text);
    return v;
}

static int have_gnuplot(void) { return system("gnuplot --version >/dev/null 2>&1") == 0; }

static int in01(const cJSON *o, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble <= 1;
}

/* results.json: the keys the report promises, for runs of `methods` on sumfirst with `seeds`,
 * and `study_runs` more. */
static void check_results_json(TestCtx *t_, const char *dir, int n_methods, int seeds, int study_runs) {
    char *text = slurp(dir, "results.json");
    CHECK(text, "results.json missing");
    if (!text) return;
    cJSON *j = cJSON_Parse(text);
    free(text);
    CHECK(j, "results.json does not parse");
    if (!j) return;
    const char *keys[] = {"format",  "mode",         "seeds", "command", "commit", "date",
                          "machine", "wall_seconds", "runs",  "plots",   "results"};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
        CHECK(cJSON_HasObjectItem(j, keys[i]), "results.json has no '%s'", keys[i]);
    CHECK(cJSON_IsString(cJSON_GetObjectItem(j, "mode")) &&
              !strcmp(cJSON_GetObjectItem(j, "mode")->valuestring, "tiny"),
          "mode");
    CHECK(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "machine"), "nproc")->valuedouble >= 1, "nproc");
    CHECK(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "runs"), "complete")->valuedouble ==
              n_methods * seeds + study_runs,
          "runs.complete");
    CHECK(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "runs"), "total")->valuedouble == n_methods * seeds + study_runs,
          "runs.total");
    const cJSON *jf = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "runs"), "failed"),
                *jm = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "runs"), "missing");
    CHECK(cJSON_IsNumber(jf) && jf->valuedouble == 0 && cJSON_IsNumber(jm) && jm->valuedouble == 0,
          "runs.failed and runs.missing: 0 in a complete reproduction");
    /* every run trained here: one machine, the invocation's own, with every run */
    const cJSON *rm = cJSON_GetObjectItem(j, "run_machines"), *m0 = cJSON_GetArrayItem(rm, 0);
    const char *cpu = cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "machine"), "cpu")),
               *m0n = cJSON_GetStringValue(cJSON_GetObjectItem(m0, "machine"));
    CHECK(cJSON_GetArraySize(rm) == 1 && cpu && m0n && !strcmp(cpu, m0n) && strstr(m0n, "kernel") &&
              cJSON_GetObjectItem(m0, "runs")->valuedouble == n_methods * seeds + study_runs,
          "run_machines: want one entry, this machine's (%s) with every run, got %d entries (%s)", cpu ? cpu : "?",
          cJSON_GetArraySize(rm), m0n ? m0n : "?");
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
        CHECK(cJSON_IsObject(b) && !strcmp(cJSON_GetObjectItem(b, "chosen_by")->valuestring, "iid_val") &&
                  in01(b, "ood"),
              "best_seed");
        CHECK(in01(cJSON_GetObjectItem(r, "paper_ood"), "low") && in01(cJSON_GetObjectItem(r, "paper_ood"), "high"),
              "paper_ood");
        CHECK(cJSON_GetObjectItem(r, "params")->valuedouble > 0, "params");
        CHECK(cJSON_GetObjectItem(cJSON_GetObjectItem(r, "train_seconds"), "mean")->valuedouble > 0, "train_seconds");
        CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(r, "intents")) == 10,
              "intents: want the 8 train + 2 OOD intents of sumfirst");
    }
    cJSON_Delete(j);
}

static void check_files(TestCtx *t_, const char *dir, const char *const *names, int n, int plots) {
    const char *run_files[] = {"eval.json", "config.txt", "metrics.csv", "best.safetensors", "last.safetensors"};
    for (int i = 0; i < n; i++)
        for (size_t k = 0; k < sizeof run_files / sizeof *run_files; k++) {
            char rel[256];
            snprintf(rel, sizeof rel, "runs/%s/%s", names[i], run_files[k]);
            CHECK(exists(dir, rel), "%s missing", rel);
        }
    const char *plot_src[] = {"plots/curves_sumfirst.gp", "plots/curves_sumfirst.dat", "plots/ood.gp",
                              "plots/ood_seeds.dat", "plots/ood_summary.dat"};
    for (size_t k = 0; k < sizeof plot_src / sizeof *plot_src; k++)
        CHECK(exists(dir, plot_src[k]), "%s missing", plot_src[k]);
    if (plots) {
        CHECK(is_png(dir, "plots/curves_sumfirst.png"), "plots/curves_sumfirst.png missing or not a PNG");
        CHECK(is_png(dir, "plots/ood.png"), "plots/ood.png missing or not a PNG");
    }
    char *md = slurp(dir, "results.md");
    CHECK(md, "results.md missing");
    if (md) {
        CHECK(strstr(md, "| task | method | seeds | IID (test) | IID pooled | OOD | OOD ordinal | paper OOD | best "
                         "seed (by IID val) |"),
              "results.md: no table header");
        CHECK(strstr(md, "SUMFIRST-n"), "results.md: no SUMFIRST row");
        CHECK(strstr(md, " 0.866 |") || strstr(md, " 0.140 |"), "results.md: no paper number");
        CHECK(strstr(md, "trainable params"), "results.md: no cost table");
        if (plots) CHECK(strstr(md, "plots/ood.png"), "results.md: no plot");
        free(md);
    }
}

static const cJSON *item(const cJSON *o, const char *key) { return cJSON_GetObjectItemCaseSensitive(o, key); }
static double num(const cJSON *o, const char *key) {
    const cJSON *v = item(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : -1;
}
static const char *str(const cJSON *o, const char *key) {
    const cJSON *v = item(o, key);
    return cJSON_IsString(v) ? v->valuestring : "";
}

/* The planned configuration of a study run: the tiny one of (sumfirst, method) with one change. */
static void study_config(TestCtx *t_, MethodKind m, const char *set, char *out, size_t n) {
    TrainConfig c;
    Err e = {{0}};
    CHECK(!repro_config("sumfirst", m, REPRO_TINY, 0, &c, &e), "%s", e.msg);
    CHECK(!config_set(&c, set, &e), "%s", e.msg);
    config_format(&c, out, n);
}

/* The studies of a tiny reproduction with the main table's sumfirst Meta-MLP and Meta-GNN. */
static void check_studies(TestCtx *t_, const char *dir, int plots) {
    const char *runs[] = {"scale-x1-gmlp-s0", "scale-x1-gnn-s0",   "scale-x2-gmlp-s0",
                          "scale-x2-gnn-s0",  "ablate-rounds0-s0", "ablate-tie0-s0"};
    for (size_t i = 0; i < sizeof runs / sizeof *runs; i++) {
        char rel[256];
        snprintf(rel, sizeof rel, "runs/%s/eval.json", runs[i]);
        CHECK(exists(dir, rel), "%s missing", rel);
    }
    CHECK(!exists(dir, "runs/scale-x4-gnn-s0/eval.json") && !exists(dir, "runs/ablate-pe0-s0/eval.json"),
          "tiny ran more than its studies");
    /* each study run is the planned configuration with only the template or one MetaConfig field changed */
    char want[1024];
    char *ev = slurp(dir, "runs/scale-x2-gnn-s0/eval.json");
    cJSON *j = ev ? cJSON_Parse(ev) : NULL;
    study_config(t_, METHOD_GNN, "template=mlp 10-32-1 act=relu", want, sizeof want);
    CHECK(j && !strcmp(str(j, "config"), want), "scale-x2-gnn config: %s, want %s", j ? str(j, "config") : "-", want);
    cJSON_Delete(j);
    free(ev);
    ev = slurp(dir, "runs/ablate-rounds0-s0/eval.json");
    j = ev ? cJSON_Parse(ev) : NULL;
    study_config(t_, METHOD_GNN, "rounds=0", want, sizeof want);
    CHECK(j && !strcmp(str(j, "config"), want), "ablate-rounds0 config: %s", j ? str(j, "config") : "-");
    cJSON_Delete(j);
    free(ev);

    char *md = slurp(dir, "results.md");
    CHECK(md, "results.md missing");
    if (md) {
        CHECK(strstr(md, "## Scaling study") && strstr(md, "## Ablation of Meta-GNN"), "results.md: no study sections");
        CHECK(strstr(md, "| ×1 | 10-16-1 | 193 |") && strstr(md, "| ×2 | 10-32-1 | 385 |"), "results.md: scaling rows");
        CHECK(!strstr(md, "| ×4 |"), "results.md: a ×4 row in tiny mode");
        CHECK(strstr(md, "| k = 0 rounds") && strstr(md, "| no group tying | 3 | no | index | 1 |"),
              "results.md: ablation rows");
        CHECK(strstr(md, "How it was made: the SUMFIRST target `mlp 10-16-1 act=relu`"), "results.md: scaling note");
        if (plots) CHECK(strstr(md, "plots/scaling.png"), "results.md: no scaling plot");
        free(md);
    }
    CHECK(exists(dir, "plots/scaling.gp") && exists(dir, "plots/scaling.dat") && exists(dir, "plots/scaling_seeds.dat"),
          "scaling plot sources");
    if (plots) CHECK(is_png(dir, "plots/scaling.png"), "plots/scaling.png missing or not a PNG");

    char *text = slurp(dir, "results.json");
    j = text ? cJSON_Parse(text) : NULL;
    free(text);
    CHECK(j, "results.json");
    if (!j) return;
    CHECK(num(j, "study_seeds") == 1, "study_seeds");
    double main_gnn = -1;
    const cJSON *r;
    cJSON_ArrayForEach(r, item(j, "results")) if (!strcmp(str(r, "method"), "gnn")) main_gnn = num(r, "params");
    CHECK(main_gnn > 0, "main table: no Meta-GNN params");
    const cJSON *sc = item(j, "scaling");
    CHECK(cJSON_GetArraySize(sc) == 4, "scaling has %d entries, want 4", cJSON_GetArraySize(sc));
    const char *names[] = {"scale-x1-gmlp", "scale-x1-gnn", "scale-x2-gmlp", "scale-x2-gnn"};
    const int mult[] = {1, 1, 2, 2}, theta[] = {193, 193, 385, 385};
    double params[4] = {0};
    int k = 0;
    cJSON_ArrayForEach(r, sc) {
        if (k == 4) break;
        CHECK(!strcmp(str(r, "name"), names[k]), "scaling[%d] is %s, want %s", k, str(r, "name"), names[k]);
        CHECK(num(r, "multiplier") == mult[k] && num(r, "theta_size") == theta[k], "%s: multiplier %g theta %g",
              names[k], num(r, "multiplier"), num(r, "theta_size"));
        CHECK(num(r, "n_seeds") == 1 && cJSON_GetArraySize(item(item(r, "ood"), "per_seed")) == 1, "%s: seeds",
              names[k]);
        CHECK(in01(item(r, "ood"), "mean") && in01(item(r, "iid"), "mean"), "%s: exact match", names[k]);
        CHECK(num(item(r, "train_seconds"), "mean") > 0, "%s: train_seconds", names[k]);
        params[k] = num(r, "params");
        k++;
    }
    /* Meta-gMLP's mixer reads every slot: it grows with the target; Meta-GNN's tied weights do not */
    CHECK(params[2] > 1.5 * params[0] && params[0] > 0, "Meta-gMLP params %g at ×1, %g at ×2", params[0], params[2]);
    CHECK(params[1] == main_gnn && params[3] == main_gnn, "Meta-GNN params %g, %g, main table %g", params[1], params[3],
          main_gnn);
    const cJSON *ab = item(j, "ablation");
    CHECK(cJSON_GetArraySize(ab) == 2, "ablation has %d entries, want 2", cJSON_GetArraySize(ab));
    const cJSON *a0 = cJSON_GetArrayItem(ab, 0), *a1 = cJSON_GetArrayItem(ab, 1);
    CHECK(a0 && !strcmp(str(a0, "variant"), "rounds0") && num(a0, "rounds") == 0 && cJSON_IsTrue(item(a0, "tie")),
          "ablation[0]");
    CHECK(a1 && !strcmp(str(a1, "variant"), "tie0") && num(a1, "rounds") == 3 && cJSON_IsFalse(item(a1, "tie")) &&
              num(a1, "pe") == 2,
          "ablation[1]");
    CHECK(a0 && a1 && num(a0, "params") > 0 && num(a0, "params") < main_gnn && num(a1, "params") > 0 &&
              num(a1, "params") < main_gnn,
          "ablation params: fewer rounds and no tying have fewer parameters than the default's %g", main_gnn);
    CHECK(a0 && in01(item(a0, "ood"), "mean") && cJSON_GetArraySize(item(item(a0, "iid"), "per_seed")) == 1,
          "ablation numbers");
    cJSON_Delete(j);
}

/* dir/runs/sumfirst-mlp-s0 as a tiny reproduction's run stopped half-way leaves it: the planned
 * config, trained to 10 of its 20 steps, its config.txt the planned one (as for a run killed at
 * step 10). Its path in half; the planned step count returned. */
static long half_run(TestCtx *t_, const char *dir, char *half, size_t n) {
    Err e = {{0}};
    TrainConfig c;
    CHECK(!repro_config("sumfirst", METHOD_MLP, REPRO_TINY, 0, &c, &e), "%s", e.msg);
    char plan[1024], runs[256];
    config_format(&c, plan, sizeof plan);
    long planned_steps = c.steps;
    c.steps = 10;
    snprintf(runs, sizeof runs, "%s/runs", dir);
    mkdir(runs, 0755);
    snprintf(half, n, "%s/runs/sumfirst-mlp-s0", dir);
    Run r;
    CHECK(!run_init(&r, &c, &e), "%s", e.msg);
    TrainOptions to = {.dir = half};
    CHECK(run_train(&r, &to, &e) == 0, "%s", e.msg);
    run_free(&r);
    char cfgp[600];
    snprintf(cfgp, sizeof cfgp, "%s/config.txt", half);
    FILE *f = fopen(cfgp, "w");
    if (f) {
        fprintf(f, "%s\n", plan);
        fclose(f);
    }
    return planned_steps;
}

TEST(reproduce_tiny_writes_every_file_and_resumes) {
    char dir[128] = "/tmp/neurop-test-repro-XXXXXX";
    if (!mkdtemp(dir)) {
        CHECK(0, "mkdtemp");
        return;
    }
    Err e = {{0}};
    ReproOptions o = {.mode = REPRO_TINY, .seeds = 1, .out = dir, .no_real = 1, .jobs = 1, .command = "test"};
    CHECK(!repro_parse_tasks("sumfirst", &o.tasks, &e), "%s", e.msg);
    CHECK(!repro_parse_methods("mlp,gnn", &o.methods, &e), "%s", e.msg);

    char half[512], plan[1024];
    long planned_steps = half_run(t_, dir, half, sizeof half);
    TrainConfig c;
    CHECK(!repro_config("sumfirst", METHOD_MLP, REPRO_TINY, 0, &c, &e), "%s", e.msg);
    config_format(&c, plan, sizeof plan);

    ReproSummary s;
    int rc = reproduce(&o, &s, &e);
    CHECK(rc == 0, "reproduce: %d %s", rc, e.msg);
    CHECK(s.total == 8 && s.trained == 7 && s.resumed == 1 && s.skipped == 0 && s.failed == 0,
          "first run: total %d trained %d resumed %d skipped %d failed %d", s.total, s.trained, s.resumed, s.skipped,
          s.failed);
    int plots = have_gnuplot();
    CHECK(!plots || s.plots == 3, "%d plots, want 3 (the training curves of sumfirst, OOD, scaling)", s.plots);
    const char *names[] = {"sumfirst-mlp-s0", "sumfirst-gnn-s0"};
    check_files(t_, dir, names, 2, plots);
    check_results_json(t_, dir, 2, 1, 6);
    check_studies(t_, dir, plots);
    /* the resumed run went on to the planned end */
    char *ev = slurp(dir, "runs/sumfirst-mlp-s0/eval.json");
    cJSON *j = ev ? cJSON_Parse(ev) : NULL;
    CHECK(j && cJSON_GetObjectItem(j, "steps_done")->valuedouble == planned_steps, "resumed run: steps_done");
    CHECK(j && !strcmp(cJSON_GetObjectItem(j, "config")->valuestring, plan), "eval.json: config");
    cJSON_Delete(j);
    free(ev);
    char *csv = slurp(dir, "runs/sumfirst-mlp-s0/metrics.csv");
    CHECK(csv && strstr(csv, "\n10,") && strstr(csv, "\n20,"), "resumed run: metrics.csv has steps 10 and 20");
    free(csv);

    /* second invocation: nothing is retrained */
    long long m1 = mtime_ns(dir, "runs/sumfirst-gnn-s0/eval.json"),
              m2 = mtime_ns(dir, "runs/sumfirst-gnn-s0/metrics.csv"),
              m3 = mtime_ns(dir, "runs/sumfirst-mlp-s0/last.safetensors"),
              m4 = mtime_ns(dir, "runs/scale-x2-gnn-s0/eval.json"),
              m5 = mtime_ns(dir, "runs/ablate-tie0-s0/metrics.csv");
    usleep(20000);
    /* from a folder outside any git checkout: the report still names the commit the code was built
     * from (a pinned build is run from another checkout), the same as the first invocation's */
    char *commit1 = json_string(dir, "commit"), cwd[1024];
    CHECK(commit1 && strlen(commit1) == 40, "results.json: commit '%s', want a 40-digit hash", commit1 ? commit1 : "");
    CHECK(getcwd(cwd, sizeof cwd) && chdir(dir) == 0, "chdir %s", dir);
    rc = reproduce(&o, &s, &e);
    CHECK(chdir(cwd) == 0, "chdir back");
    CHECK(rc == 0, "second reproduce: %s", e.msg);
    char *commit2 = json_string(dir, "commit");
    CHECK(commit1 && commit2 && !strcmp(commit1, commit2), "run from %s, the report names commit '%s', want '%s'", dir,
          commit2 ? commit2 : "", commit1 ? commit1 : "");
    free(commit1);
    free(commit2);
    CHECK(s.skipped == 8 && s.trained == 0 && s.resumed == 0, "second run: skipped %d trained %d resumed %d", s.skipped,
          s.trained, s.resumed);
    CHECK(m1 == mtime_ns(dir, "runs/sumfirst-gnn-s0/eval.json"), "eval.json rewritten");
    CHECK(m2 == mtime_ns(dir, "runs/sumfirst-gnn-s0/metrics.csv"), "metrics.csv rewritten");
    CHECK(m3 == mtime_ns(dir, "runs/sumfirst-mlp-s0/last.safetensors"), "checkpoint rewritten");
    CHECK(m4 == mtime_ns(dir, "runs/scale-x2-gnn-s0/eval.json"), "a finished study run was evaluated again");
    CHECK(m5 == mtime_ns(dir, "runs/ablate-tie0-s0/metrics.csv"), "a finished study run was retrained");
    check_results_json(t_, dir, 2, 1, 6);
    check_studies(t_, dir, plots);

    /* a trained run without eval.json is evaluated again, not retrained */
    char p[600];
    snprintf(p, sizeof p, "%s/runs/sumfirst-gnn-s0/eval.json", dir);
    unlink(p);
    rc = reproduce(&o, &s, &e);
    CHECK(rc == 0 && s.resumed == 1 && s.skipped == 7 && s.trained == 0, "third run: rc %d resumed %d skipped %d", rc,
          s.resumed, s.skipped);
    CHECK(m2 == mtime_ns(dir, "runs/sumfirst-gnn-s0/metrics.csv"),
          "metrics.csv changed: the finished run was retrained");
    CHECK(exists(dir, "runs/sumfirst-gnn-s0/eval.json"), "eval.json not rewritten");

    /* a run made before a setting was added (its config without theta_ms, which meant 0) still
     * belongs to the plan: skipped, not refused */
    ev = slurp(dir, "runs/sumfirst-gnn-s0/eval.json");
    j = ev ? cJSON_Parse(ev) : NULL;
    char *cfg = j ? cJSON_GetObjectItem(j, "config")->valuestring : NULL,
         *at = cfg ? strstr(cfg, " theta_ms=0 ") : NULL;
    CHECK(at, "eval.json's config has theta_ms=0");
    if (at) {
        memmove(at, at + strlen(" theta_ms=0"), strlen(at + strlen(" theta_ms=0")) + 1);
        write_json(dir, "runs/sumfirst-gnn-s0/eval.json", j);
        rc = reproduce(&o, &s, &e);
        CHECK(rc == 0 && s.skipped == 8 && s.trained == 0 && s.resumed == 0,
              "a run without a later key: rc %d skipped %d trained %d resumed %d (%s)", rc, s.skipped, s.trained,
              s.resumed, rc ? e.msg : "");
    }
    cJSON_Delete(j);
    free(ev);

    /* a run finished on another machine (a reproduction across sessions): the report names both
     * machines and how many runs each trained */
    ev = slurp(dir, "runs/ablate-tie0-s0/eval.json");
    j = ev ? cJSON_Parse(ev) : NULL;
    CHECK(j && cJSON_IsString(cJSON_GetObjectItem(j, "machine")), "eval.json names its machine");
    if (j) {
        const char *other = "cpu=Other CPU; blas=OpenBLAS (kernel Haswell); gemm=avx2 6x16; threads=1";
        cJSON_ReplaceItemInObject(j, "machine", cJSON_CreateString(other));
        write_json(dir, "runs/ablate-tie0-s0/eval.json", j);
        rc = reproduce(&o, &s, &e);
        CHECK(rc == 0 && s.skipped == 8, "rc %d skipped %d", rc, s.skipped);
        char *rj = slurp(dir, "results.json"), *md = slurp(dir, "results.md");
        cJSON *r = rj ? cJSON_Parse(rj) : NULL;
        const cJSON *rm = cJSON_GetObjectItem(r, "run_machines");
        const cJSON *a = cJSON_GetArrayItem(rm, 0), *b = cJSON_GetArrayItem(rm, 1);
        CHECK(cJSON_GetArraySize(rm) == 2 && cJSON_GetObjectItem(a, "runs")->valuedouble == 7 &&
                  cJSON_GetObjectItem(b, "runs")->valuedouble == 1 &&
                  !strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(b, "machine")), other),
              "run_machines: want this machine with 7 runs, then the other with 1");
        CHECK(md && strstr(md, "| runs trained on | 7 runs: cpu=") && strstr(md, "| | 1 run: cpu=Other CPU;") &&
                  strstr(md, "**The runs were trained on 2 machines**"),
              "results.md does not name both machines: %.1500s", md ? md : "(none)");
        cJSON_Delete(r);
        free(rj);
        free(md);
    }
    cJSON_Delete(j);
    free(ev);

    /* another mode into the same folder is refused */
    ReproOptions q = o;
    q.mode = REPRO_QUICK;
    rc = reproduce(&q, &s, &e);
    CHECK(rc == -1 && strstr(e.msg, "another configuration"), "quick over tiny: rc %d, %s", rc, e.msg);
    rm_rf(dir);
}

/* A tiny reproduction of tasks × methods into dir (a mkdtemp template, filled in) without
 * studies, real files or plots; its return code, with the summary in s. */
static int tiny_reproduce(TestCtx *t_, char *dir, const char *tasks, const char *methods, int seeds, int jobs,
                          ReproOptions *o, ReproSummary *s, Err *e) {
    if (!mkdtemp(dir)) {
        CHECK(0, "mkdtemp");
        return -1;
    }
    *o = (ReproOptions){
        .mode = REPRO_TINY, .seeds = seeds, .out = dir, .no_real = 1, .no_plots = 1, .jobs = jobs, .no_studies = 1};
    CHECK(!repro_parse_tasks(tasks, &o->tasks, e), "%s", e->msg);
    CHECK(!repro_parse_methods(methods, &o->methods, e), "%s", e->msg);
    return reproduce(o, s, e);
}

/* ADDMOD's clock section: the best run's clock, and what its programs for the unseen primes
 * compute, in results.md and results.json. */
TEST(reproduce_tiny_addmod_clock) {
    char dir[128] = "/tmp/neurop-test-reproclock-XXXXXX";
    Err e = {{0}};
    ReproOptions o;
    ReproSummary s;
    int rc = tiny_reproduce(t_, dir, "addmod", "gnn", 1, 1, &o, &s, &e);
    CHECK(rc == 0 && s.trained == 1, "rc %d (%s) trained %d", rc, e.msg, s.trained);
    char *md = slurp(dir, "results.md");
    CHECK(md && strstr(md, "## ADDMOD clock") &&
              strstr(md, "| method | p = 23 | p = 53 | p = 83 | odd composites 9..95 |") &&
              strstr(md, "| Meta-GNN | mod ") && strstr(md, ", k "),
          "results.md: no table of what the unseen primes' programs compute");
    /* ADDMOD Meta-GNN's default restarts on 3 held primes: said under the main table, in results.json */
    CHECK(md && strstr(md, "Meta-GNN on ADDMOD-p keeps 3 of its train intents out of training"),
          "results.md does not say that the IID columns leave the held primes out");
    char *json = slurp(dir, "results.json");
    cJSON *j = json ? cJSON_Parse(json) : NULL;
    const cJSON *ck = j ? cJSON_GetArrayItem(cJSON_GetObjectItem(j, "clock"), 0) : NULL;
    const cJSON *primes = ck ? cJSON_GetObjectItem(cJSON_GetObjectItem(ck, "across_primes"), "primes") : NULL;
    CHECK(cJSON_GetArraySize(primes) == 25, "results.json: clock primes");
    const cJSON *between = ck ? cJSON_GetObjectItem(ck, "between_primes") : NULL;
    double bm = cJSON_GetNumberValue(cJSON_GetObjectItem(between, "mean"));
    CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(between, "moduli")) == 24 && bm >= 0 && bm <= 1,
          "results.json: the clock's odd composite moduli (mean %g)", bm);
    const cJSON *cell = j ? cJSON_GetArrayItem(cJSON_GetObjectItem(j, "results"), 0) : NULL;
    const cJSON *held = cell ? cJSON_GetObjectItem(cell, "held") : NULL;
    double hm = cJSON_GetNumberValue(cJSON_GetObjectItem(held, "mean"));
    CHECK(held && hm >= 0 && hm <= 1 && cJSON_GetNumberValue(cJSON_GetObjectItem(cell, "n_held")) == 3,
          "results.json: the held primes' mean of ADDMOD Meta-GNN");
    for (int i = 0; i < cJSON_GetArraySize(primes); i++) {
        const cJSON *q = cJSON_GetArrayItem(primes, i);
        double m = cJSON_GetNumberValue(cJSON_GetObjectItem(q, "modulus")),
               agree = cJSON_GetNumberValue(cJSON_GetObjectItem(q, "modulus_agree")),
               acc = cJSON_GetNumberValue(cJSON_GetObjectItem(q, "acc"));
        double k = cJSON_GetNumberValue(cJSON_GetObjectItem(q, "k"));
        CHECK(m >= 2 && m <= 100 && acc >= 0 && acc <= agree && agree <= 1 && k >= 0 && k <= 48,
              "prime %d: mod %g, %g, exact %g, k %g", i, m, agree, acc, k);
    }
    /* stopped while its candidates trained (no checkpoint of its own yet): the next reproduce
     * resumes it, keeping the candidates, and gets the same numbers */
    double iid0 = cell ? cJSON_GetNumberValue(cJSON_GetObjectItem(cJSON_GetObjectItem(cell, "iid"), "mean")) : -1;
    char cmd[400];
    snprintf(cmd, sizeof cmd,
             "cd '%s'/runs/addmod-gnn-s0 && rm -f eval.json last.safetensors best.safetensors candidates.csv && "
             "rm -f candidates/init-2/last.safetensors",
             dir);
    CHECK(system(cmd) == 0, "%s", cmd);
    ReproSummary s2;
    CHECK(reproduce(&o, &s2, &e) == 0 && s2.resumed == 1 && s2.trained == 0, "rerun: rc (%s), resumed %d, trained %d",
          e.msg, s2.resumed, s2.trained);
    char *json2 = slurp(dir, "results.json");
    cJSON *j2 = json2 ? cJSON_Parse(json2) : NULL;
    const cJSON *cell2 = j2 ? cJSON_GetArrayItem(cJSON_GetObjectItem(j2, "results"), 0) : NULL;
    CHECK(cell2 && cJSON_GetNumberValue(cJSON_GetObjectItem(cJSON_GetObjectItem(cell2, "iid"), "mean")) == iid0,
          "the resumed run's IID differs from the straight one's (%g)", iid0);
    cJSON_Delete(j2);
    free(json2);
    cJSON_Delete(j);
    free(json);
    free(md);
    rm_rf(dir);
}

TEST(reproduce_tiny_with_worker_processes) {
    char dir[128] = "/tmp/neurop-test-reprojobs-XXXXXX";
    Err e = {{0}};
    ReproOptions o;
    ReproSummary s;
    int rc = tiny_reproduce(t_, dir, "sumfirst", "direct,gmlp", 2, 2, &o, &s, &e);
    CHECK(rc == 0 && s.total == 4 && s.trained == 4, "rc %d (%s) total %d trained %d", rc, e.msg, s.total, s.trained);
    const char *names[] = {"sumfirst-direct-s0", "sumfirst-gmlp-s0", "sumfirst-direct-s1", "sumfirst-gmlp-s1"};
    check_files(t_, dir, names, 4, 0);
    char *json = slurp(dir, "results.json");
    cJSON *j = json ? cJSON_Parse(json) : NULL;
    CHECK(j && cJSON_GetArraySize(cJSON_GetObjectItem(j, "results")) == 2, "results.json");
    CHECK(j && cJSON_GetArraySize(cJSON_GetObjectItem(j, "scaling")) == 0 &&
              cJSON_GetArraySize(cJSON_GetObjectItem(j, "ablation")) == 0,
          "--no-studies: study entries in results.json");
    CHECK(!exists(dir, "runs/scale-x1-gnn-s0/eval.json") && !exists(dir, "plots/scaling.gp"),
          "--no-studies: a study ran");
    char *md = slurp(dir, "results.md");
    CHECK(md && !strstr(md, "Scaling study") && !strstr(md, "Ablation of Meta-GNN"),
          "--no-studies: study sections in results.md");
    free(md);
    cJSON_Delete(j);
    free(json);
    rc = reproduce(&o, &s, &e);
    CHECK(rc == 0 && s.skipped == 4 && s.trained == 0, "second run: skipped %d", s.skipped);
    rm_rf(dir);
}

/* A run half-trained at one thread (as a --jobs worker trains it) is not continued at two: the
 * invocation is refused before anything trains, naming the folder and both thread counts; the same
 * for a restarts run's candidate. With --jobs 2 (a worker's one thread) it resumes. */
TEST(reproduce_refuses_to_resume_at_another_thread_count) {
#ifdef _OPENMP
    int nt = omp_get_max_threads();
    char dir[128] = "/tmp/neurop-test-reprothreads-XXXXXX";
    if (!mkdtemp(dir)) {
        CHECK(0, "mkdtemp");
        return;
    }
    Err e = {{0}};
    char half[512];
    omp_set_num_threads(1);
    half_run(t_, dir, half, sizeof half);
    ReproOptions o = {.mode = REPRO_TINY,
                      .seeds = 1,
                      .out = dir,
                      .no_real = 1,
                      .no_plots = 1,
                      .no_studies = 1,
                      .jobs = 1,
                      .command = "test"};
    CHECK(!repro_parse_tasks("sumfirst", &o.tasks, &e) && !repro_parse_methods("mlp", &o.methods, &e), "%s", e.msg);
    ReproSummary s;
    omp_set_num_threads(2);
    int rc = reproduce(&o, &s, &e);
    CHECK(rc == -1 && strstr(e.msg, "sumfirst-mlp-s0 was trained so far with threads=1") &&
              strstr(e.msg, "gives its runs threads=2") && strstr(e.msg, "--jobs"),
          "rc %d: '%s'", rc, e.msg);
    CHECK(!exists(dir, "runs/sumfirst-mlp-s0/eval.json"), "the refused run was trained on");

    /* a candidate of ADDMOD Meta-GNN's restarts, the same */
    char cand[600], src[1800];
    snprintf(cand, sizeof cand, "%s/runs/addmod-gnn-s0/candidates/init-1", dir);
    snprintf(src, sizeof src, "mkdir -p %s && cp %s/last.safetensors %s/", cand, half, cand);
    CHECK(system(src) == 0, "%s", src);
    ReproOptions oa = o;
    CHECK(!repro_parse_tasks("addmod", &oa.tasks, &e) && !repro_parse_methods("gnn", &oa.methods, &e), "%s", e.msg);
    rc = reproduce(&oa, &s, &e);
    CHECK(rc == -1 && strstr(e.msg, "addmod-gnn-s0 was trained so far with threads=1"), "candidate: rc %d: '%s'", rc,
          e.msg);

    o.jobs = 2; /* its workers run one thread each: the run resumes */
    rc = reproduce(&o, &s, &e);
    CHECK(rc == 0 && s.resumed == 1 && exists(dir, "runs/sumfirst-mlp-s0/eval.json"),
          "--jobs 2: rc %d (%s), resumed %d", rc, e.msg, s.resumed);
    omp_set_num_threads(nt);
    rm_rf(dir);
#endif
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
            CHECK(quick.steps < d.steps && quick.steps >= 20 && quick.B <= d.B && quick.N <= d.N && quick.eval_n == 128,
                  "%s/%d quick", tasks[t], m);
            CHECK(tiny.steps <= 50 && tiny.eval_n <= 16 && tiny.B <= 2, "%s/%d tiny", tasks[t], m);
            CHECK(quick.eval_every >= 1 && quick.eval_every <= quick.steps && tiny.eval_every <= tiny.steps,
                  "eval_every");
            CHECK(!strcmp(quick.tpl, d.tpl) && quick.meta.width == d.meta.width, "quick keeps the model");
        }
    unsigned mask;
    CHECK(!repro_parse_tasks("arc,sumfirst", &mask, &e) && mask == 5u, "tasks mask %u", mask);
    CHECK(!repro_parse_tasks("all", &mask, &e) && mask == 7u, "all tasks");
    CHECK(!repro_parse_methods("gnn,direct", &mask, &e) && mask == ((1u << METHOD_GNN) | (1u << METHOD_DIRECT)),
          "methods mask");
    CHECK(repro_parse_tasks("sumfirst,nope", &mask, &e) == -1, "unknown task accepted");
    CHECK(repro_parse_methods("gnn,transformer", &mask, &e) == -1, "unknown method accepted");
    CHECK(repro_parse_methods("", &mask, &e) == -1, "empty list accepted");
    CHECK(!repro_parse_studies("scale,ablate", &mask, &e) && mask == 3u, "studies mask %u", mask);
    CHECK(!repro_parse_studies("ablation", &mask, &e) && mask == 2u, "studies mask %u", mask);
    CHECK(repro_parse_studies("scale,nope", &mask, &e) == -1 && strstr(e.msg, "nope"), "unknown study accepted");
}
