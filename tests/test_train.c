/* Training, resuming, synthesis and failure handling, end to end on real tasks:
 * - a short Meta-GNN run on SUMFIRST reaches >= 0.95 IID exact match (test split) in seconds;
 * - resuming equals an uninterrupted run bit for bit (one thread): both for a run extended past
 *   its first end and for one stopped by Ctrl-C (SIGINT) in the middle;
 * - a synthesized program saved to a file loads back and computes exactly what the in-memory
 *   meta-learner computes for that intent (MLP and Transformer templates);
 * - a NaN/Inf loss stops the run with a message and the last checkpoint still loads. */
#include "test.h"
#include "analysis/realarc.h"
#include "io/fileio.h"
#include "io/safetensors.h"
#include "program/progfile.h"
#include "train/run_internal.h"
#include "train/train.h"
#include <dirent.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

/* ---- helpers ---- */

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

/* A fresh, unique run folder under /tmp (the caller removes it with rm_dir). */
static char *temp_dir(char *buf, size_t n, const char *tag) {
    snprintf(buf, n, "/tmp/neurop-test-%s-XXXXXX", tag);
    return mkdtemp(buf);
}

/* Removes a run folder: its files (a run folder has no subfolders), then the folder. */
static void rm_dir(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *de;
    char p[1024];
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        if (unlink(p)) rm_dir(p); /* a folder (restarts' candidates) */
    }
    closedir(d);
    rmdir(dir);
}

static int threads_save(void) {
#ifdef _OPENMP
    int n = omp_get_max_threads();
    omp_set_num_threads(1);
    return n;
#else
    return 1;
#endif
}
static void threads_restore(int n) {
#ifdef _OPENMP
    omp_set_num_threads(n);
#else
    (void)n;
#endif
}

/* A small Meta-GNN config on task (fast: seconds for hundreds of steps). */
static void tiny_config(TrainConfig *c, const char *task, MethodKind m, long steps) {
    Err e;
    NP_ASSERT(!config_defaults(task, m, c, &e), "config_defaults: %s", e.msg);
    c->meta.width = 8;
    c->meta.rounds = 1;
    c->meta.mixer = 8;
    c->steps = steps;
    c->B = 2;
    c->N = 8;
    c->lr = 3e-3f;
    c->lr_min = 3e-4f;
    c->warmup = steps / 10;
    c->eval_every = steps / 4 > 0 ? steps / 4 : 1;
    c->ckpt_every = c->eval_every;
    c->eval_n = 16;
    c->seed = 7;
    c->N_after = 0; /* ADDMOD Meta-GNN's 256 would dwarf N = 8 */
}

/* All parameters and both AdamW moments equal bit for bit; step and optimizer state too. */
static void check_same_state(TestCtx *t_, const char *what, const Run *a, const Run *b) {
    const ParamSet *pa = &a->m.ps, *pb = &b->m.ps;
    CHECK(pa->n == pb->n, "%s: %ld vs %ld parameters", what, pa->n, pb->n);
    if (pa->n != pb->n) return;
    CHECK(a->step == b->step && a->opt.t == b->opt.t, "%s: step %ld/%ld, adam t %ld/%ld", what, a->step, b->step,
          a->opt.t, b->opt.t);
    CHECK(!memcmp(a->data_rng.s, b->data_rng.s, sizeof a->data_rng.s), "%s: the data RNG streams differ", what);
    CHECK(!a->focus_err == !b->focus_err &&
              (!a->focus_err || !memcmp(a->focus_err, b->focus_err, sizeof(float) * (size_t)a->task.n_train)),
          "%s: the focus error averages differ", what);
    const float *bufs[3][2] = {{pa->data, pb->data}, {pa->m, pb->m}, {pa->v, pb->v}};
    const char *names[3] = {"parameters", "AdamW first moments", "AdamW second moments"};
    for (int k = 0; k < 3; k++) {
        if (!memcmp(bufs[k][0], bufs[k][1], pa->n * sizeof(float))) continue;
        long first = -1, ndiff = 0;
        double maxd = 0;
        for (long i = 0; i < pa->n; i++)
            if (memcmp(&bufs[k][0][i], &bufs[k][1][i], sizeof(float))) {
                if (first < 0) first = i;
                ndiff++;
                maxd = fmax(maxd, fabs((double)bufs[k][0][i] - bufs[k][1][i]));
            }
        const char *view = "?";
        for (int i = 0; i < pa->count; i++)
            if (first >= pa->views[i].off && first < pa->views[i].off + pa->views[i].numel) view = pa->views[i].name;
        CHECK(0, "%s: %s differ in %ld of %ld values (first in %s, max |diff| %.3g)", what, names[k], ndiff, pa->n,
              view, maxd);
    }
}

/* ---- a short SUMFIRST run ---- */

TEST(train_gnn_sumfirst_reaches_95_percent) {
    /* quick mode (the sanitizer run): a third of the steps, and learning shown by IID 0.5 where an
     * untrained generator gets under 0.1 (400 steps reach 0.97 at -O3; the bound leaves room for
     * another float rounding) */
    int quick = test_quick();
    /* one thread: with OMP_NUM_THREADS=2 on a machine that other processes also load, OpenMP's
     * spinning threads made this run 13x slower (96 s instead of 7.5 s) */
    int nt = threads_save();
    TrainConfig c;
    Err e = {{0}};
    CHECK(!config_defaults("sumfirst", METHOD_GNN, &c, &e), "%s", e.msg);
    /* The default lr (3e-3), not 1e-2, at which one seed in five stalls (docs/defaults.md). 800
     * steps were at the edge: another float rounding (row-tiled products) took seed 0 from 0.999 to
     * 0.798 there; 1,200 of the default 2,000 give IID test 1.000 (neurop train --steps 1200). */
    c.steps = quick ? 400 : 1200;
    c.warmup = c.steps / 20;
    c.eval_every = c.steps;
    c.ckpt_every = c.steps;
    char dir[128];
    if (!temp_dir(dir, sizeof dir, "sumfirst")) {
        CHECK(0, "mkdtemp failed");
        threads_restore(nt);
        return;
    }
    Run r;
    if (run_init(&r, &c, &e)) {
        CHECK(0, "run_init: %s", e.msg);
        rm_dir(dir);
        threads_restore(nt);
        return;
    }
    TrainOptions o = {.dir = dir, .resume = 0, .verbose = 0};
    double t0 = now_s();
    int rc = run_train(&r, &o, &e);
    double secs = now_s() - t0;
    CHECK(rc == 0, "run_train: %d %s", rc, e.msg);
    EvalReport rep;
    run_evaluate(&r, SPLIT_TEST, 1, &rep);
    double want = quick ? 0.5 : 0.95;
    CHECK(rep.iid >= want,
          "Meta-GNN on SUMFIRST after %ld steps (%.1f s): IID test exact match %.3f, want >= %.2f (OOD %.3f)", c.steps,
          secs, rep.iid, want, rep.ood);
    if (getenv("NEUROP_GC_VERBOSE"))
        printf("    %ld steps in %.1f s: IID test %.3f, OOD %.3f\n", c.steps, secs, rep.iid, rep.ood);
    eval_report_free(&rep);
    run_free(&r);
    rm_dir(dir);
    threads_restore(nt);
}

/* ---- resume ---- */

/* Run A trains to `steps` without a stop; run B to `first` in the same configuration, but with
 * schedule-independent settings (warmup 0, lr_min = lr: the schedule does not depend on the
 * total), then resumes with steps raised to `steps`. */
/* Run A trains c straight through; run B trains c to `first` steps, then resumes to c's step
 * count (--steps on the resume); their states must be equal bit for bit. Both runs stay open in
 * the folders da and db (made here) for the caller's checks; -1 when they could not be made. */
