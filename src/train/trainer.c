/* The training loop: batches of B intents × N examples, the semantic loss alone, AdamW with
 * warmup + cosine, clipping; IID-validation evaluation picks the best checkpoint; checkpoints
 * are atomic and carry everything needed to resume bit-exactly. */
#include "engine/fileio.h"
#include "engine/safetensors.h"
#include "train/run_internal.h"
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* The one piece of process state: a signal handler can only talk through a flag. */
static volatile sig_atomic_t interrupted;
static void on_sigint(int sig) { (void)sig; interrupted = 1; }

static double now_s(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + 1e-9 * t.tv_nsec; }

static void path_join(char *out, size_t n, const char *dir, const char *file) { snprintf(out, n, "%s/%s", dir, file); }

/* ---- checkpoints ---- */
/* Tensors: every parameter view by name; with moments, also "adam.m.<name>" and "adam.v.<name>".
 * Metadata: format, config, step, adam_t, data-RNG state, best validation, train time. */
static int save_checkpoint(Run *r, const char *path, int with_state, Err *e) {
    ParamSet *ps = &r->m.ps;
    int nv = ps->count, nt = with_state ? 3 * nv : nv;
    StTensor *ts = xcalloc(nt, sizeof *ts);
    char (*names)[128] = xcalloc(nt, sizeof *names);
    for (int k = 0; k < nt; k++) {
        int i = k % nv, part = k / nv;
        const ParamView *v = &ps->views[i];
        float *base = part == 0 ? ps->data : part == 1 ? ps->m : ps->v;
        snprintf(names[k], sizeof names[k], "%s%s", part == 0 ? "" : part == 1 ? "adam.m." : "adam.v.", v->name);
        ts[k].name = names[k];
        ts[k].ndim = v->ndim;
        for (int d = 0; d < v->ndim; d++) ts[k].shape[d] = v->shape[d];
        ts[k].data = base + v->off;
    }
    char cfg[2048], step[32], adam_t[32], rng[128], best[64], bstep[32], secs[32];
    config_format(&r->cfg, cfg, sizeof cfg);
    snprintf(step, sizeof step, "%ld", r->step);
    snprintf(adam_t, sizeof adam_t, "%ld", r->opt.t);
    snprintf(rng, sizeof rng, "%016" PRIx64 "%016" PRIx64 "%016" PRIx64 "%016" PRIx64,
             r->data_rng.s[0], r->data_rng.s[1], r->data_rng.s[2], r->data_rng.s[3]);
    snprintf(best, sizeof best, "%.17g", r->best_val);
    snprintf(bstep, sizeof bstep, "%ld", r->best_step);
    snprintf(secs, sizeof secs, "%.3f", r->train_seconds);
    StMeta meta[] = {{"format", "neurop-checkpoint-1"}, {"config", cfg}, {"step", step}, {"adam_t", adam_t},
                     {"data_rng", rng}, {"best_val", best}, {"best_step", bstep}, {"train_seconds", secs}};
    int rc = st_write(path, ts, nt, meta, (int)(sizeof meta / sizeof *meta), e);
    free(ts); free(names);
    return rc;
}

static int meta_long(const StFile *f, const char *key, long *out, const char *path, Err *e) {
    const char *v = st_meta(f, key);
    char *end;
    if (!v) return err_set(e, "%s: not a neurop checkpoint (no '%s' in its metadata)", path, key);
    errno = 0;
    *out = strtol(v, &end, 10);
    if (errno || *end) return err_set(e, "%s: bad '%s' in its metadata: %s", path, key, v);
    return 0;
}

/* Loads path into a run: rebuilds it from the stored config, then copies parameters (and, with
 * with_state, moments, step and RNG). */
static int load_checkpoint(Run *r, const char *path, int with_state, Err *e) {
    StFile *f = st_read(path, e);
    if (!f) return -1;
    int rc = -1;
    const char *fmt = st_meta(f, "format"), *cfgtext = st_meta(f, "config");
    if (!fmt || strcmp(fmt, "neurop-checkpoint-1") || !cfgtext) { err_set(e, "%s: not a neurop checkpoint", path); goto out; }
    TrainConfig c;
    if (config_defaults("sumfirst", METHOD_GNN, &c, e) || config_parse(cfgtext, &c, e)) goto out;
    if (run_init(r, &c, e)) goto out;
    ParamSet *ps = &r->m.ps;
    for (int part = 0; part < (with_state ? 3 : 1); part++)
        for (int i = 0; i < ps->count; i++) {
            const ParamView *v = &ps->views[i];
            char nm[128];
            snprintf(nm, sizeof nm, "%s%s", part == 0 ? "" : part == 1 ? "adam.m." : "adam.v.", v->name);
            const StTensor *t = st_find(f, nm);
            if (!t) { err_set(e, "%s: tensor '%s' is missing", path, nm); goto out; }
            if (st_numel(t) != v->numel) { err_set(e, "%s: tensor '%s' has %" PRId64 " values, the model needs %ld", path, nm, st_numel(t), v->numel); goto out; }
            float *dst = (part == 0 ? ps->data : part == 1 ? ps->m : ps->v) + v->off;
            memcpy(dst, t->data, v->numel * sizeof(float));
        }
    long step, at, bstep;
    if (meta_long(f, "step", &step, path, e) || meta_long(f, "adam_t", &at, path, e) || meta_long(f, "best_step", &bstep, path, e)) goto out;
    const char *rng = st_meta(f, "data_rng"), *best = st_meta(f, "best_val"), *secs = st_meta(f, "train_seconds");
    if (!rng || strlen(rng) != 64 || !best) { err_set(e, "%s: bad data_rng/best_val metadata", path); goto out; }
    for (int k = 0; k < 4; k++) {
        char part[17]; memcpy(part, rng + 16 * k, 16); part[16] = 0;
        r->data_rng.s[k] = strtoull(part, NULL, 16);
    }
    r->step = step; r->opt.t = at; r->best_step = bstep; r->best_val = strtod(best, NULL);
    r->train_seconds = secs ? strtod(secs, NULL) : 0;
    rc = 0;
out:
    st_free(f);
    return rc;
}

