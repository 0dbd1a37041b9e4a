/* The training loop: batches of B intents × N examples, the semantic loss alone, AdamW with
 * warmup + cosine, clipping; IID-validation evaluation picks the best checkpoint; checkpoints
 * are atomic and carry everything needed to resume bit-exactly. */
#include "engine/cpu.h"
#include "io/fileio.h"
#include "io/safetensors.h"
#include "train/dist.h"
#include "train/run_internal.h"
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* The one piece of process state: a signal handler can only talk through a flag. */
static volatile sig_atomic_t interrupted;
static void on_sigint(int sig) {
    (void)sig;
    interrupted = 1;
}

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

/* The layout of checkpoints (docs/training.md): another is refused, never guessed at. */
#define CHECKPOINT_FORMAT "neurop-checkpoint-1"
#define METRICS_HEADER "step,loss,lr,val_acc,seconds\n"

/* ---- checkpoints ---- */
/* Tensors: every parameter view by name; with the optimizer state, also "adam.m.<name>" and
 * "adam.v.<name>", and with grokfast "grokfast.ema.<name>". Metadata: format, config, step,
 * adam_t, data-RNG state, best validation, train time, machine; with focus and the optimizer state,
 * focus_err. */
static const char *const PART_PREFIX[] = {"", "adam.m.", "adam.v.", "grokfast.ema."};
static int n_parts(const Run *r, int with_state) { return with_state ? (r->grad_ema ? 4 : 3) : 1; }
static float *part_base(Run *r, int part) {
    float *const base[] = {r->m.ps.data, r->m.ps.m, r->m.ps.v, r->grad_ema};
    return base[part];
}
static int save_checkpoint(Run *r, const char *path, int with_state, Err *e) {
    ParamSet *ps = &r->m.ps;
    int nv = ps->count, nt = n_parts(r, with_state) * nv;
    StTensor *ts = xcalloc(nt, sizeof *ts);
    char(*names)[128] = xcalloc(nt, sizeof *names);
    for (int k = 0; k < nt; k++) {
        int i = k % nv, part = k / nv;
        const ParamView *v = &ps->views[i];
        float *base = part_base(r, part);
        snprintf(names[k], sizeof names[k], "%s%s", PART_PREFIX[part], v->name);
        ts[k].name = names[k];
        ts[k].ndim = v->ndim;
        for (int d = 0; d < v->ndim; d++) ts[k].shape[d] = v->shape[d];
        ts[k].data = base + v->off;
    }
    char cfg[2048], step[32], adam_t[32], rng[128], best[64], bstep[32], secs[32];
    cpu_describe(r->machine, sizeof r->machine);
    config_format(&r->cfg, cfg, sizeof cfg);
    snprintf(step, sizeof step, "%ld", r->step);
    snprintf(adam_t, sizeof adam_t, "%ld", r->opt.t);
    snprintf(rng, sizeof rng, "%016" PRIx64 "%016" PRIx64 "%016" PRIx64 "%016" PRIx64, r->data_rng.s[0],
             r->data_rng.s[1], r->data_rng.s[2], r->data_rng.s[3]);
    snprintf(best, sizeof best, "%.17g", r->best_val);
    snprintf(bstep, sizeof bstep, "%ld", r->best_step);
    snprintf(secs, sizeof secs, "%.3f", r->train_seconds);
    StMeta meta[] = {{"format", CHECKPOINT_FORMAT},
                     {"config", cfg},
                     {"step", step},
                     {"adam_t", adam_t},
                     {"data_rng", rng},
                     {"best_val", best},
                     {"best_step", bstep},
                     {"train_seconds", secs},
                     {"machine", r->machine},
                     {"focus_err", NULL}};
    int n_meta = (int)(sizeof meta / sizeof *meta);
    char *focus = with_state ? focus_format(r) : NULL;
    if (focus) meta[n_meta - 1].value = focus;
    else n_meta--; /* a run without focus, and best.safetensors, have no "focus_err" */
    int rc = st_write(path, ts, nt, meta, n_meta, e);
    free(focus);
    free(ts);
    free(names);
    return rc;
}

static int meta_long(const StFile *f, const char *key, long lo, long hi, long *out, const char *path, Err *e) {
    const char *v = st_meta(f, key);
    char *end;
    if (!v) return err_set(e, "%s: not a neurop checkpoint (no '%s' in its metadata)", path, key);
    errno = 0;
    *out = strtol(v, &end, 10);
    if (errno || !*v || *end || *out < lo || *out > hi)
        return err_set(e, "%s: bad '%s' in its metadata (want an integer in [%ld, %ld])", path, key, lo, hi);
    return 0;
}