static int straight_and_resumed(TestCtx *t_, const TrainConfig *c, long first, Run *a, Run *b, char *da, char *db,
                                const char *what) {
    if (!temp_dir(da, 128, "resumeA") || !temp_dir(db, 128, "resumeB")) {
        CHECK(0, "mkdtemp failed");
        return -1;
    }
    Err e = {{0}};
    TrainOptions oa = {.dir = da}, ob = {.dir = db};
    CHECK(!run_init(a, c, &e) && run_train(a, &oa, &e) == 0, "%s, run A: %s", what, e.msg);
    TrainConfig c1 = *c;
    c1.steps = first;
    CHECK(!run_init(b, &c1, &e) && run_train(b, &ob, &e) == 0 && b->step == first, "%s, run B, first part: %s", what,
          e.msg);
    ob.resume = 1;
    ob.steps = c->steps; /* --steps on the resume: the run goes on to `steps` */
    CHECK(run_train(b, &ob, &e) == 0, "%s, run B, resumed: %s", what, e.msg);
    CHECK(b->step == c->steps && b->cfg.steps == c->steps, "%s: run B ended at step %ld of %ld", what, b->step,
          b->cfg.steps);
    check_same_state(t_, what, a, b);
    return 0;
}

TEST(train_resume_extended_run_bit_identical) {
    int nt = threads_save();
    const long steps = test_quick() ? 12 : 60, first = steps / 3;
    TrainConfig c;
    tiny_config(&c, "sumfirst", METHOD_GNN, steps);
    c.warmup = 0;
    c.lr_min = c.lr;
    c.eval_every = 7;
    c.ckpt_every = 5; /* neither divides `first`: the stop is not on a checkpoint period */
    char da[128], db[128];
    Run a, b;
    if (!straight_and_resumed(t_, &c, first, &a, &b, da, db, "extended resume")) {
        run_free(&a);
        run_free(&b);
        rm_dir(da);
        rm_dir(db);
    }
    threads_restore(nt);
}

/* A tiny run of task and method with `setting` is refused by run_init with a message holding `why`. */
static void check_refused(TestCtx *t_, const char *task, MethodKind m, const char *setting, const char *why) {
    TrainConfig c;
    Err e = {{0}};
    tiny_config(&c, task, m, 2);
    CHECK(!config_set(&c, setting, &e), "%s", e.msg);
    Run r;
    CHECK(run_init(&r, &c, &e) == -1 && strstr(e.msg, why), "%s, %s: '%s'", method_id(m), setting, e.msg);
}

/* base=1: θ₀ is a parameter like any other (saved, restored: a resumed run is the straight one bit
 * for bit), training moves it off zero, and direct, which has no generated program, refuses it. */
TEST(train_base_resumes_and_learns) {
    int nt = threads_save();
    const long steps = test_quick() ? 8 : 20;
    TrainConfig c;
    Err e = {{0}};
    tiny_config(&c, "sumfirst", METHOD_GNN, steps);
    c.warmup = 0;
    c.lr_min = c.lr;
    CHECK(!config_set(&c, "base=1", &e), "%s", e.msg);
    char da[128], db[128];
    Run a, b;
    if (!straight_and_resumed(t_, &c, steps / 2, &a, &b, da, db, "base=1")) {
        int v = params_find(&a.m.ps, "head.base");
        double moved = 0;
        for (long j = 0; v >= 0 && j < a.m.ps.views[v].numel; j++)
            moved = fmax(moved, fabs(a.m.ps.data[a.m.ps.views[v].off + j]));
        CHECK(v >= 0 && moved > 1e-4, "base=1: θ₀ %s after %ld steps (largest |entry| %.3g)",
              v >= 0 ? "did not move" : "is not a parameter", steps, moved);
        run_free(&a);
        run_free(&b);
        rm_dir(da);
        rm_dir(db);
    }
    check_refused(t_, "sumfirst", METHOD_DIRECT, "base=1", "base=1 adds a learned program");
    threads_restore(nt);
}

/* A setting that carries run state or changes the data stream: c (with the setting) resumed
 * mid-run is bit-identical to c straight through, and c trains other parameters than `off` (the
 * same run without the setting: the trainer does not ignore it). */
static void setting_resumes_and_matters(TestCtx *t_, const TrainConfig *c, const TrainConfig *off, const char *what) {
    char da[128], db[128], dc[128];
    Run a, b, u;
    if (straight_and_resumed(t_, c, c->steps / 2, &a, &b, da, db, what)) return;
    Err e = {{0}};
    TrainOptions oc = {.dir = dc};
    if (temp_dir(dc, sizeof dc, "resumeC")) {
        CHECK(!run_init(&u, off, &e) && run_train(&u, &oc, &e) == 0, "%s off: %s", what, e.msg);
        CHECK(u.m.ps.n == a.m.ps.n && memcmp(u.m.ps.data, a.m.ps.data, sizeof(float) * (size_t)a.m.ps.n),
              "%s trained the same parameters as the run without it", what);
        run_free(&u);
        rm_dir(dc);
    }
    run_free(&a);
    run_free(&b);
    rm_dir(da);
    rm_dir(db);
}

/* The tiny run of task and method with setting `on`, against the same run with `off`. */
static void check_setting(TestCtx *t_, const char *task, MethodKind m, const char *on, const char *off) {
    int nt = threads_save();
    TrainConfig c, c_off;
    Err e = {{0}};
    tiny_config(&c, task, m, test_quick() ? 8 : 20);
    c.warmup = 0;
    c.lr_min = c.lr; /* the schedule of a run extended on resume is not the straight run's */
    c_off = c;
    CHECK(!config_set(&c, on, &e) && !config_set(&c_off, off, &e), "%s", e.msg);
    setting_resumes_and_matters(t_, &c, &c_off, on);
    threads_restore(nt);
}

/* intent_mix draws ADDMOD's primes by their training pairs: a resumed run draws the same intents
 * (bit-identical), and they are not the uniform draw's (the parameters differ from intent_mix=0's). */
TEST(train_intent_mix_resume_bit_identical) { check_setting(t_, "addmod", METHOD_MLP, "intent_mix=1", "intent_mix=0"); }

/* Grokfast's gradient average is run state: it must be saved and restored with the checkpoint. */
TEST(train_grokfast_resume_bit_identical) { check_setting(t_, "sumfirst", METHOD_GNN, "grokfast=2", "grokfast=0"); }

/* The intent MLP (Meta-GNN only): ADDMOD's row has it and 1D-ARC's not, a run with it resumes
 * bit-identically, the encoders read its 16 outputs in place of U's features, training moves it,
 * and the other methods refuse it. */