int run_open(Run *r, const char *dir, const char *which, Err *e) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s.safetensors", dir, which);
    struct stat st;
    if (stat(dir, &st) || !S_ISDIR(st.st_mode)) return err_set(e, "%s: no such run folder", dir);
    return load_checkpoint(r, path, 0, e);
}

/* ---- the loop ---- */
static int ensure_dir(const char *dir, Err *e) {
    if (mkdir(dir, 0755) && errno != EEXIST) return err_set(e, "cannot create run folder %s: %s", dir, strerror(errno));
    return 0;
}

static int write_text(FILE *f, void *ctx, Err *e) { return fputs((const char *)ctx, f) < 0 ? err_set(e, "write failed") : 0; }

static void progress(const Run *r, const TrainOptions *o, int tty, double loss, double val, double sps, int final) {
    if (!o->verbose) return;
    long left = r->cfg.steps - r->step;
    double eta = sps > 0 ? left / sps : 0;
    if (tty) {
        fprintf(stderr, "\r%s/%s seed %lu  step %ld/%ld  loss %.4f  val %.3f  %.1f steps/s  ETA %.0fs   %s",
                r->task.name, method_id(r->cfg.method), r->cfg.seed, r->step, r->cfg.steps, loss, val, sps, eta, final ? "\n" : "");
    } else {
        fprintf(stderr, "%s/%s seed %lu step %ld/%ld loss %.5f val %.4f %.1f steps/s eta %.0fs\n",
                r->task.name, method_id(r->cfg.method), r->cfg.seed, r->step, r->cfg.steps, loss, val, sps, eta);
    }
    fflush(stderr);
}

/* A CSV field: quoted when it holds a comma or a quote (a task file's intents "a=1,b=2" do). */
static void csv_field(FILE *f, const char *s) {
    if (!strpbrk(s, ",\"")) { fputs(s, f); return; }
    fputc('"', f);
    for (; *s; s++) { if (*s == '"') fputc('"', f); fputc(*s, f); }
    fputc('"', f);
}

/* val_intents.csv: one column per train intent, one row per evaluation, the IID-validation exact
 * match of that intent, so a user can plot which intents learn when. */
static int start_intent_csv(const Run *r, const char *path, Err *e) {
    FILE *f = fopen(path, "w");
    if (!f) return err_set(e, "cannot write %s: %s", path, strerror(errno));
    fputs("step", f);
    for (int i = 0; i < r->task.n_train; i++) {
        char nm[128];
        task_intent_format(&r->task, r->task.train[i], nm, sizeof nm);
        fputc(',', f);
        csv_field(f, nm);
    }
    fputc('\n', f);
    return fclose(f) ? err_set(e, "write error on %s", path) : 0;
}

static void intent_csv_row(FILE *f, long step, const EvalReport *rep) {
    fprintf(f, "%ld", step);
    for (int i = 0; i < rep->n; i++)
        fprintf(f, ",%.6f", rep->items[i].n ? (double)rep->items[i].correct / rep->items[i].n : 0.0);
    fputc('\n', f);
    fflush(f);
}