static int meta_double(const StFile *f, const char *key, double *out, const char *path, Err *e) {
    const char *v = st_meta(f, key);
    char *end;
    if (!v) return err_set(e, "%s: not a neurop checkpoint (no '%s' in its metadata)", path, key);
    *out = strtod(v, &end);
    if (!*v || *end || !isfinite(*out))
        return err_set(e, "%s: bad '%s' in its metadata (want a finite number)", path, key);
    return 0;
}

/* The data-RNG state: 64 hex digits, not all zero (xoshiro's one state that never moves). */
static int meta_rng(const StFile *f, Rng *rng, const char *path, Err *e) {
    const char *v = st_meta(f, "data_rng");
    if (!v || strlen(v) != 64 || strspn(v, "0123456789abcdefABCDEF") != 64)
        return err_set(e, "%s: bad 'data_rng' in its metadata (want 64 hex digits)", path);
    for (int k = 0; k < 4; k++) {
        char part[17];
        memcpy(part, v + 16 * k, 16);
        part[16] = 0;
        rng->s[k] = strtoull(part, NULL, 16);
    }
    if (!(rng->s[0] | rng->s[1] | rng->s[2] | rng->s[3]))
        return err_set(e, "%s: bad 'data_rng' in its metadata (all zero)", path);
    return 0;
}

/* Loads path into a run: rebuilds it from the stored config, then copies parameters (and, with
 * with_state, moments, step and RNG). Every tensor must have exactly the model's name and shape,
 * and the metadata its form, or nothing is loaded. */
static int load_checkpoint(Run *r, const char *path, int with_state, Err *e) {
    memset(r, 0, sizeof *r);      /* run_free is safe on r whatever happens below */
    StFile *f = st_open(path, e); /* the header now, the data straight into the parameters below */
    if (!f) return -1;
    int rc = -1;
    float **dst = NULL;
    const char *fmt = st_meta(f, "format"), *cfgtext = st_meta(f, "config");
    if (!fmt || !cfgtext) {
        err_set(e, "%s: not a neurop checkpoint (no format or config in its metadata)", path);
        goto out;
    }
    if (strcmp(fmt, CHECKPOINT_FORMAT)) {
        err_set(e, "%s: checkpoint format '%.40s'; this build reads %s", path, fmt, CHECKPOINT_FORMAT);
        goto out;
    }
    TrainConfig c;
    if (config_defaults("sumfirst", METHOD_GNN, &c, e) || config_parse(cfgtext, &c, e)) goto bad_config;
    long step, at, bstep;
    double best = 0, secs = 0;
    Rng rng;
    if (meta_long(f, "step", 0, c.steps, &step, path, e) || meta_long(f, "adam_t", 0, c.steps, &at, path, e) ||
        meta_long(f, "best_step", -1, step, &bstep, path, e) || meta_double(f, "best_val", &best, path, e) ||
        meta_double(f, "train_seconds", &secs, path, e) || meta_rng(f, &rng, path, e))
        goto out;
    if (run_init_to_load(r, &c, with_state, e)) goto bad_config;
    ParamSet *ps = &r->m.ps;
    int full = n_parts(r, 1) * ps->count;
    if (st_count(f) != ps->count && st_count(f) != full) {
        err_set(e, "%s: %d tensors, the model has %d (%d with the optimizer state)", path, st_count(f), ps->count,
                full);
        goto out;
    }
    dst = xcalloc((size_t)st_count(f), sizeof *dst); /* tensors not loaded stay NULL: skipped */
    for (int part = 0; part < n_parts(r, with_state); part++)
        for (int i = 0; i < ps->count; i++) {
            const ParamView *v = &ps->views[i];
            char nm[128];
            snprintf(nm, sizeof nm, "%s%s", PART_PREFIX[part], v->name);
            const StTensor *t = st_find(f, nm);
            if (!t) {
                err_set(e, "%s: tensor '%s' is missing", path, nm);
                goto out;
            }
            int same = t->ndim == v->ndim;
            for (int d = 0; same && d < v->ndim; d++) same = t->shape[d] == v->shape[d];
            if (!same) {
                char want[64] = "", have[64] = "";
                for (int d = 0; d < v->ndim; d++)
                    snprintf(want + strlen(want), sizeof want - strlen(want), "%s%d", d ? "," : "", v->shape[d]);
                for (int d = 0; d < t->ndim && d < 4; d++)
                    snprintf(have + strlen(have), sizeof have - strlen(have), "%s%" PRId64, d ? "," : "", t->shape[d]);
                err_set(e, "%s: tensor '%s' has shape [%s%s], the model needs [%s]", path, nm, have,
                        t->ndim > 4 ? ",..." : "", want);
                goto out;
            }
            dst[t - st_at(f, 0)] = part_base(r, part) + v->off;
        }
    if (st_read_into(f, dst, e)) goto out;
    r->step = step;
    r->opt.t = at;
    r->best_step = bstep;
    r->best_val = best;
    r->train_seconds = secs;
    r->data_rng = rng;
    if (with_state && focus_parse(r, st_meta(f, "focus_err"), path, e)) goto out;
    const char *machine = st_meta(f, "machine"); /* informative only: older checkpoints lack it */
    snprintf(r->machine, sizeof r->machine, "%s", machine ? machine : "");
    rc = 0;
    goto out;
bad_config : {
    char why[sizeof e->msg];
    snprintf(why, sizeof why, "%s", e->msg);
    err_set(e, "%s: %s", path, why);
}
out:
    free(dst);
    st_free(f);
    return rc;
}