TEST(train_imlp_resumes_and_is_gnn_only) {
    int nt = threads_save();
    TrainConfig c;
    Err e = {{0}};
    CHECK(!config_defaults("addmod", METHOD_GNN, &c, &e) && c.meta.imlp == 64 && c.steps == 24000,
          "ADDMOD Meta-GNN: imlp %d, %ld steps (%s)", c.meta.imlp, c.steps, e.msg);
    CHECK(!config_defaults("arc", METHOD_GNN, &c, &e) && c.meta.imlp == 0, "1D-ARC Meta-GNN: imlp %d (%s)", c.meta.imlp,
          e.msg);
    tiny_config(&c, "addmod", METHOD_GNN, test_quick() ? 8 : 20);
    c.warmup = 0;
    c.lr_min = c.lr; /* the schedule of a run extended on resume is not the straight run's */
    CHECK(!config_set(&c, "imlp=8", &e) && !config_set(&c, "restarts=1", &e), "%s", e.msg);
    char da[128], db[128];
    Run a, b, r0;
    if (!straight_and_resumed(t_, &c, c.steps / 2, &a, &b, da, db, "imlp=8")) {
        CHECK(!run_init(&r0, &c, &e), "%s", e.msg); /* the same run, untrained */
        const ParamSet *ps = &a.m.ps;
        int w = params_find(ps, "imlp.0.weight"), o = params_find(ps, "imlp.1.weight"),
            u = params_find(ps, "enc.node.u.weight");
        CHECK(w >= 0 && o >= 0 && u >= 0 && ps->views[w].shape[1] == 3 && ps->views[w].shape[2] == 8 &&
                  ps->views[o].shape[2] == 16 && ps->views[u].shape[0] == 16,
              "imlp=8: want imlp.0.weight [1, 3, 8], imlp.1.weight [1, 8, 16] and enc.node.u.weight [16, ...]");
        if (w >= 0)
            CHECK(memcmp(ps->data + ps->views[w].off, r0.m.ps.data + ps->views[w].off,
                         sizeof(float) * (size_t)ps->views[w].numel),
                  "imlp=8: training left the intent MLP at its initial values");
        run_free(&r0);
        run_free(&a);
        run_free(&b);
        rm_dir(da);
        rm_dir(db);
    }
    check_refused(t_, "addmod", METHOD_MLP, "imlp=8", "imlp=8: the intent MLP is Meta-GNN's");
    threads_restore(nt);
}

/* focus's error averages are run state (checkpoint metadata) and steer the draw. ADDMOD's small
 * primes are guessed right often enough that the averages leave 1 within the first half. */
TEST(train_focus_resume_bit_identical) { check_setting(t_, "addmod", METHOD_MLP, "focus=1", "focus=0"); }

/* focus draws ∝ err + 0.05 with probability focus, held intents never; the training batches move
 * err from 1 toward their error; bad metadata is refused with a message. */
TEST(train_focus_draws_where_batches_fail) {
    int nt = threads_save();
    TrainConfig c;
    Err e = {{0}};
    tiny_config(&c, "addmod", METHOD_MLP, 40);
    CHECK(!config_set(&c, "focus=0.5", &e) && !config_set(&c, "hold=2", &e), "%s", e.msg);
    Run r;
    if (run_init(&r, &c, &e)) {
        CHECK(0, "run_init: %s", e.msg);
        threads_restore(nt);
        return;
    }
    int n = r.task.n_train, held = 0, count[64] = {0};
    CHECK(n <= 64 && r.focus_err, "%d train intents, focus_err %p", n, (void *)r.focus_err);
    for (int i = 0; i < n; i++) {
        CHECK(r.focus_err[i] == 1.0f, "intent %d starts at err %g, not 1", i, r.focus_err[i]);
        r.focus_err[i] = i == 0 ? 1.0f : 0.0f;
        held += task_held(&r.task, c.hold, i);
    }
    CHECK(!task_held(&r.task, c.hold, 0) && held == 2, "hold=2 holds %d (intent 0 held: %d)", held,
          task_held(&r.task, c.hold, 0));
    Rng rng;
    rng_seed(&rng, 1);
    const int draws = 40000;
    double *cdf = task_intent_cdf(&r.task, c.intent_mix, c.family_mix, c.hold); /* the trainer's usual draw */
    for (int k = 0; k < draws; k++) count[focus_draw(&r, cdf, &rng)]++;
    free(cdf);
    /* half uniform over the n − 2 trained intents, half ∝ err + 0.05 */
    double want0 = 0.5 / (n - held) + 0.5 * 1.05 / (1.05 + 0.05 * (n - held - 1));
    CHECK(fabs((double)count[0] / draws - want0) < 0.01, "intent 0 drawn %.4f of the time, want %.4f",
          (double)count[0] / draws, want0);
    for (int i = 0; i < n; i++)
        if (task_held(&r.task, c.hold, i)) CHECK(count[i] == 0, "held intent %d drawn %d times", i, count[i]);
    /* metadata: what is written reads back; anything else is one error */
    char *text = focus_format(&r);
    for (int i = 0; i < n; i++) r.focus_err[i] = 0.5f;
    CHECK(!focus_parse(&r, text, "ckpt", &e) && r.focus_err[0] == 1.0f && r.focus_err[1] == 0.0f, "round trip: %s",
          e.msg);
    free(text);
    const char *bad[] = {NULL, "", "1,0", "1,x", "2,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0", "nan"};
    for (int k = 0; k < (int)(sizeof bad / sizeof *bad); k++) {
        e.msg[0] = 0;
        CHECK(focus_parse(&r, bad[k], "ckpt", &e) && strstr(e.msg, "focus_err"), "'%s' accepted (%s)",
              bad[k] ? bad[k] : "(none)", e.msg);
    }
    run_free(&r);
    /* training moves the averages off 1, into [0, 1] */
    char dir[128];
    if (temp_dir(dir, sizeof dir, "focus")) {
        TrainOptions o = {.dir = dir};
        CHECK(!run_init(&r, &c, &e) && run_train(&r, &o, &e) == 0, "training: %s", e.msg);
        int moved = 0, in_range = 1;
        for (int i = 0; i < n && r.focus_err; i++) {
            moved += r.focus_err[i] < 1.0f;
            in_range &= r.focus_err[i] >= 0.0f && r.focus_err[i] <= 1.0f;
        }
        CHECK(moved > 0 && in_range, "after 40 steps %d of %d averages left 1 (all in [0, 1]: %d)", moved, n, in_range);
        run_free(&r);
        rm_dir(dir);
    }
    threads_restore(nt);
}

/* Ctrl-C in the middle of a run, then --resume: the same as never stopping, with the full
 * warmup + cosine schedule. The SIGINT is raised by run_train's after_step hook once step `at` is
 * done: raise() runs the handler before it returns, so the next step sees the flag, completes,
 * saves and stops, at step at + 1 on every machine and under any load. The test's own handler
 * counts any SIGINT that lands outside run_train. */
static volatile sig_atomic_t stray_sigints;
static void count_sigint(int s) {
    (void)s;
    stray_sigints++;
}
static void sigint_at(const Run *r, void *arg) {
    if (r->step == *(const long *)arg) raise(SIGINT);
}

TEST(train_resume_after_sigint_bit_identical) {
    int nt = threads_save();
    const long steps = test_quick() ? 60 : 300;
    TrainConfig c;
    tiny_config(&c, "sumfirst", METHOD_GNN, steps);
    char da[128], db[128];
    if (!temp_dir(da, sizeof da, "sigintA") || !temp_dir(db, sizeof db, "sigintB")) {
        CHECK(0, "mkdtemp failed");
        threads_restore(nt);
        return;
    }
    Err e = {{0}};
    Run a, b;
    TrainOptions oa = {.dir = da}, ob = {.dir = db};
    CHECK(!run_init(&a, &c, &e) && run_train(&a, &oa, &e) == 0, "run A: %s", e.msg);

    struct sigaction sa = {0}, old;
    sa.sa_handler = count_sigint;
    sigaction(SIGINT, &sa, &old);
    stray_sigints = 0;
    CHECK(!run_init(&b, &c, &e), "run B: %s", e.msg);
    long at = steps / 3; /* not on a checkpoint or evaluation period: the stop writes its own */
    ob.after_step = sigint_at;
    ob.after_step_arg = &at;
    int rc = run_train(&b, &ob, &e);
    ob.after_step = NULL;
    long stopped_at = b.step;
    sigaction(SIGINT, &old, NULL);
    CHECK(rc == 1 && stopped_at == at + 1 && !stray_sigints,
          "interrupted run: rc %d at step %ld, want %ld; %d SIGINTs outside run_train (%s)", rc, stopped_at, at + 1,
          (int)stray_sigints, e.msg);
    ob.resume = 1;
    CHECK(run_train(&b, &ob, &e) == 0 && b.step == steps, "resumed run: %s (step %ld)", e.msg, b.step);
    check_same_state(t_, "resume after SIGINT", &a, &b);
    if (getenv("NEUROP_GC_VERBOSE")) printf("    stopped at step %ld of %ld, resumed\n", stopped_at, steps);
    run_free(&a);
    run_free(&b);
    rm_dir(da);
    rm_dir(db);
    threads_restore(nt);
}