int run_train(Run *r, const TrainOptions *o, Err *e) {
    char last[1024], best[1024], csv[1024], cfgpath[1024], icsv[1024];
    if (ensure_dir(o->dir, e)) return -1;
    path_join(last, sizeof last, o->dir, "last.safetensors");
    path_join(best, sizeof best, o->dir, "best.safetensors");
    path_join(csv, sizeof csv, o->dir, "metrics.csv");
    path_join(icsv, sizeof icsv, o->dir, "val_intents.csv");
    path_join(cfgpath, sizeof cfgpath, o->dir, "config.txt");
    if (o->resume) {
        long steps = r->cfg.steps;
        run_free(r);
        if (load_checkpoint(r, last, 1, e)) return -1;
        if (steps > r->cfg.steps) r->cfg.steps = steps;   /* a resume may extend the run */
    } else {
        char cfg[2048];
        config_format(&r->cfg, cfg, sizeof cfg - 1);
        strcat(cfg, "\n");
        if (atomic_write(cfgpath, write_text, cfg, e)) return -1;
        FILE *f = fopen(csv, "w");
        if (!f) return err_set(e, "cannot write %s: %s", csv, strerror(errno));
        fprintf(f, "step,loss,lr,val_acc,seconds\n");
        fclose(f);
        if (start_intent_csv(r, icsv, e)) return -1;
    }
    FILE *mf = fopen(csv, "a");
    if (!mf) return err_set(e, "cannot append to %s: %s", csv, strerror(errno));
    FILE *vf = fopen(icsv, "a");   /* a run from before val_intents.csv gets one without a header */
    if (!vf) { fclose(mf); return err_set(e, "cannot append to %s: %s", icsv, strerror(errno)); }

    const Task *t = &r->task;
    const TrainConfig *c = &r->cfg;
    int tty = isatty(2);
    interrupted = 0;
    struct sigaction sa = {0}, old;
    sa.sa_handler = on_sigint;
    sigaction(SIGINT, &sa, &old);

    Arena arena; Graph g;
    arena_init(&arena, 1 << 24);
    graph_init(&g, &arena);
    BatchBuf bb;
    batch_alloc(r, c->B, c->N, &bb);
    Intent *us = xmalloc(c->B * sizeof *us);
    double t0 = now_s(), t_last = t0, loss_sum = 0, last_val = r->best_val < 0 ? 0 : r->best_val, secs0 = r->train_seconds;
    long loss_n = 0, step0 = r->step;
    int rc = 0;

    while (r->step < c->steps) {
        for (int b = 0; b < c->B; b++) {
            us[b] = t->train[rng_int(&r->data_rng, t->n_train)];
            task_sample(t, us[b], SPLIT_TRAIN, &r->data_rng, c->N, &bb.ex[b]);
        }
        batch_pack(r, &bb, us);
        params_zero_grad(&r->m.ps);
        Tensor *loss = batch_loss(&g, r, &bb, batch_forward(&g, r, &bb));
        float lv = loss->data[0];
        if (!isfinite(lv)) {
            rc = err_set(e, "loss became %s at step %ld; stopped (the last good checkpoint %s is intact)",
                         isnan(lv) ? "NaN" : "Inf", r->step, last);
            break;
        }
        graph_backward(&g, loss);
        /* ReLU maps NaN to 0, so a non-finite weight can leave the loss finite: the gradient shows it */
        float gnorm = clip_grad_norm(&r->m.ps, c->clip);
        if (!isfinite(gnorm)) {
            rc = err_set(e, "gradient became %s at step %ld (loss %g); stopped (the last good checkpoint %s is intact)",
                         isnan(gnorm) ? "NaN" : "Inf", r->step, lv, last);
            break;
        }
        adamw_step(&r->opt, &r->m.ps, lr_schedule(r->step, c->warmup, c->steps, c->lr, c->lr_min));
        graph_reset(&g);
        r->step++;
        loss_sum += lv; loss_n++;

        int do_eval = r->step % c->eval_every == 0 || r->step == c->steps;
        int do_ckpt = do_eval || r->step % c->ckpt_every == 0 || interrupted;
        r->train_seconds = secs0 + (now_s() - t0);
        if (do_eval) {
            EvalReport rep;
            run_evaluate(r, SPLIT_VAL, 0, &rep);
            last_val = rep.iid;
            fprintf(mf, "%ld,%.6g,%.6g,%.6f,%.2f\n", r->step, loss_sum / loss_n, lr_schedule(r->step - 1, c->warmup, c->steps, c->lr, c->lr_min), rep.iid, r->train_seconds);
            fflush(mf);
            intent_csv_row(vf, r->step, &rep);
            if (rep.iid > r->best_val) {
                r->best_val = rep.iid; r->best_step = r->step;
                if (save_checkpoint(r, best, 0, e)) { rc = -1; break; }
            }
        }
        if (do_ckpt && save_checkpoint(r, last, 1, e)) { rc = -1; break; }
        double tn = now_s();
        if (do_eval || tn - t_last > (tty ? 0.25 : 10.0) || interrupted) {
            double sps = (r->step - step0) / (tn - t0 + 1e-9);
            progress(r, o, tty, loss_sum / (loss_n ? loss_n : 1), last_val, sps, r->step == c->steps);
            if (do_eval) { loss_sum = 0; loss_n = 0; }
            t_last = tn;
        }
        if (interrupted) { rc = 1; break; }
    }
    if (o->verbose && tty && rc) fputc('\n', stderr);
    sigaction(SIGINT, &old, NULL);
    fclose(mf);
    fclose(vf);
    free(us);
    batch_free(&bb);
    graph_free(&g);
    arena_free(&arena);
    return rc;
}