int run_open(Run *r, const char *dir, const char *which, Err *e) {
    struct stat st;
    if (stat(dir, &st) || !S_ISDIR(st.st_mode)) return err_set(e, "%s: no such run folder", dir);
    char file[32];
    snprintf(file, sizeof file, "%s.safetensors", which);
    char *path = path_join(dir, file);
    int rc = 0;
    /* The OpenMP pool's threads start while this one reads the run: a program is made from it next
     * (neurop solve), and a thread's start holds the first parallel region about 1 ms on a 2-vCPU VM.
     * The other threads only arrive; the region ends with the run open. */
#pragma omp parallel
    {
#pragma omp master
        rc = load_checkpoint(r, path, 0, e);
    }
    free(path);
    return rc;
}

/* ---- the loop ---- */
static int ensure_dir(const char *dir, Err *e) {
    if (mkdir(dir, 0755) && errno != EEXIST) return err_set(e, "cannot create run folder %s: %s", dir, strerror(errno));
    return 0;
}

static int write_text(FILE *f, void *ctx, Err *e) {
    return fputs((const char *)ctx, f) < 0 ? err_set(e, "write failed") : 0;
}

static void progress(const Run *r, const TrainOptions *o, int tty, double loss, double val, double sps, int final) {
    if (!o->verbose) return;
    long left = r->cfg.steps - r->step;
    double eta = sps > 0 ? left / sps : 0;
    if (tty) {
        fprintf(stderr, "\r%s/%s seed %lu  step %ld/%ld  loss %.4f  val %.3f  %.1f steps/s  ETA %.0fs   %s",
                task_label(&r->task), method_id(r->cfg.method), r->cfg.seed, r->step, r->cfg.steps, loss, val, sps, eta,
                final ? "\n" : "");
    } else {
        fprintf(stderr, "%s/%s seed %lu step %ld/%ld loss %.5f val %.4f %.1f steps/s eta %.0fs\n", task_label(&r->task),
                method_id(r->cfg.method), r->cfg.seed, r->step, r->cfg.steps, loss, val, sps, eta);
    }
    fflush(stderr);
}