/* ---- synthesized programs ---- */

/* θ = M(U) saved as a program file and loaded back: the same template and bytes, and running it
 * gives exactly what the meta-learner's own forward pass gives for that intent. */
static void synth_roundtrip(TestCtx *t_, const char *task, const char *intent_text) {
    TrainConfig c;
    tiny_config(&c, task, METHOD_GNN, 10);
    Err e = {{0}};
    Run r;
    if (run_init(&r, &c, &e)) {
        CHECK(0, "%s: run_init: %s", task, e.msg);
        return;
    }
    Intent u;
    if (task_intent_parse(&r.task, intent_text, &u, &e)) {
        CHECK(0, "%s: %s", task, e.msg);
        run_free(&r);
        return;
    }
    const Template *tp = &r.tpl;
    float *theta = xmalloc(tp->n_theta * sizeof(float));
    run_synth(&r, u, theta);
    char dir[128], path[256];
    if (!temp_dir(dir, sizeof dir, "synth")) {
        CHECK(0, "mkdtemp failed");
        free(theta);
        run_free(&r);
        return;
    }
    snprintf(path, sizeof path, "%s/program.safetensors", dir);
    CHECK(!program_save(path, tp, theta, intent_text, &e), "%s: program_save: %s", task, e.msg);
    Program p;
    memset(&p, 0, sizeof p);
    if (program_load(path, &p, &e)) {
        CHECK(0, "%s: program_load: %s", task, e.msg);
        goto out;
    }
    char t1[TPL_TEXT_MAX], t2[TPL_TEXT_MAX];
    template_format(tp, t1, sizeof t1);
    template_format(&p.t, t2, sizeof t2);
    CHECK(!strcmp(t1, t2) && p.t.n_theta == tp->n_theta, "%s: template '%s' came back as '%s'", task, t1, t2);
    CHECK(p.t.n_theta == tp->n_theta && !memcmp(p.theta, theta, tp->n_theta * sizeof(float)),
          "%s: θ changed on the way through the file", task);
    CHECK(p.intent && !strcmp(p.intent, intent_text), "%s: intent '%s' came back as '%s'", task, intent_text,
          p.intent ? p.intent : "(null)");

    /* random inputs of the task, run three ways */
    const int N = 16;
    Rng rr;
    rng_seed(&rr, 99);
    Examples ex;
    examples_alloc(&r.task, N, &ex);
    task_sample(&r.task, u, task_is_ood(&r.task, u) ? SPLIT_OOD : SPLIT_TRAIN, &rr, N, &ex);
    Arena a;
    arena_init(&a, 1 << 20);
    Graph g;
    graph_init(&g, &a);
    g.no_grad = 1;
    Tensor *from_file, *in_memory, *meta;
    Tensor *thf = tensor_wrap(&g, p.theta, NULL, SHAPE(1, (int)p.t.n_theta)),
           *thm = tensor_wrap(&g, theta, NULL, SHAPE(1, (int)tp->n_theta));
    float feat[64];
    task_features(&r.task, u, feat);
    Batch b = {.B = 1, .N = N, .feat = feat, .x = ex.x, .tok = ex.tok};
    if (tp->kind == TPL_MLP) {
        Tensor *x = tensor_wrap(&g, ex.x, NULL, SHAPE(1, N, tp->widths[0]));
        from_file = exec_mlp(&g, &p.t, thf, x);
        in_memory = exec_mlp(&g, tp, thm, x);
    } else {
        from_file = exec_transformer(&g, &p.t, thf, ex.tok, 1, N);
        in_memory = exec_transformer(&g, tp, thm, ex.tok, 1, N);
    }
    meta = method_forward(&g, &r.m, &b);
    CHECK(from_file->numel == in_memory->numel && from_file->numel == meta->numel, "%s: output sizes %ld, %ld, %ld",
          task, from_file->numel, in_memory->numel, meta->numel);
    if (from_file->numel == meta->numel) {
        CHECK(!memcmp(from_file->data, in_memory->data, from_file->numel * sizeof(float)),
              "%s: the loaded program computes something else", task);
        CHECK(!memcmp(from_file->data, meta->data, from_file->numel * sizeof(float)),
              "%s: the loaded program differs from the meta-learner's forward", task);
    }
    graph_free(&g);
    arena_free(&a);
    examples_free(&ex);
    program_free(&p);
out:
    free(theta);
    run_free(&r);
    rm_dir(dir);
}

TEST(train_synth_program_file_roundtrip) {
    synth_roundtrip(t_, "sumfirst", "n=4"); /* an OOD intent, MLP template */
    synth_roundtrip(t_, "addmod", "p=83");  /* an OOD prime, Transformer template */
}

/* ---- NaN ---- */

/* An absurd learning rate: the loss overflows within a few steps; the run stops with -1 and a
 * message naming NaN or Inf, and the checkpoint written after the last good step is a complete,
 * finite file. (Read here as a safetensors file: the run loader re-validates the stored config,
 * and config_set refuses lr > 10, so this run's own config would not pass.) */
TEST(train_nan_loss_stops_and_keeps_checkpoint) {
    int nt = threads_save();
    TrainConfig c;
    tiny_config(&c, "sumfirst", METHOD_GNN, 200);
    c.lr = 1e9f;
    c.lr_min = 1e9f;
    c.warmup = 0;
    c.clip = 1e9f;
    c.ckpt_every = 1;
    c.eval_every = 1000;
    char dir[128], last[256];
    if (!temp_dir(dir, sizeof dir, "nan")) {
        CHECK(0, "mkdtemp failed");
        threads_restore(nt);
        return;
    }
    snprintf(last, sizeof last, "%s/last.safetensors", dir);
    Err e = {{0}};
    Run r;
    if (run_init(&r, &c, &e)) {
        CHECK(0, "run_init: %s", e.msg);
        rm_dir(dir);
        threads_restore(nt);
        return;
    }
    TrainOptions o = {.dir = dir};
    int rc = run_train(&r, &o, &e);
    long stopped = r.step;
    CHECK(rc == -1, "run_train returned %d at step %ld, want -1 (a NaN/Inf loss)", rc, stopped);
    CHECK(strstr(e.msg, "NaN") || strstr(e.msg, "Inf"), "message without NaN/Inf: '%s'", e.msg);
    if (getenv("NEUROP_GC_VERBOSE")) printf("    stopped at step %ld: %s\n", stopped, e.msg);
    if (stopped > 0) {
        Err e2 = {{0}};
        StFile *f = st_read(last, &e2);
        CHECK(f != NULL, "the last checkpoint does not read back: %s", e2.msg);
        if (f) {
            long bad = 0, n = 0;
            for (int i = 0; i < st_count(f); i++) {
                const StTensor *t = st_at(f, i);
                for (int64_t k = 0; k < st_numel(t); k++) bad += !isfinite(t->data[k]);
                n += st_numel(t);
            }
            CHECK(n >= 3 * r.m.ps.n && bad == 0, "the kept checkpoint: %ld values (want %ld), %ld not finite", n,
                  3 * r.m.ps.n, bad);
            const char *st = st_meta(f, "step");
            CHECK(st && atol(st) == stopped, "the kept checkpoint is from step %s, the run stopped at %ld",
                  st ? st : "?", stopped);
            st_free(f);
        }
    }
    run_free(&r);
    rm_dir(dir);
    threads_restore(nt);
}

/* A run that meets a NaN stops at once and writes nothing: a run trains a few steps (a checkpoint
 * after each), one parameter of its checkpoint becomes NaN, the resumed run must stop at its
 * first step with a message and leave the checkpoint bit for bit as it was. The loss alone does
 * not show this NaN (ReLU maps NaN to 0, and this one only reaches ReLU inputs): without the
 * trainer's check of the gradient norm the run went on with NaN parameters and saved them. */
TEST(train_nan_keeps_last_good_checkpoint_intact) {
    int nt = threads_save();
    TrainConfig c;
    tiny_config(&c, "sumfirst", METHOD_GNN, 6);
    c.ckpt_every = 1;
    c.eval_every = 1000;
    char dir[128], last[256];
    if (!temp_dir(dir, sizeof dir, "nan2")) {
        CHECK(0, "mkdtemp failed");
        threads_restore(nt);
        return;
    }
    snprintf(last, sizeof last, "%s/last.safetensors", dir);
    Err e = {{0}};
    Run r;
    TrainOptions o = {.dir = dir};
    if (run_init(&r, &c, &e) || run_train(&r, &o, &e)) {
        CHECK(0, "first part: %s", e.msg);
        rm_dir(dir);
        threads_restore(nt);
        return;
    }
    /* the parameter in the middle of θ's generator, made NaN in the checkpoint */
    const ParamSet *ps = &r.m.ps;
    long mid = ps->n / 2;
    const ParamView *v = NULL;
    for (int i = 0; i < ps->count; i++)
        if (mid >= ps->views[i].off && mid < ps->views[i].off + ps->views[i].numel) v = &ps->views[i];
    StFile *f = st_read(last, &e);
    CHECK(f && v, "the checkpoint: %s", e.msg);
    if (f && v) {
        int nt_ = st_count(f), nm = st_meta_count(f);
        StTensor *ts = xcalloc(nt_, sizeof *ts);
        StMeta *meta = xcalloc(nm, sizeof *meta);
        for (int i = 0; i < nt_; i++) ts[i] = *st_at(f, i);
        for (int i = 0; i < nm; i++) meta[i] = *st_meta_at(f, i);
        st_find(f, v->name)->data[mid - v->off] = NAN;
        CHECK(!st_write(last, ts, nt_, meta, nm, &e), "%s", e.msg);
        free(ts);
        free(meta);
        st_free(f);
    }
    unsigned char *before = NULL, *after = NULL;
    size_t nb = 0, na = 0;
    CHECK(!read_file(last, &before, &nb, &e), "%s", e.msg);
    o.resume = 1;
    o.steps = 12;
    int rc = run_train(&r, &o, &e);
    CHECK(rc == -1 && r.step == 6, "with a NaN parameter: rc %d at step %ld, want -1 at step 6", rc, r.step);
    CHECK(strstr(e.msg, "NaN") || strstr(e.msg, "Inf"), "message without NaN/Inf: '%s'", e.msg);
    CHECK(strstr(e.msg, "step 7"), "the message names another step than the failed 7th: '%s'", e.msg);
    CHECK(!read_file(last, &after, &na, &e), "%s", e.msg);
    CHECK(before && after && na == nb && !memcmp(before, after, nb), "the checkpoint changed after the NaN");
    free(before);
    free(after);
    run_free(&r);
    rm_dir(dir);
    threads_restore(nt);
}

/* The first step's NaN cannot point to a checkpoint: none was written yet. */
TEST(train_nan_at_first_step_says_no_checkpoint) {
    TrainConfig c;
    tiny_config(&c, "sumfirst", METHOD_GNN, 4);
    char dir[128];
    if (!temp_dir(dir, sizeof dir, "nan3")) {
        CHECK(0, "mkdtemp failed");
        return;
    }
    Err e = {{0}};
    Run r;
    TrainOptions o = {.dir = dir};
    if (run_init(&r, &c, &e)) {
        CHECK(0, "%s", e.msg);
        rm_dir(dir);
        return;
    }
    r.m.ps.data[0] = INFINITY;
    int rc = run_train(&r, &o, &e);
    CHECK(rc == -1 && r.step == 0, "rc %d at step %ld, want -1 at step 0", rc, r.step);
    CHECK(strstr(e.msg, "at step 1") && strstr(e.msg, "no checkpoint was written yet") && !strstr(e.msg, "intact"),
          "message: '%s'", e.msg);
    run_free(&r);
    rm_dir(dir);
}

/* An evaluation scores every intent, however many: with 70 train intents (more than the 64 a
 * fixed report once held, which then dropped every OOD intent and reported OOD 0) both OOD
 * intents are still scored, and the means are over all of them. */
TEST(train_evaluate_scores_every_intent) {
    TrainConfig c;
    tiny_config(&c, "sumfirst", METHOD_GNN, 1);
    c.eval_n = 4;
    Err e = {{0}};
    Run r;
    if (run_init(&r, &c, &e)) {
        CHECK(0, "%s", e.msg);
        return;
    }
    Intent many[70];
    for (int i = 0; i < 70; i++) many[i] = r.task.train[i % r.task.n_train];
    const Intent *saved = r.task.train;
    int saved_n = r.task.n_train;
    r.task.train = many;
    r.task.n_train = 70;
    EvalReport rep;
    run_evaluate(&r, SPLIT_VAL, 1, &rep);
    CHECK(rep.n == 70 + r.task.n_ood && rep.n_iid == 70 && rep.n_ood == r.task.n_ood, "%d items: %d IID, %d OOD", rep.n,
          rep.n_iid, rep.n_ood);
    double ood = 0;
    for (int i = 70; i < rep.n; i++) {
        CHECK(rep.items[i].split == SPLIT_OOD && rep.items[i].n == 4, "item %d: split %d, n %d", i, rep.items[i].split,
              rep.items[i].n);
        ood += rep.items[i].n ? (double)rep.items[i].correct / rep.items[i].n : 0;
    }
    CHECK_NEAR(rep.ood, ood / r.task.n_ood, 1e-12);
    eval_report_free(&rep);
    r.task.train = saved;
    r.task.n_train = saved_n;
    run_free(&r);
}

/* hold=K: the K held intents are scored apart (held), the IID mean is over the others; a hold that
 * leaves nothing to train on is refused. */
TEST(train_evaluate_held_intents) {
    TrainConfig c;
    tiny_config(&c, "addmod", METHOD_MLP, 1);
    c.eval_n = 8;
    c.hold = 3;
    Err e = {{0}};
    Run r;
    if (run_init(&r, &c, &e)) {
        CHECK(0, "%s", e.msg);
        return;
    }
    EvalReport rep;
    run_evaluate(&r, SPLIT_VAL, 0, &rep);
    CHECK(rep.n == r.task.n_train && rep.n_held == 3 && rep.n_iid == r.task.n_train - 3, "%d items, %d held, %d IID",
          rep.n, rep.n_held, rep.n_iid);
    double iid = 0, held = 0;
    int nh = 0;
    for (int i = 0; i < rep.n; i++) {
        double a = rep.items[i].n ? (double)rep.items[i].correct / rep.items[i].n : 0;
        int p = rep.items[i].u.param, want = p == 17 || p == 41 || p == 71;
        CHECK(rep.items[i].held == want, "p=%d held %d", p, rep.items[i].held);
        if (rep.items[i].held) held += a, nh++;
        else iid += a;
    }
    CHECK(nh == 3, "%d held", nh);
    CHECK_NEAR(rep.iid, iid / (r.task.n_train - 3), 1e-12);
    CHECK_NEAR(rep.held, held / 3, 1e-12);
    eval_report_free(&rep);
    c.hold = r.task.n_train;
    run_free(&r);
    CHECK(run_init(&r, &c, &e) == -1 && strstr(e.msg, "hold=22: addmod has 22 train intents"), "'%s'", e.msg);
}