/* A CSV field: quoted when it holds a comma or a quote (a task file's intents "a=1,b=2" do). */
static void csv_field(FILE *f, const char *s) {
    if (!strpbrk(s, ",\"")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"') fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

/* val_intents.csv's header: one column per train intent, whose IID-validation exact match each
 * evaluation appends as a row, so a user can plot which intents learn when. */
static char *intents_header(const Run *r) {
    char *s = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&s, &n);
    NP_ASSERT(f, "out of memory");
    fputs("step", f);
    for (int i = 0; i < r->task.n_train; i++) {
        char nm[128];
        task_intent_format(&r->task, r->task.train[i], nm, sizeof nm);
        fputc(',', f);
        csv_field(f, nm);
    }
    fputc('\n', f);
    fclose(f);
    return s;
}

static void intents_row(FILE *f, long step, const EvalReport *rep) {
    fprintf(f, "%ld", step);
    for (int i = 0; i < rep->n; i++)
        fprintf(f, ",%.6f", rep->items[i].n ? (double)rep->items[i].correct / rep->items[i].n : 0.0);
    fputc('\n', f);
    fflush(f);
}

/* What a run writes into its folder (eval.json is reproduce's); --force removes them all. */
static const char *RUN_FILES[] = {"config.txt",      "metrics.csv", "last.safetensors", "best.safetensors",
                                  "val_intents.csv", "eval.json",   "candidates.csv"};

/* a file or a folder */
static int path_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

static const char *kept(const char *last) {
    return path_exists(last) ? "the last good checkpoint is intact" : "no checkpoint was written yet";
}

/* Temporary files of atomic writes whose process died mid-write (name.tmp.<pid>), for the files
 * only a trainer writes (the first four of RUN_FILES; eval.json is written outside the lock).
 * Only called with the folder locked, so no live writer owns one. */
static void remove_stale_tmp(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *de;
    while ((de = readdir(d)))
        for (size_t i = 0; i < 4; i++) {
            size_t n = strlen(RUN_FILES[i]);
            if (strncmp(de->d_name, RUN_FILES[i], n) || strncmp(de->d_name + n, ".tmp.", 5)) continue;
            char *p = path_join(dir, de->d_name);
            unlink(p);
            free(p);
        }
    closedir(d);
}

static int write_config(Run *r, const char *path, Err *e) {
    char cfg[2048];
    config_format(&r->cfg, cfg, sizeof cfg - 1);
    strcat(cfg, "\n");
    return atomic_write(path, write_text, cfg, e);
}

/* dir/candidates (restarts): refused like the run's files, or with force removed, each candidate
 * folder holding only what a run writes. */
static int remove_candidates(const TrainOptions *o, Err *e) {
    char *cdir = path_join(o->dir, "candidates");
    int rc = 0;
    DIR *d = path_exists(cdir) ? opendir(cdir) : NULL;
    if (d && !o->force)
        rc =
            err_set(e, "%s already holds a run (candidates): --resume continues it, --force deletes it and starts over",
                    o->dir);
    struct dirent *de;
    while (d && !rc && (de = readdir(d))) {
        if (strncmp(de->d_name, "init-", 5)) continue;
        char *cd = path_join(cdir, de->d_name);
        for (size_t i = 0; i <= sizeof RUN_FILES / sizeof *RUN_FILES; i++) {
            char *p = path_join(cd, i < sizeof RUN_FILES / sizeof *RUN_FILES ? RUN_FILES[i] : "lock");
            if (path_exists(p) && unlink(p)) rc = err_set(e, "cannot remove %s: %s", p, strerror(errno));
            free(p);
        }
        if (!rc && rmdir(cd)) rc = err_set(e, "cannot remove %s: %s", cd, strerror(errno));
        free(cd);
    }
    if (d) closedir(d);
    if (d && !rc && rmdir(cdir)) rc = err_set(e, "cannot remove %s: %s", cdir, strerror(errno));
    free(cdir);
    return rc;
}

/* A new run: the folder must hold no run, unless force (then the old one is deleted first, so
 * that no file of it can be mistaken for part of the new one). */
static int start_run(Run *r, const TrainOptions *o, const char *cfgpath, const char *csv, Err *e) {
    if (r->step > 0)
        return err_set(e, "this run has already trained %ld steps: resume it from its folder instead", r->step);
    if (dist_rank() > 0) return 0; /* rank 0 alone writes the folder */
    for (size_t i = 0; i < sizeof RUN_FILES / sizeof *RUN_FILES; i++) {
        char *p = path_join(o->dir, RUN_FILES[i]);
        int rc = 0;
        if (path_exists(p)) {
            if (!o->force)
                rc =
                    err_set(e, "%s already holds a run (%s): --resume continues it, --force deletes it and starts over",
                            o->dir, RUN_FILES[i]);
            else if (unlink(p) != 0) rc = err_set(e, "cannot remove %s: %s", p, strerror(errno));
        }
        free(p);
        if (rc) return -1;
    }
    if (remove_candidates(o, e)) return -1;
    if (write_config(r, cfgpath, e)) return -1;
    char *ih = intents_header(r), *icsv = path_join(o->dir, "val_intents.csv");
    int rc = atomic_write(csv, write_text, (void *)METRICS_HEADER, e) || atomic_write(icsv, write_text, ih, e) ? -1 : 0;
    free(ih);
    free(icsv);
    return rc;
}

/* A CSV of the run without the rows after step: a row written after the last checkpoint (a crash
 * or a failed checkpoint write in between) would otherwise appear twice once the step is redone.
 * commas: the count a whole row has (a row cut short by a crash has fewer). */
static int trim_csv(const char *csv, const char *header, int commas_want, long step, Err *e) {
    if (!path_exists(csv)) return atomic_write(csv, write_text, (void *)header, e);
    unsigned char *buf;
    size_t len;
    if (read_file(csv, &buf, &len, e)) return -1;
    char *out = xmalloc(len + strlen(header) + 2), *w = out;
    w += sprintf(w, "%s", header);
    for (char *line = (char *)buf, *next; *line; line = next) {
        next = strchr(line, '\n');
        next = next ? next + 1 : line + strlen(line);
        char *end;
        long s = strtol(line, &end, 10);
        int commas = 0;
        for (const char *c = line; c < next; c++) commas += *c == ',';
        /* the header, a row after step, or a row cut short by a crash */
        if (end == line || *end != ',' || s > step || commas != commas_want) continue;
        memcpy(w, line, (size_t)(next - line));
        w += next - line;
        if (w[-1] != '\n') *w++ = '\n';
    }
    *w = 0;
    int rc = atomic_write(csv, write_text, out, e);
    free(out);
    free(buf);
    return rc;
}

/* Loads the folder's last checkpoint into r. A run given by the caller (r->cfg set) must be the
 * folder's run: a resume only continues, it never changes a run's settings; o->steps may extend
 * it. config.txt is rewritten (an extended run has a new step count). */
static int resume_run(Run *r, const TrainOptions *o, const char *last, const char *cfgpath, const char *csv, Err *e) {
    if (!path_exists(last))
        return err_set(e, "%s: no checkpoint to resume (no last.safetensors); --force starts the run over", o->dir);
    TrainConfig want = r->cfg;
    int check = want.task[0] != 0;
    run_free(r);
    if (load_checkpoint(r, last, 1, e)) return -1;
    char what[700];
    if (check && config_conflict(&r->cfg, &want, what, sizeof what))
        return err_set(e,
                       "%s holds a run with %s: --resume continues a run as it was made (only --steps can extend it); "
                       "train into another --out instead",
                       o->dir, what);
    if (o->steps && o->steps < r->cfg.steps)
        return err_set(
            e, "%s: the run is planned for %ld steps; --steps %ld would shorten it (only a longer run can continue)",
            o->dir, r->cfg.steps, o->steps);
    if (o->steps > r->cfg.steps) r->cfg.steps = o->steps;
    if (r->step >= r->cfg.steps) {
        if (o->verbose)
            fprintf(stderr,
                    "%s: already finished at step %ld; nothing to train (--resume --steps N with N > %ld trains on)\n",
                    o->dir, r->step, r->step);
        return 0;
    }
    if (dist_rank() > 0) return 0; /* every rank reads the checkpoint; rank 0 alone writes */
    if (write_config(r, cfgpath, e)) return -1;
    char *ih = intents_header(r), *icsv = path_join(o->dir, "val_intents.csv");
    int rc = trim_csv(csv, METRICS_HEADER, 4, r->step, e) || trim_csv(icsv, ih, r->task.n_train, r->step, e) ? -1 : 0;
    free(ih);
    free(icsv);
    return rc;
}

/* ---- data parallel (train/dist.h) ----
 * Every rank draws the whole batch from the same data stream, so the global batch and the data
 * RNG are those of one process, and computes the intents [b0, b0 + nb) of it. The loss is a mean
 * over its terms (regression outputs; labels that are not -1), so each rank's loss and
 * gradient are weighted by its share of the terms before they are summed over ranks: the sum is
 * the global batch's mean loss and its gradient. With one rank none of this does anything. */
static void my_intents(int B, int *b0, int *nb) {
    int R = dist_size(), k = dist_rank();
    *b0 = (int)((long)B * k / R);
    *nb = (int)((long)B * (k + 1) / R) - *b0;
}

/* The terms batch_loss (run.c) averages: every output of a regression, every label not -1. */
static long loss_terms(const Run *r, const BatchBuf *bb) {
    const Task *t = &r->task;
    long n = (long)bb->B * bb->N * t->out_len;
    if (t->in_dim > 0) return n;
    long k = 0;
    for (long i = 0; i < n; i++) k += bb->lab[i] >= 0;
    return k;
}

/* The global loss from this rank's lv over its `terms`; also agrees on a stop (Ctrl-C on any
 * rank stops them all at the same step). Returns the weight of this rank's gradient. */
static float reduce_loss(float *lv, long terms, int *stop) {
    if (dist_size() == 1) return 1;
    float x[3] = {terms ? *lv * (float)terms : 0, (float)terms, (float)*stop};
    dist_allreduce_sum(x, 3);
    *lv = x[1] > 0 ? x[0] / x[1] : 0;
    *stop = x[2] > 0;
    return x[1] > 0 ? (float)terms / x[1] : 0;
}

/* The gradient of the global mean loss: this rank's, weighted, summed over ranks in place. */
static void reduce_grad(ParamSet *ps, float w) {
    if (dist_size() == 1) return;
    if (w == 0) memset(ps->grad, 0, ps->n * sizeof(float)); /* no terms here: 0, even if NaN */
    else
        for (long i = 0; i < ps->n; i++) ps->grad[i] *= w;
    dist_allreduce_sum(ps->grad, ps->n);
}

static int train_loop(Run *r, const TrainOptions *o, const char *last, const char *best, const char *csv, Err *e) {
    int lead = dist_rank() == 0; /* rank 0 alone evaluates and writes */
    FILE *mf = NULL, *vf = NULL;
    if (lead) {
        mf = fopen(csv, "a");
        if (!mf) return err_set(e, "cannot append to %s: %s", csv, strerror(errno));
        char *icsv = path_join(o->dir, "val_intents.csv");
        vf = fopen(icsv, "a");
        if (!vf) {
            fclose(mf);
            err_set(e, "cannot append to %s: %s", icsv, strerror(errno));
            free(icsv);
            return -1;
        }
        free(icsv);
    }

    const Task *t = &r->task;
    const TrainConfig *c = &r->cfg;
    int tty = isatty(2);

    Arena arena;
    Graph g;
    arena_init(&arena, 1 << 24);
    graph_init(&g, &arena);
    int b0, nb;
    my_intents(c->B, &b0, &nb);
    BatchBuf bb;
    int n_max = c->N_after > c->N ? c->N_after : c->N;
    batch_alloc(r, nb, n_max, &bb);
    Examples other; /* the examples of other ranks' intents: drawn (the stream is shared), not used */
    examples_alloc(t, n_max, &other);
    Intent *us = xmalloc(c->B * sizeof *us);
    int *drawn = xmalloc(c->B * sizeof *drawn); /* us[b] = t->train[drawn[b]] */
    double *cdf = task_intent_cdf(t, c->intent_mix, c->family_mix, c->hold);
    double t0 = now_s(), t_last = t0, loss_sum = 0, last_val = r->best_val < 0 ? 0 : r->best_val,
           secs0 = r->train_seconds;
    long loss_n = 0, step0 = r->step;
    int rc = 0;

    while (r->step < c->steps && !(o->stop_at > 0 && r->step >= o->stop_at)) {
        bb.N = config_N_at(c, r->step);
        for (int b = 0; b < c->B; b++) {
            drawn[b] = focus_draw(r, cdf, &r->data_rng);
            us[b] = t->train[drawn[b]];
            task_sample(t, us[b], SPLIT_TRAIN, &r->data_rng, bb.N, b >= b0 && b < b0 + nb ? &bb.ex[b - b0] : &other);
        }
        batch_pack(r, &bb, us + b0);
        params_zero_grad(&r->m.ps);
        Tensor *pred;
        Tensor *loss = batch_train_loss(&g, r, &bb, &pred);
        float lv = loss->data[0];
        focus_update(r, &bb, pred, drawn, b0);
        /* stop: Ctrl-C as every rank sees it at this step (one seen later counts at the next) */
        int stop = interrupted;
        float w = reduce_loss(&lv, loss_terms(r, &bb), &stop);
        if (!isfinite(lv)) {
            rc = err_set(e, "loss became %s at step %ld; stopped (%s)", isnan(lv) ? "NaN" : "Inf", r->step + 1,
                         kept(last));
            break;
        }
        graph_backward(&g, loss);
        reduce_grad(&r->m.ps, w);
        if (r->grad_ema) grad_filter_ema(&r->m.ps, r->grad_ema, c->grokfast_alpha, c->grokfast, r->step == 0);
        /* ReLU maps NaN to 0, so a non-finite weight can leave the loss finite: the gradient shows it */
        float gnorm = clip_grad_norm(&r->m.ps, c->clip);
        if (!isfinite(gnorm)) {
            rc = err_set(e, "gradient became %s at step %ld (loss %g); stopped (%s)", isnan(gnorm) ? "NaN" : "Inf",
                         r->step + 1, lv, kept(last));
            break;
        }
        adamw_step(&r->opt, &r->m.ps, lr_schedule(r->step, c->warmup, c->steps, c->lr, c->lr_min));
        graph_reset(&g);
        r->step++;
        loss_sum += lv;
        loss_n++;

        int do_eval = r->step % c->eval_every == 0 || r->step == c->steps;
        int do_ckpt = do_eval || r->step % c->ckpt_every == 0 || stop || r->step == o->stop_at;
        r->train_seconds = secs0 + (now_s() - t0);
        if (do_eval && lead) {
            EvalReport rep;
            run_evaluate(r, SPLIT_VAL, 0, &rep);
            last_val = rep.iid;
            fprintf(mf, "%ld,%.6g,%.6g,%.6f,%.2f\n", r->step, loss_sum / loss_n,
                    lr_schedule(r->step - 1, c->warmup, c->steps, c->lr, c->lr_min), rep.iid, r->train_seconds);
            fflush(mf);
            intents_row(vf, r->step, &rep);
            double val = rep.iid;
            eval_report_free(&rep); /* zeroes rep: read what is needed first */
            if (val > r->best_val) {
                r->best_val = val;
                r->best_step = r->step;
                if (save_checkpoint(r, best, 0, e)) {
                    rc = -1;
                    break;
                }
            }
        }
        if (do_ckpt && lead && save_checkpoint(r, last, 1, e)) {
            rc = -1;
            break;
        }
        double tn = now_s();
        if (lead && (do_eval || tn - t_last > (tty ? 0.25 : 10.0) || stop)) {
            double sps = (r->step - step0) / (tn - t0 + 1e-9);
            progress(r, o, tty, loss_sum / (loss_n ? loss_n : 1), last_val, sps, r->step == c->steps);
            if (do_eval) {
                loss_sum = 0;
                loss_n = 0;
            }
            t_last = tn;
        }
        if (stop) {
            dist_barrier();
            rc = 1;
            break;
        } /* no rank ends the job before rank 0 has saved */
        if (o->after_step) o->after_step(r, o->after_step_arg);
    }
    if (o->verbose && tty && rc) fputc('\n', stderr);
    if (mf) fclose(mf);
    if (vf) fclose(vf);
    examples_free(&other);
    free(us);
    free(drawn);
    free(cdf);
    batch_free(&bb);
    graph_free(&g);
    arena_free(&arena);
    return rc;
}

/* ---- restarts: candidates chosen on the held intents ---- */

static int copy_file(const char *from, const char *to, Err *e) {
    unsigned char *buf;
    size_t n;
    if (read_file(from, &buf, &n, e)) return -1;
    int rc = atomic_write(to, write_text, buf, e);
    free(buf);
    return rc;
}

/* A checkpoint of the winner, rewritten under the run's own config (its parameters, state and
 * step unchanged), so that the run folder's files all carry the config that made the run. */
static int adopt_checkpoint(const char *from, const char *to, const TrainConfig *c, int with_state, double secs,
                            Err *e) {
    Run t;
    int rc = load_checkpoint(&t, from, with_state, e);
    if (!rc) {
        t.cfg = *c;
        t.train_seconds = secs;
        rc = save_checkpoint(&t, to, with_state, e);
    }
    run_free(&t);
    return rc;
}

/* The candidates' validation at the choice: IID (trained intents) and held, per init. */
typedef struct {
    int n, win;
    double *iid, *held;
} Candidates;

static int write_candidates(FILE *f, void *ctx, Err *e) {
    (void)e;
    const Candidates *c = ctx;
    fprintf(f, "init,iid_val,held_val,chosen\n");
    for (int j = 0; j < c->n; j++) fprintf(f, "%d,%.6f,%.6f,%d\n", j, c->iid[j], c->held[j], j == c->win);
    return 0;
}

static int run_candidates(Run *r, const TrainOptions *o, const char *last, const char *best, const char *csv, Err *e) {
    const TrainConfig c = r->cfg;
    int K = c.restarts, lead = dist_rank() == 0;
    double secs = 0; /* the run's training time: every candidate's */
    long at = config_choice_step(&c);
    char *cdir = path_join(o->dir, "candidates");
    Candidates cs = {.n = K, .iid = xcalloc((size_t)K, sizeof(double)), .held = xcalloc((size_t)K, sizeof(double))};
    int rc = lead ? ensure_dir(cdir, e) : 0;
    dist_barrier(); /* the candidates' folders need it on every rank */
    for (int j = 0; j < K && !rc; j++) {
        char name[32];
        snprintf(name, sizeof name, "init-%d", j);
        char *dj = path_join(cdir, name), *lj = path_join(dj, "last.safetensors");
        TrainConfig cj = c;
        cj.restarts = 1;
        cj.init = j;
        Run rj;
        /* a candidate folder without a checkpoint (killed before its first) has nothing to keep */
        TrainOptions oj = {.dir = dj,
                           .resume = path_exists(lj),
                           .force = !path_exists(lj),
                           .stop_at = at,
                           .verbose = o->verbose,
                           .after_step = o->after_step,
                           .after_step_arg = o->after_step_arg};
        rc = run_init(&rj, &cj, e);
        if (!rc) rc = run_train(&rj, &oj, e);
        if (!rc && rj.step < at) rc = 1; /* interrupted */
        if (rc == 1 && o->verbose && lead) fprintf(stderr, "candidate init=%d stopped at step %ld\n", j, rj.step);
        if (!rc) { /* every rank scores the same parameters, so every rank chooses the same */
            EvalReport rep;
            run_evaluate(&rj, SPLIT_VAL, 0, &rep);
            cs.iid[j] = rep.iid;
            cs.held[j] = rep.held;
            secs += rj.train_seconds;
            eval_report_free(&rep);
            if (cs.held[j] > cs.held[cs.win]) cs.win = j;
            if (o->verbose && lead)
                fprintf(stderr, "candidate init=%d at step %ld: IID validation %.4f, held %.4f\n", j, at, cs.iid[j],
                        cs.held[j]);
        }
        run_free(&rj);
        free(dj);
        free(lj);
    }
    if (!rc) {
        char name[32];
        snprintf(name, sizeof name, "init-%d", cs.win);
        char *dw = path_join(cdir, name), *f[4];
        const char *files[4] = {"last.safetensors", "best.safetensors", "metrics.csv", "val_intents.csv"};
        for (int i = 0; i < 4; i++) f[i] = path_join(dw, files[i]);
        char *icsv = path_join(o->dir, "val_intents.csv"), *ccsv = path_join(o->dir, "candidates.csv");
        /* the CSVs and best first: last.safetensors written last marks the choice as made */
        if (lead)
            rc = copy_file(f[2], csv, e) || copy_file(f[3], icsv, e) || adopt_checkpoint(f[1], best, &c, 0, secs, e) ||
                         atomic_write(ccsv, write_candidates, &cs, e) || adopt_checkpoint(f[0], last, &c, 1, secs, e)
                     ? -1
                     : 0;
        dist_barrier(); /* rank 0 has written the run's checkpoint: every rank continues from it */
        if (!rc) {
            run_free(r);
            rc = load_checkpoint(r, last, 1, e);
        }
        if (!rc && o->verbose && lead) fprintf(stderr, "continuing from candidate init=%d\n", cs.win);
        for (int i = 0; i < 4; i++) free(f[i]);
        free(dw);
        free(icsv);
        free(ccsv);
    }
    free(cs.iid);
    free(cs.held);
    free(cdir);
    return rc;
}

/* A run interrupted while its candidates trained: no checkpoint of its own, but a folder of them
 * and its config. */
static int candidates_pending(const char *dir) {
    char *last = path_join(dir, "last.safetensors"), *cdir = path_join(dir, "candidates"),
         *cfg = path_join(dir, "config.txt");
    int pending = !path_exists(last) && path_exists(cdir) && path_exists(cfg);
    free(last);
    free(cdir);
    free(cfg);
    return pending;
}

int run_resumable(const char *dir) {
    char *last = path_join(dir, "last.safetensors");
    int yes = path_exists(last) || candidates_pending(dir);
    free(last);
    return yes;
}

/* --resume of such a run: it is rebuilt from its config.txt. */
static int resume_candidates(Run *r, const TrainOptions *o, const char *cfgpath, Err *e) {
    if (!o->resume || !candidates_pending(o->dir)) return 0;
    unsigned char *text;
    size_t n;
    TrainConfig c;
    if (read_file(cfgpath, &text, &n, e)) return -1;
    int rc = config_defaults("sumfirst", METHOD_GNN, &c, e) || config_parse((const char *)text, &c, e) ? -1 : 0;
    free(text);
    char what[700];
    if (!rc && r->cfg.task[0] && config_conflict(&c, &r->cfg, what, sizeof what))
        rc = err_set(e, "%s holds a run with %s: --resume continues a run as it was made", o->dir, what);
    if (rc) return -1;
    run_free(r);
    return run_init(r, &c, e) ? -1 : 1;
}

int run_train(Run *r, const TrainOptions *o, Err *e) {
    struct stat st;
    if (o->resume && (stat(o->dir, &st) || !S_ISDIR(st.st_mode)))
        return err_set(e, "%s: no such run folder to resume", o->dir);
    if (r->cfg.task[0] && r->cfg.B < dist_size())
        return err_set(e, "B = %d intents per step cannot be shared by %d ranks (at most B ranks)", r->cfg.B,
                       dist_size());
    /* rank 0 alone creates, locks and writes the folder; the others only read its checkpoint */
    int lead = dist_rank() == 0, lock = -1;
    if (lead && ensure_dir(o->dir, e)) return -1;
    if (lead && (lock = dir_lock(o->dir, e)) < 0) return -1;
    /* from here on Ctrl-C only sets a flag: the loop saves a checkpoint and stops */
    interrupted = 0;
    struct sigaction sa = {0}, old;
    sa.sa_handler = on_sigint;
    sigaction(SIGINT, &sa, &old);
    if (lead) remove_stale_tmp(o->dir);
    char *last = path_join(o->dir, "last.safetensors"), *best = path_join(o->dir, "best.safetensors"),
         *csv = path_join(o->dir, "metrics.csv"), *cfgpath = path_join(o->dir, "config.txt");
    int rc = resume_candidates(r, o, cfgpath, e);
    if (rc == 0) rc = o->resume ? resume_run(r, o, last, cfgpath, csv, e) : start_run(r, o, cfgpath, csv, e);
    else if (rc == 1) rc = 0;
    if (rc == 0 && r->cfg.restarts > 1 && !path_exists(last)) rc = run_candidates(r, o, last, best, csv, e);
    if (rc == 0 && r->step < r->cfg.steps && r->cfg.B < dist_size()) /* a resumed run's B is known only now */
        rc =
            err_set(e, "B = %d intents per step cannot be shared by %d ranks (at most B ranks)", r->cfg.B, dist_size());
    if (rc == 0 && r->step < r->cfg.steps) rc = train_loop(r, o, last, best, csv, e);
    free(last);
    free(best);
    free(csv);
    free(cfgpath);
    sigaction(SIGINT, &old, NULL);
    if (lead) dir_unlock(lock);
    return rc;
}