/* theta_l2: the penalty is theta_l2/2 × each program's mean square over the generated weight
 * matrices' entries (biases excluded) above theta_ms, averaged over programs, recomputed here from
 * θ itself: all of it with theta_ms = 0, only the larger program's excess with theta_ms between. */
TEST(train_theta_penalty_value) {
    TrainConfig c;
    Err e = {{0}};
    CHECK(!config_defaults("addmod", METHOD_GNN, &c, &e), "%s", e.msg);
    c.meta.width = 8;
    CHECK(!config_set(&c, "theta_l2=0.7", &e) && c.theta_l2 == 0.7f, "theta_l2: %s", e.msg);
    CHECK(config_set(&c, "theta_l2=-1", &e) == -1 && strstr(e.msg, "theta_l2=-1: want a number"), "'%s'", e.msg);
    CHECK(!config_set(&c, "theta_ms=0.25", &e) && c.theta_ms == 0.25f, "theta_ms: %s", e.msg);
    CHECK(config_set(&c, "theta_ms=-1", &e) == -1 && strstr(e.msg, "theta_ms=-1: want a number"), "'%s'", e.msg);
    Run r;
    CHECK(!run_init(&r, &c, &e), "run_init: %s", e.msg);
    BatchBuf bb;
    batch_alloc(&r, 2, 4, &bb);
    Intent us[2] = {r.task.train[0], r.task.train[5]};
    Rng rr;
    rng_seed(&rr, 5);
    for (int b = 0; b < 2; b++) task_sample(&r.task, us[b], SPLIT_TRAIN, &rr, 4, &bb.ex[b]);
    batch_pack(&r, &bb, us);
    Arena a;
    arena_init(&a, 1 << 22);
    Graph g;
    graph_init(&g, &a);
    Tensor *theta = NULL;
    batch_forward(&g, &r, &bb, &theta);
    CHECK(theta && theta->shape[0] == 2 && theta->shape[1] == (int)r.m.tpl.n_theta, "θ [2, %ld]", r.m.tpl.n_theta);
    if (theta) {
        double ms[2] = {0, 0};
        long nw = 0;
        for (int k = 0; k < r.m.tpl.n_tensors; k++) {
            const TplTensor *tt = &r.m.tpl.tensors[k];
            if (tt->ndim != 2) continue;
            nw += tt->numel;
            for (int b = 0; b < 2; b++)
                for (long j = 0; j < tt->numel; j++) {
                    double v = theta->data[(long)b * r.m.tpl.n_theta + tt->off + j];
                    ms[b] += v * v;
                }
        }
        CHECK(nw > 0 && nw < r.m.tpl.n_theta, "matrix entries %ld of %ld", nw, r.m.tpl.n_theta);
        ms[0] /= nw;
        ms[1] /= nw;
        CHECK(fabs(ms[0] - ms[1]) > 1e-3 * ms[1], "two programs of the same size (%g, %g): no test of the bound", ms[0],
              ms[1]);
        CHECK_REL(theta_penalty(&g, &r, theta, 0.7f, 0.0f)->data[0], 0.35 * (ms[0] + ms[1]) / 2, 1e-5);
        double mid = (ms[0] + ms[1]) / 2, hi = fmax(ms[0], ms[1]);
        CHECK_REL(theta_penalty(&g, &r, theta, 0.7f, (float)mid)->data[0], 0.35 * (hi - (float)mid) / 2, 1e-4);
        CHECK(theta_penalty(&g, &r, theta, 0.7f, (float)(2 * hi))->data[0] == 0.0f, "programs under theta_ms cost");
    }
    graph_free(&g);
    arena_free(&a);
    batch_free(&bb);
    run_free(&r);
}

/* interp: the pair is two neighbouring trained primes (a held one is skipped, never an end), every
 * such pair is drawn, s is in [0, 1); the penalty is interp × the mean square of θ(x) − ((1 − s)θ(a)
 * + sθ(b)) recomputed here from three separate generations; tasks and methods without a number
 * line are refused. */
TEST(train_interp_penalty_value) {
    TrainConfig c;
    tiny_config(&c, "addmod", METHOD_GNN, 1);
    c.hold = 3;
    Err e = {{0}};
    CHECK(!config_set(&c, "interp=2.5", &e) && c.interp == 2.5f, "interp: %s", e.msg);
    CHECK(config_set(&c, "interp=-1", &e) == -1 && strstr(e.msg, "interp=-1: want a number"), "'%s'", e.msg);
    Run r;
    if (run_init(&r, &c, &e)) {
        CHECK(0, "run_init: %s", e.msg);
        return;
    }
    static const int trained[] = {2,  3,  5,  7,  11, 13, 19, 29, 31, 37,
                                  43, 47, 59, 61, 67, 73, 79, 89, 97}; /* 23, 53, 83 OOD; 17, 41, 71 held */
    const int nt = (int)(sizeof trained / sizeof *trained);
    int seen[32] = {0}, bad = 0;
    Rng saved = r.data_rng;
    for (int i = 0; i < 2000; i++) {
        double a, b, s;
        Rng before = r.data_rng;
        interp_draw(&r, &a, &b, &s);
        bad += memcmp(&before, &r.data_rng, sizeof before) != 0;
        int k = 0;
        while (k < nt - 1 && trained[k] != (int)a) k++;
        if (k < nt - 1 && trained[k + 1] == (int)b && s >= 0 && s < 1) seen[k]++;
        else bad++;
        rng_u64(&r.data_rng); /* the next step's stream */
    }
    r.data_rng = saved;
    int pairs = 0;
    for (int k = 0; k < nt - 1; k++) pairs += seen[k] > 0;
    CHECK(bad == 0 && pairs == nt - 1, "%d bad draws; %d of %d neighbour pairs drawn", bad, pairs, nt - 1);

    Arena ar;
    arena_init(&ar, 1 << 22);
    Graph g;
    graph_init(&g, &ar);
    const double a = 13, b = 19, s = 0.375;
    long n = r.m.tpl.n_theta;
    float th[3][8192], feat[8];
    NP_ASSERT(n <= 8192 && r.task.n_feat <= 8, "θ %ld, %d features", n, r.task.n_feat);
    const double at[3] = {a, b, a + s * (b - a)};
    for (int k = 0; k < 3; k++) {
        task_features_at(&r.task, at[k], feat);
        memcpy(th[k], method_generate(&g, &r.m, tensor_wrap(&g, feat, NULL, SHAPE(1, r.task.n_feat)))->data,
               sizeof(float) * (size_t)n);
        graph_reset(&g);
    }
    double want = 0, spread = 0;
    for (long j = 0; j < n; j++) {
        double d = th[2][j] - ((1 - s) * th[0][j] + s * th[1][j]);
        want += d * d;
        spread += (double)(th[1][j] - th[0][j]) * (th[1][j] - th[0][j]);
    }
    want *= 2.5 / n;
    CHECK(want > 1e-6 * spread / n, "θ is linear between 13 and 19 (%g): no test", want);
    CHECK_REL(interp_penalty(&g, &r, a, b, s)->data[0], want, 1e-3);
    graph_reset(&g);
    CHECK(interp_penalty(&g, &r, a, b, 0)->data[0] < 1e-9 * spread, "s = 0 costs (%g)",
          interp_penalty(&g, &r, a, b, 0)->data[0]);
    graph_free(&g);
    arena_free(&ar);
    run_free(&r);

    tiny_config(&c, "arc", METHOD_GNN, 1);
    c.interp = 1;
    CHECK(run_init(&r, &c, &e) == -1 &&
              strstr(e.msg, "interp=1: needs a meta-learner, a task whose intent is one number"),
          "arc: '%s'", e.msg);
    tiny_config(&c, "sumfirst", METHOD_DIRECT, 1);
    c.interp = 1;
    CHECK(run_init(&r, &c, &e) == -1 && strstr(e.msg, "interp=1: needs a meta-learner"), "direct: '%s'", e.msg);
}

/* interp draws from a fork of the data stream: a resumed run is the run straight through, and the
 * setting changes what is trained. */
TEST(train_interp_resume_bit_identical) { check_setting(t_, "sumfirst", METHOD_GNN, "interp=5", "interp=0"); }

/* N_after: the examples per intent from the choice step (4 × eval_every) on. Before it the run is
 * the run without the setting, bit for bit; after it the parameters differ; a run resumed after the
 * switch is the straight run. ADDMOD Meta-GNN alone has it; an older config without the key means 0. */
TEST(train_N_after_takes_over_at_the_choice_step) {
    int nt = threads_save();
    TrainConfig c, c_off;
    Err e = {{0}};
    CHECK(!config_defaults("addmod", METHOD_GNN, &c, &e) && c.N == 128 && c.N_after == 256 &&
              config_choice_step(&c) == 9600 && config_N_at(&c, 9599) == 128 && config_N_at(&c, 9600) == 256,
          "ADDMOD Meta-GNN: N %d, N_after %d, choice at %ld (%s)", c.N, c.N_after, config_choice_step(&c), e.msg);
    CHECK(!config_defaults("addmod", METHOD_MLP, &c, &e) && c.N_after == 0 && config_N_at(&c, 11999) == c.N,
          "ADDMOD Meta-MLP: N_after %d", c.N_after);
    char text[1200], *at;
    config_defaults("addmod", METHOD_GNN, &c, &e);
    config_format(&c, text, sizeof text);
    at = strstr(text, " N_after=256");
    CHECK(at != NULL, "no N_after in '%s'", text);
    if (at) memmove(at, at + strlen(" N_after=256"), strlen(at + strlen(" N_after=256")) + 1);
    c_off = c;
    CHECK(!config_parse(text, &c_off, &e) && c_off.N_after == 0 && c_off.N == 128, "old config: N_after %d (%s)",
          c_off.N_after, e.msg);

    tiny_config(&c, "sumfirst", METHOD_MLP, 20);
    config_set_steps(&c, 20, 10); /* evaluated every 2: the choice step is 8 */
    c.warmup = 0;
    c.lr_min = c.lr;
    c_off = c;
    c.N_after = 2 * c.N;
    char da[128], db[128];
    if (!temp_dir(da, sizeof da, "nafterA") || !temp_dir(db, sizeof db, "nafterB")) {
        CHECK(0, "mkdtemp failed");
        threads_restore(nt);
        return;
    }
    Run a, b;
    TrainOptions oa = {.dir = da, .stop_at = 8}, ob = {.dir = db, .stop_at = 8};
    CHECK(!run_init(&a, &c, &e) && run_train(&a, &oa, &e) == 0 && !run_init(&b, &c_off, &e) &&
              run_train(&b, &ob, &e) == 0,
          "runs to the choice step: %s", e.msg);
    CHECK(a.step == 8 && b.step == 8 && a.m.ps.n == b.m.ps.n &&
              !memcmp(a.m.ps.data, b.m.ps.data, sizeof(float) * (size_t)a.m.ps.n),
          "N_after changed the run before the choice step");
    run_free(&a);
    run_free(&b);
    rm_dir(da);
    rm_dir(db);
    setting_resumes_and_matters(t_, &c, &c_off, "N_after=16"); /* resumed at step 10, after the switch */
    threads_restore(nt);
}

/* restarts=3: three candidates (init 0, 1, 2) train to step 4 × eval_every, candidates.csv holds
 * their validation, the one with the best held validation is chosen, and the run is then that
 * candidate trained on: bit for bit the plain run with its init. A Ctrl-C inside a candidate
 * stops the run; --resume finishes it to the same parameters. */
static int file_exists_t(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

static void sigint_at_call(const Run *r, void *arg) {
    (void)r;
    if (--*(int *)arg == 0) raise(SIGINT);
}

TEST(train_restarts_choose_on_held_and_resume) {
    int nt = threads_save();
    TrainConfig c;
    /* the defaults: ADDMOD Meta-GNN alone restarts (3 candidates on 3 held primes); a task file
     * whose template is like ADDMOD's does not inherit its held intents */
    static const struct {
        const char *task;
        MethodKind m;
        int hold, restarts;
    } defaults[] = {{"addmod", METHOD_GNN, 3, 3},
                    {"addmod", METHOD_MLP, 0, 1},
                    {"arc", METHOD_GNN, 0, 1},
                    {"examples/count.jsonl", METHOD_GNN, 0, 1}};
    for (size_t i = 0; i < sizeof defaults / sizeof *defaults; i++) {
        Err e0 = {{0}};
        CHECK(!config_defaults(defaults[i].task, defaults[i].m, &c, &e0) && c.hold == defaults[i].hold &&
                  c.restarts == defaults[i].restarts,
              "%s %s: hold %d, restarts %d (%s)", defaults[i].task, method_id(defaults[i].m), c.hold, c.restarts,
              e0.msg);
    }
    tiny_config(&c, "sumfirst", METHOD_MLP, 40); /* eval_every 10: candidates stop at step 40... */
    c.steps = 60;
    config_set_steps(&c, 60, 6); /* ...of 60, evaluated every 10 */
    c.hold = 1;
    c.restarts = 3;
    Err e = {{0}};
    char da[128], db[128], dp[128];
    if (!temp_dir(da, sizeof da, "restartA") || !temp_dir(db, sizeof db, "restartB") ||
        !temp_dir(dp, sizeof dp, "restartP")) {
        CHECK(0, "mkdtemp failed");
        threads_restore(nt);
        return;
    }
    Run a, b, p;
    TrainOptions oa = {.dir = da};
    CHECK(!run_init(&a, &c, &e) && run_train(&a, &oa, &e) == 0, "restarts run: %s", e.msg);
    /* candidates.csv: three rows, the chosen one the best held validation (lowest init on a tie) */
    char *cc = path_join(da, "candidates.csv");
    FILE *f = fopen(cc, "r");
    int win = -1, rows = 0;
    double best = -1;
    if (f) {
        char line[256];
        CHECK(fgets(line, sizeof line, f) && !strcmp(line, "init,iid_val,held_val,chosen\n"), "header '%s'", line);
        int j, chosen, nchosen = 0, want = -1;
        double iid, held;
        while (fscanf(f, "%d,%lf,%lf,%d\n", &j, &iid, &held, &chosen) == 4) {
            CHECK(j == rows && iid >= 0 && iid <= 1 && held >= 0 && held <= 1, "row %d: %d %g %g", rows, j, iid, held);
            if (held > best) best = held, want = j;
            if (chosen) win = j, nchosen++;
            rows++;
        }
        fclose(f);
        CHECK(rows == 3 && nchosen == 1 && win == want, "%d rows, %d chosen (init %d, best held is init %d)", rows,
              nchosen, win, want);
    } else CHECK(0, "no %s", cc);
    free(cc);
    /* the plain run of the winner's init, straight through */
    TrainConfig cp = c;
    cp.restarts = 1;
    cp.init = win < 0 ? 0 : win;
    TrainOptions op = {.dir = dp};
    CHECK(!run_init(&p, &cp, &e) && run_train(&p, &op, &e) == 0, "plain run: %s", e.msg);
    CHECK(a.step == 60 && p.step == 60 && a.m.ps.n == p.m.ps.n &&
              !memcmp(a.m.ps.data, p.m.ps.data, sizeof(float) * (size_t)a.m.ps.n),
          "the run is not its chosen candidate trained on (init %d)", win);
    /* the run's training time is every candidate's (as each recorded it, to the ms) and then the
     * winner's continuation: never less than the candidates' sum, whatever the load (a comparison
     * with the plain run's time was not: on a loaded machine either can take longer) */
    double cand_sum = 0;
    for (int j = 0; j < 3; j++) {
        char rel[64];
        snprintf(rel, sizeof rel, "candidates/init-%d/last.safetensors", j);
        char *cl = path_join(da, rel);
        Err ec = {{0}};
        StFile *sf = st_read(cl, &ec);
        const char *ts = sf ? st_meta(sf, "train_seconds") : NULL;
        CHECK(ts != NULL, "%s: no train_seconds (%s)", cl, ec.msg);
        if (ts) cand_sum += strtod(ts, NULL);
        st_free(sf);
        free(cl);
    }
    CHECK(cand_sum > 0 && a.train_seconds >= cand_sum - 0.0015,
          "training time %g is not every candidate's (their sum %g)", a.train_seconds, cand_sum);
    if (win != 0) {
        TrainConfig c0 = cp;
        c0.init = 0;
        Run q;
        char dq[128];
        TrainOptions oq = {.dir = temp_dir(dq, sizeof dq, "restartQ")};
        CHECK(!run_init(&q, &c0, &e) && run_train(&q, &oq, &e) == 0, "init 0: %s", e.msg);
        CHECK(memcmp(q.m.ps.data, p.m.ps.data, sizeof(float) * (size_t)p.m.ps.n), "init does not change the run");
        run_free(&q);
        rm_dir(dq);
    }
    /* interrupted in the second candidate, then resumed */
    int calls = 40 + 7;
    TrainOptions ob = {.dir = db, .after_step = sigint_at_call, .after_step_arg = &calls};
    struct sigaction sa = {0}, old;
    sa.sa_handler = count_sigint;
    sigaction(SIGINT, &sa, &old);
    CHECK(!run_init(&b, &c, &e) && run_train(&b, &ob, &e) == 1, "the interrupted run returned otherwise: %s", e.msg);
    char *lb = path_join(db, "last.safetensors");
    CHECK(!file_exists_t(lb), "a checkpoint before the candidates were chosen");
    free(lb);
    run_free(&b);
    memset(&b, 0, sizeof b);
    /* as if the process had been killed before the second candidate's first checkpoint */
    char *lc = path_join(db, "candidates/init-1/last.safetensors");
    CHECK(unlink(lc) == 0, "no checkpoint of the interrupted candidate");
    free(lc);
    TrainOptions ob2 = {.dir = db, .resume = 1};
    CHECK(run_train(&b, &ob2, &e) == 0, "resume: %s", e.msg);
    sigaction(SIGINT, &old, NULL);
    CHECK(b.step == 60 && b.m.ps.n == a.m.ps.n && !memcmp(a.m.ps.data, b.m.ps.data, sizeof(float) * (size_t)a.m.ps.n),
          "the resumed run differs from the straight one");
    /* a folder with candidates is a run: refused without --force, cleared with it */
    run_free(&b);
    TrainOptions of = {.dir = db};
    CHECK(!run_init(&b, &c, &e) && run_train(&b, &of, &e) == -1 && strstr(e.msg, "already holds a run"), "'%s'", e.msg);
    run_free(&b);
    of.force = 1;
    CHECK(!run_init(&b, &c, &e) && run_train(&b, &of, &e) == 0 && b.step == 60 &&
              !memcmp(a.m.ps.data, b.m.ps.data, sizeof(float) * (size_t)a.m.ps.n),
          "--force: %s", e.msg);
    run_free(&b);
    /* hold 0 cannot choose */
    c.hold = 0;
    CHECK(run_init(&b, &c, &e) == -1 && strstr(e.msg, "restarts=3: the candidates are chosen on held intents"), "'%s'",
          e.msg);
    run_free(&a);
    run_free(&p);
    rm_dir(da);
    rm_dir(db);
    rm_dir(dp);
    threads_restore(nt);
}

/* arc-demo end to end at a tiny size: programs made from examples train, resume bit for bit,
 * and score every real file of the 18 families from its own examples. */
TEST(train_arc_demo_resume_and_real_files) {
    int nt = threads_save();
    const long steps = 8, first = 3;
    TrainConfig c;
    tiny_config(&c, "arc-demo", METHOD_GNN, steps);
    snprintf(c.tpl, sizeof c.tpl,
             "transformer vocab=10 len=93 d=8 heads=2 mlp=16 classes=10 layers=1 prenorm=1 "
             "readout=all act=relu");
    c.N = 4;
    c.eval_n = 2;
    c.warmup = 0;
    c.lr_min = c.lr; /* a constant rate: the first part's schedule is the whole run's */
    c.eval_every = 3;
    c.ckpt_every = 5;
    char da[128], db[128];
    Run a, b;
    if (straight_and_resumed(t_, &c, first, &a, &b, da, db, "arc-demo resume")) {
        threads_restore(nt);
        return;
    }
    Err e = {{0}};
    CHECK(a.m.demo && params_find(&a.m.ps, "demo.theta") >= 0, "no examples' encoder");
    EvalReport rep;
    run_evaluate(&a, SPLIT_VAL, 1, &rep);
    CHECK(rep.n == 18 && rep.items[0].n == 2 && rep.n_ood == 3, "%d intents, %d rows", rep.n, rep.items[0].n);
    /* A run opened to be scored skips the real files' exclusion (only training draws need it; the
     * resumed run b has it), and scores exactly as the run that trained. */
    Run o;
    CHECK(run_open(&o, da, "last", &e) == 0, "%s", e.msg);
    CHECK(!o.task.excluded && o.task.n_excluded == 0 && b.task.excluded && b.task.n_excluded == 5653,
          "excluded rows: opened %d, resumed %d", o.task.n_excluded, b.task.n_excluded);
    EvalReport ro;
    run_evaluate(&o, SPLIT_VAL, 1, &ro);
    CHECK(ro.n == rep.n, "%d intents", ro.n);
    for (int k = 0; k < ro.n && k < rep.n; k++)
        CHECK(ro.items[k].n == rep.items[k].n && ro.items[k].correct == rep.items[k].correct,
              "intent %d: %d of %d opened, %d of %d trained", k, ro.items[k].correct, ro.items[k].n,
              rep.items[k].correct, rep.items[k].n);
    eval_report_free(&ro);
    /* neurop info counts a step's FLOPs on a run opened to be scored (it aborted here once) */
    double fo = run_step_flops(&o), fb = run_step_flops(&b);
    CHECK(fo > 1e6 && fo == fb, "FLOPs a step: opened %g, resumed %g", fo, fb);
    run_free(&o);
    eval_report_free(&rep);
    char dir[1024];
    RealReport rr;
    CHECK(data_dir("1d-arc", dir, sizeof dir, &e) == 0 && run_real_arc(&a, dir, &rr, &e) == 0, "%s", e.msg);
    int tasks = 0;
    for (int k = 0; k < rr.n; k++) {
        tasks += rr.fam[k].n;
        CHECK(rr.fam[k].correct >= 0 && rr.fam[k].correct <= rr.fam[k].n, "%s: %d of %d", rr.fam[k].family,
              rr.fam[k].correct, rr.fam[k].n);
    }
    CHECK(rr.n == 18 && tasks == 901, "%d families, %d tasks", rr.n, tasks);
    run_free(&a);
    run_free(&b);
    rm_dir(da);
    rm_dir(db);
    threads_restore(nt);
}
