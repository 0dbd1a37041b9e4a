/* neurop reproduce: the plan (tasks × methods × seeds, then the studies' runs of repro_studies.c)
 * and its bookkeeping: resume by files, progress, worker processes. The report it ends with is in
 * repro_report.c. */
#include "analysis/realarc.h"
#include "engine/cpu.h"
#include "io/fileio.h"
#include "io/gnuplot.h"
#include "io/safetensors.h"
#include "repro/repro_internal.h"
#include "train/dist.h"
#include "train/train.h"
#include <cJSON.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif
/* ---- the benchmark ---------------------------------------------------------------------- */

const char *const rp_tasks[REPRO_N_TASKS] = {"sumfirst", "addmod", "arc"};
const char *const rp_task_titles[REPRO_N_TASKS] = {"SUMFIRST-n", "ADDMOD-p", "1D-ARC mixed"};

/* The paper's OOD exact match (10 seeds per model); ADDMOD direct is a range. */
const double rp_paper_ood[REPRO_N_TASKS][METHOD_COUNT][2] = {
    {{0.140, 0.140}, {0.145, 0.145}, {0.344, 0.344}, {0.866, 0.866}},
    {{0.682, 0.699}, {0.947, 0.947}, {0.883, 0.883}, {0.943, 0.943}},
    {{0.603, 0.603}, {0.625, 0.625}, {0.610, 0.610}, {0.713, 0.713}},
};

const char *repro_mode_name(ReproMode m) { return m == REPRO_QUICK ? "quick" : m == REPRO_TINY ? "tiny" : "full"; }

static int default_seeds(ReproMode m) { return m == REPRO_QUICK ? 3 : m == REPRO_TINY ? 1 : 10; }

/* Splits csv on commas and calls one(name) for each non-empty item. */
static int parse_csv(const char *csv, const char *what, unsigned *mask, unsigned all,
                     int (*one)(const char *name, unsigned *bit, Err *e), Err *e) {
    *mask = 0;
    if (!csv || !*csv) return err_set(e, "empty list of %s", what);
    char buf[256];
    if (strlen(csv) >= sizeof buf) return err_set(e, "list of %s too long", what);
    snprintf(buf, sizeof buf, "%s", csv);
    for (char *save = NULL, *tok = strtok_r(buf, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
        unsigned bit;
        if (!strcasecmp(tok, "all")) {
            *mask |= all;
            continue;
        }
        if (one(tok, &bit, e)) return -1;
        *mask |= bit;
    }
    if (!*mask) return err_set(e, "empty list of %s", what);
    return 0;
}
static int one_task(const char *name, unsigned *bit, Err *e) {
    Task t;
    if (task_get_to_score(name, &t, e)) return -1;
    for (int i = 0; i < REPRO_N_TASKS; i++)
        if (!strcmp(rp_tasks[i], t.name)) {
            *bit = 1u << i;
            return 0;
        }
    return err_set(e, "unknown task '%s'", name);
}
static int one_method(const char *name, unsigned *bit, Err *e) {
    MethodKind k;
    if (method_parse(name, &k, e)) return -1;
    *bit = 1u << k;
    return 0;
}
static int one_study(const char *name, unsigned *bit, Err *e) {
    if (!strcasecmp(name, "scale") || !strcasecmp(name, "scaling")) {
        *bit = 1u << (RP_STUDY_SCALE - 1);
        return 0;
    }
    if (!strcasecmp(name, "ablate") || !strcasecmp(name, "ablation")) {
        *bit = 1u << (RP_STUDY_ABLATE - 1);
        return 0;
    }
    return err_set(e, "unknown study '%s' (valid: scale, ablate)", name);
}
int repro_parse_tasks(const char *csv, unsigned *mask, Err *e) {
    return parse_csv(csv, "tasks", mask, (1u << REPRO_N_TASKS) - 1, one_task, e);
}
int repro_parse_methods(const char *csv, unsigned *mask, Err *e) {
    return parse_csv(csv, "methods", mask, (1u << METHOD_COUNT) - 1, one_method, e);
}
int repro_parse_studies(const char *csv, unsigned *mask, Err *e) {
    return parse_csv(csv, "studies", mask, (1u << REPRO_N_STUDIES) - 1, one_study, e);
}

/* Quick mode per task: steps divided by div (at least 20), at most B intents × N examples per
 * step. Chosen by measured cost, one thread (docs/reproduce.md): a Meta-GNN step on arc costs
 * about 0.1 s of CPU per intent in the batch (generating θ dominates), on addmod about 0.02 s
 * per intent, on sumfirst 0.004 s. */
static const struct {
    const char *task;
    int div, B, N;
} QUICK[] = {
    {"sumfirst", 4, 8, 64},
    {"addmod", 8, 4, 32},
    {"arc", 40, 2, 16},
};

int repro_config(const char *task, MethodKind m, ReproMode mode, unsigned long seed, TrainConfig *c, Err *e) {
    if (config_defaults(task, m, c, e)) return -1;
    c->seed = seed;
    if (mode == REPRO_FULL) return 0;
    long evals = 5;
    if (mode == REPRO_QUICK) {
        for (size_t i = 0; i < sizeof QUICK / sizeof *QUICK; i++) {
            if (strcmp(QUICK[i].task, c->task)) continue;
            c->steps = c->steps / QUICK[i].div > 20 ? c->steps / QUICK[i].div : 20;
            if (c->B > QUICK[i].B) c->B = QUICK[i].B;
            if (c->N > QUICK[i].N) c->N = QUICK[i].N;
            if (c->N_after > QUICK[i].N) c->N_after = QUICK[i].N;
        }
        c->eval_n = 128;
    } else {
        c->steps = 20;
        c->B = 2;
        c->N = 8;
        c->N_after = 0;
        c->eval_n = 16;
        evals = 4;
    }
    config_set_steps(c, c->steps, evals);
    return 0;
}

/* ---- small helpers ---------------------------------------------------------------------- */

double rp_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

int rp_mkdir_p(const char *dir, Err *e) {
    char p[1024];
    if (strlen(dir) >= sizeof p) return err_set(e, "%s: path too long", dir);
    snprintf(p, sizeof p, "%s", dir);
    for (char *s = p + 1;; s++) {
        if (*s == '/' || !*s) {
            char c = *s;
            *s = 0;
            if (mkdir(p, 0755) && errno != EEXIST) return err_set(e, "cannot create %s: %s", p, strerror(errno));
            struct stat st;
            if (stat(p, &st) || !S_ISDIR(st.st_mode)) return err_set(e, "%s exists and is not a folder", p);
            *s = c;
            if (!c) break;
        }
    }
    return 0;
}

void rp_printf(Buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void rp_printf(Buf *b, const char *fmt, ...) {
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int k = vsnprintf(b->s ? b->s + b->n : NULL, b->s ? b->cap - b->n : 0, fmt, ap);
        va_end(ap);
        if (k < 0) return;
        if (b->s && b->n + (size_t)k < b->cap) {
            b->n += (size_t)k;
            return;
        }
        b->cap = (b->cap + (size_t)k + 1) * 2;
        b->s = xrealloc(b->s, b->cap);
        if (b->n == 0) b->s[0] = 0;
    }
}
static int write_buf(FILE *f, void *ctx, Err *e) {
    const Buf *b = ctx;
    return fwrite(b->s, 1, b->n, f) == b->n ? 0 : err_set(e, "write failed");
}
int rp_write_text(const char *path, const char *text, Err *e) {
    Buf b = {(char *)text, strlen(text), strlen(text) + 1};
    return atomic_write(path, write_buf, &b, e);
}
cJSON *rp_read_json(const char *path, Err *e) {
    unsigned char *buf;
    size_t len;
    if (read_file(path, &buf, &len, e)) return NULL;
    cJSON *j = cJSON_Parse((const char *)buf);
    free(buf);
    if (!j) err_set(e, "%s: not valid JSON", path);
    return j;
}
double rp_num(const cJSON *o, const char *key, double dflt) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : dflt;
}
const char *rp_str(const cJSON *o, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

void rp_dur(double s, char *buf, size_t n) {
    if (s < 0) s = 0;
    long t = (long)(s + 0.5);
    if (t < 60) snprintf(buf, n, "%lds", t);
    else if (t < 3600) snprintf(buf, n, "%ldm%02lds", t / 60, t % 60);
    else snprintf(buf, n, "%ldh%02ldm", t / 3600, (t % 3600) / 60);
}

void rp_path(char *buf, size_t n, const PlanItem *it, const char *file) { snprintf(buf, n, "%s/%s", it->dir, file); }

/* trailing newline and spaces */
static void rp_strip(char *s) {
    size_t n = strlen(s);
    while (n && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' ')) s[--n] = 0;
}

/* ---- the plan --------------------------------------------------------------------------- */

static int build_plan(Ctx *x, Err *e) {
    const ReproOptions *o = x->o;
    unsigned tm = o->tasks ? o->tasks : (1u << REPRO_N_TASKS) - 1,
             mm = o->methods ? o->methods : (1u << METHOD_COUNT) - 1;
    int nt = 0, nm = 0;
    for (int t = 0; t < REPRO_N_TASKS; t++) nt += (tm >> t) & 1;
    for (int m = 0; m < METHOD_COUNT; m++) nm += (mm >> m) & 1;
    x->items = xcalloc((size_t)nt * nm * x->seeds + 1, sizeof *x->items);
    x->n = 0;
    /* seeds outermost: a stopped reproduction has every (task, method) at the same seed count */
    for (int s = 0; s < x->seeds; s++)
        for (int t = 0; t < REPRO_N_TASKS; t++) {
            if (!((tm >> t) & 1)) continue;
            for (int m = 0; m < METHOD_COUNT; m++) {
                if (!((mm >> m) & 1)) continue;
                PlanItem *it = &x->items[x->n++];
                it->task = t;
                it->method = (MethodKind)m;
                it->seed = (unsigned long)s;
                it->study = RP_MAIN;
                it->cost_key = t * METHOD_COUNT + m;
                snprintf(it->name, sizeof it->name, "%s-%s-s%d", rp_tasks[t], method_id((MethodKind)m), s);
                snprintf(it->dir, sizeof it->dir, "%s/runs/%s", x->out, it->name);
                if (repro_config(rp_tasks[t], (MethodKind)m, o->mode, (unsigned long)s, &it->cfg, e)) return -1;
                config_format(&it->cfg, it->cfgtext, sizeof it->cfgtext);
            }
        }
    x->n_main = x->n;
    return rp_studies_plan(x, e);
}


/* A checkpoint written on another machine or at another thread count (its "machine" differs from
 * `want`, what this invocation's runs record) must not be continued: the run would be neither the
 * one its seed makes there nor here. Checkpoints from before the record have none to compare. */
static int check_machine(const char *ckpt, const char *dir, const char *want, Err *e) {
    if (!file_exists(ckpt)) return 0;
    StFile *f = st_open(ckpt, e);
    if (!f) return -1;
    const char *had = st_meta(f, "machine");
    int rc = 0;
    if (had && *had && strcmp(had, want)) {
        const char *th = strstr(had, "threads="), *tw = strstr(want, "threads=");
        int threads_only = th && tw && (th - had) == (tw - want) && !strncmp(had, want, (size_t)(th - had));
        if (threads_only)
            rc = err_set(e,
                         "%s was trained so far with %s, this invocation gives its runs %s (a seed's run is "
                         "bit-identical only at one thread count): run with the --jobs (or OMP_NUM_THREADS) it had, or "
                         "remove that folder to train it afresh",
                         dir, th, tw);
        else
            rc = err_set(e,
                         "%s was trained so far on another machine (%.160s): a seed's run is bit-identical only "
                         "on one CPU, BLAS kernel and thread count; remove that folder to train it afresh here",
                         dir, had);
    }
    st_free(f);
    return rc;
}

/* A run folder made with another configuration must not be mixed into this plan, nor one whose
 * checkpoints (its own, or its restarts' candidates') were written on another `machine`. */
static int check_folder(const PlanItem *it, const char *machine, Err *e) {
    char path[1200], have[1200] = "";
    rp_path(path, sizeof path, it, "eval.json");
    int done = file_exists(path);
    if (!done) {
        rp_path(path, sizeof path, it, "last.safetensors");
        if (check_machine(path, it->dir, machine, e)) return -1;
        for (int j = 0; j < it->cfg.restarts; j++) { /* a restarts run's candidates */
            char name[64];
            snprintf(name, sizeof name, "candidates/init-%d/last.safetensors", j);
            rp_path(path, sizeof path, it, name);
            if (check_machine(path, it->dir, machine, e)) return -1;
        }
    }
    if (done) {
        rp_path(path, sizeof path, it, "eval.json");
        cJSON *j = rp_read_json(path, e);
        if (!j) return -1;
        const char *c = rp_str(j, "config");
        snprintf(have, sizeof have, "%s", c ? c : "(none)");
        cJSON_Delete(j);
    } else {
        rp_path(path, sizeof path, it, "config.txt");
        if (!file_exists(path)) return 0;
        unsigned char *buf;
        size_t len;
        if (read_file(path, &buf, &len, e)) return -1;
        snprintf(have, sizeof have, "%s", (char *)buf);
        free(buf);
    }
    rp_strip(have);
    /* in today's text form: a key added since (config.c's ADDED) reads as the value the folder's
     * run used, so a folder made before it was added still belongs to the plan when that value is
     * the plan's */
    TrainConfig hc;
    Err pe = {{0}};
    if (!config_parse(have, &hc, &pe)) config_format(&hc, have, sizeof have);
    if (!strcmp(have, it->cfgtext)) return 0;
    /* name the first setting that differs */
    char a[1200], b[1200], *sa = NULL, *sb = NULL;
    snprintf(a, sizeof a, "%s", have);
    snprintf(b, sizeof b, "%s", it->cfgtext);
    char *ta = strtok_r(a, " ", &sa), *tb = strtok_r(b, " ", &sb);
    while (ta && tb && !strcmp(ta, tb)) {
        ta = strtok_r(NULL, " ", &sa);
        tb = strtok_r(NULL, " ", &sb);
    }
    return err_set(e,
                   "%s was made with another configuration (%s there, %s in this plan: another mode, or a changed "
                   "defaults table); use another --out, or remove that folder",
                   it->dir, ta ? ta : "(end)", tb ? tb : "(end)");
    return 0;
}

/* ---- one run ---------------------------------------------------------------------------- */

enum { RUN_SKIPPED, RUN_TRAINED, RUN_RESUMED };
typedef struct RunMsg { /* a worker's report of one finished run (fits a pipe write) */
    int idx, how, failed, interrupted, error;
    double wall, cost, iid, ood; /* wall: this invocation; cost: training (over resumes) + evaluation */
} RunMsg;

static cJSON *intent_json(const Task *t, Intent u, Split s, int n, int correct) {
    char nm[64];
    task_intent_format(t, u, nm, sizeof nm);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "intent", nm);
    if (t->kind == TASK_ARC) cJSON_AddStringToObject(o, "family", arc_family_name(u.family));
    cJSON_AddStringToObject(o, "split", split_name(s));
    cJSON_AddNumberToObject(o, "n", n);
    cJSON_AddNumberToObject(o, "correct", correct);
    cJSON_AddNumberToObject(o, "exact", n ? (double)correct / n : 0.0);
    return o;
}

/* Trains (or resumes) one run, evaluates its best checkpoint and writes eval.json. Returns 0,
 * 1 when interrupted, -1 on an error that stops the reproduction. */
static int run_one(const Ctx *x, const PlanItem *it, RunMsg *msg, Err *e) {
    char best[1200], evalp[1200];
    rp_path(best, sizeof best, it, "best.safetensors");
    rp_path(evalp, sizeof evalp, it, "eval.json");
    double t0 = rp_now();
    memset(msg, 0, sizeof *msg);
    msg->iid = msg->ood = -1;
    if (file_exists(evalp)) {
        msg->how = RUN_SKIPPED;
        return 0;
    }
    if (rp_mkdir_p(it->dir, e)) return -1;
    int resume = run_resumable(it->dir); /* a restarts run's candidates continue where they stopped */
    msg->how = resume ? RUN_RESUMED : RUN_TRAINED;

    Run r;
    if (run_init(&r, &it->cfg, e)) return -1;
    /* check_folder saw that a folder without a checkpoint holds this plan's config (a run killed
     * before its first checkpoint): starting it over loses nothing */
    TrainOptions to = {.dir = it->dir,
                       .resume = resume,
                       .force = !resume,
                       .steps = it->cfg.steps,
                       .verbose = x->verbose >= 2 || (x->verbose && x->tty && x->o->jobs <= 1)};
    Err te = {{0}};
    int rc = run_train(&r, &to, &te);
    if (rc == 1) {
        run_free(&r);
        msg->interrupted = 1;
        return 1;
    }
    long params = r.m.ps.n, steps_done = r.step, best_step = r.best_step;
    double train_s = r.train_seconds, best_val = r.best_val;
    char machine[sizeof r.machine];
    snprintf(machine, sizeof machine, "%s", r.machine);
    run_free(&r);

    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "format", "neurop-reproduce-run-1");
    cJSON_AddStringToObject(j, "name", it->name);
    cJSON_AddStringToObject(j, "task", rp_tasks[it->task]);
    cJSON_AddStringToObject(j, "method", method_id(it->method));
    cJSON_AddStringToObject(j, "method_name", method_name(it->method));
    cJSON_AddNumberToObject(j, "seed", (double)it->seed);
    cJSON_AddStringToObject(j, "config", it->cfgtext);
    cJSON_AddStringToObject(j, "machine", machine);
    cJSON_AddNumberToObject(j, "steps", (double)it->cfg.steps);
    cJSON_AddNumberToObject(j, "steps_done", (double)steps_done);
    cJSON_AddNumberToObject(j, "params", (double)params);
    cJSON_AddNumberToObject(j, "train_seconds", train_s);
    cJSON_AddNumberToObject(j, "best_val", best_val);
    cJSON_AddNumberToObject(j, "best_step", (double)best_step);
    if (rc < 0) {
        cJSON_AddStringToObject(j, "error", te.msg);
        msg->failed = 1;
        if (x->verbose) fprintf(stderr, "%s: training stopped: %s\n", it->name, te.msg);
    }
    double te0 = rp_now();
    int evaluated = 0;
    if (file_exists(best)) {
        Run b;
        if (run_open(&b, it->dir, "best", e)) {
            cJSON_Delete(j);
            return -1;
        }
        EvalReport rep;
        run_evaluate(&b, SPLIT_TEST, 1, &rep);
        cJSON_AddStringToObject(j, "checkpoint", "best");
        cJSON_AddStringToObject(j, "iid_split", "test");
        cJSON_AddNumberToObject(j, "iid", rep.iid);
        cJSON_AddNumberToObject(j, "ood", rep.ood);
        cJSON_AddNumberToObject(j, "iid_pooled", rep.iid_pooled);
        if (rep.n_ood_ordinal) cJSON_AddNumberToObject(j, "ood_ordinal", rep.ood_ordinal);
        if (rep.n_held) { /* train intents held out of training: not in iid (docs/training.md) */
            cJSON_AddNumberToObject(j, "held", rep.held);
            cJSON_AddNumberToObject(j, "n_held", rep.n_held);
        }
        msg->iid = rep.iid;
        msg->ood = rep.ood;
        cJSON *arr = cJSON_AddArrayToObject(j, "intents");
        for (int i = 0; i < rep.n; i++)
            cJSON_AddItemToArray(
                arr, intent_json(&b.task, rep.items[i].u, rep.items[i].split, rep.items[i].n, rep.items[i].correct));
        eval_report_free(&rep);
        if (b.task.kind == TASK_ARC && x->real_dir) {
            RealReport rr;
            Err re = {{0}};
            if (run_real_arc(&b, x->real_dir, &rr, &re)) {
                cJSON_AddStringToObject(j, "real_1d_arc_error", re.msg);
            } else {
                cJSON_AddStringToObject(j, "real_1d_arc_dir", x->real_dir);
                cJSON *ra = cJSON_AddArrayToObject(j, "real_1d_arc");
                for (int k = 0; k < rr.n; k++) {
                    char nm[64];
                    task_intent_format(&b.task, rr.fam[k].u, nm, sizeof nm);
                    cJSON *o = cJSON_CreateObject();
                    cJSON_AddStringToObject(o, "family", rr.fam[k].family);
                    cJSON_AddStringToObject(o, "intent", nm);
                    cJSON_AddBoolToObject(o, "ood", task_is_ood(&b.task, rr.fam[k].u));
                    cJSON_AddNumberToObject(o, "n", rr.fam[k].n);
                    cJSON_AddNumberToObject(o, "correct", rr.fam[k].correct);
                    cJSON_AddNumberToObject(o, "exact", rr.fam[k].n ? (double)rr.fam[k].correct / rr.fam[k].n : 0.0);
                    cJSON_AddItemToArray(ra, o);
                }
            }
        }
        run_free(&b);
        evaluated = 1;
    }
    if (!evaluated && !msg->failed) cJSON_AddStringToObject(j, "error", "no best checkpoint");
    cJSON_AddNumberToObject(j, "eval_seconds", rp_now() - te0);
    msg->cost = train_s + (rp_now() - te0);
    int wrc = json_write(evalp, j, e);
    cJSON_Delete(j);
    msg->wall = rp_now() - t0;
    return wrc;
}

/* ---- executing the plan: progress and ETA ----------------------------------------------- */

typedef struct Progress {
    double t0;
    int done, total; /* done: finished in this invocation (skipped ones excluded) */
    double *cost;    /* [PlanItem.cost_key]: seconds per run, measured or read */
    int *cost_n;
} Progress;

/* The time left, as text: the runs of kinds (cost keys: task × method, or a study variant)
 * already timed at their mean cost; while some kind has no timing yet, a lower bound. */
static void eta(const Ctx *x, const Progress *p, const char *state, char *buf, size_t n) {
    double left = 0;
    int untimed = 0;
    for (int i = 0; i < x->n; i++) {
        if (state[i]) continue;
        int k = x->items[i].cost_key;
        if (p->cost_n[k]) left += p->cost[k] / p->cost_n[k];
        else untimed++;
    }
    int jobs = x->o->jobs > 1 ? x->o->jobs : 1; /* runs in parallel: roughly that much faster */
    char d[32];
    rp_dur(left / jobs, d, sizeof d);
    if (untimed) snprintf(buf, n, "> %s (%d run%s of untimed kinds)", d, untimed, untimed == 1 ? "" : "s");
    else snprintf(buf, n, "%s", d);
}

static void report_done(const Ctx *x, Progress *p, char *state, const RunMsg *m) {
    const PlanItem *it = &x->items[m->idx];
    state[m->idx] = 1;
    int k = it->cost_key;
    if (!m->interrupted && m->cost > 0) {
        p->cost[k] += m->cost;
        p->cost_n[k]++;
    }
    p->done++;
    if (!x->verbose) return;
    int finished = 0;
    for (int i = 0; i < x->n; i++) finished += state[i] != 0;
    char el[32], et[128];
    rp_dur(rp_now() - p->t0, el, sizeof el);
    eta(x, p, state, et, sizeof et);
    if (m->interrupted)
        fprintf(stderr, "%s: interrupted (its last checkpoint is saved; run again to resume it)\n", it->name);
    else if (m->how == RUN_SKIPPED) /* finished by another invocation into this folder since the plan was made */
        fprintf(stderr, "[%*d/%d] %-22s done by another invocation  elapsed %s  ETA %s\n", x->n >= 100 ? 3 : 2,
                finished, x->n, it->name, el, et);
    else if (m->iid < 0)
        fprintf(stderr, "[%*d/%d] %-22s FAILED (see its eval.json)  elapsed %s  ETA %s\n", x->n >= 100 ? 3 : 2,
                finished, x->n, it->name, el, et);
    else
        fprintf(stderr, "[%*d/%d] %-22s IID %.3f  OOD %.3f  %s %.0fs%s  elapsed %s  ETA %s\n", x->n >= 100 ? 3 : 2,
                finished, x->n, it->name, m->iid, m->ood, m->how == RUN_RESUMED ? "resumed" : "run", m->wall,
                m->failed ? " (stopped early)" : "", el, et);
    fflush(stderr);
}

/* A run's report in the invocation's counts: trained, resumed, done by another invocation, failed. */
static void count_run(ReproSummary *s, const RunMsg *m) {
    s->trained += m->how == RUN_TRAINED;
    s->resumed += m->how == RUN_RESUMED;
    s->skipped += m->how == RUN_SKIPPED;
    s->failed += m->failed;
}

static volatile sig_atomic_t parent_interrupted;
static void on_parent_sigint(int sig) {
    (void)sig;
    parent_interrupted = 1;
}

/* Workers: each takes run indices from a shared pipe (atomic 4-byte reads) until it is empty
 * and sends a RunMsg per finished run back over another pipe. */
static int run_workers(const Ctx *x, Progress *p, char *state, const int *pending, int np, ReproSummary *s, Err *e) {
    int qp[2], dp[2];
    if (pipe(qp) || pipe(dp)) return err_set(e, "pipe: %s", strerror(errno));
    for (int i = 0; i < np; i++)
        if (write(qp[1], &pending[i], sizeof(int)) != (ssize_t)sizeof(int))
            return err_set(e, "pipe write: %s", strerror(errno));
    close(qp[1]);
    int jobs = x->o->jobs < np ? x->o->jobs : np;
    pid_t *pids = xcalloc(jobs, sizeof *pids);
    int forkfail = 0;
    fflush(stdout);
    fflush(stderr);
    for (int w = 0; w < jobs; w++) {
        pid_t pid = fork();
        if (pid < 0) {
            err_set(e, "fork: %s", strerror(errno));
            jobs = w;
            forkfail = 1;
            break;
        }
        if (pid == 0) {
            close(dp[0]);
#ifdef _OPENMP
            /* one thread per worker, always: GNU libgomp's thread pool does not survive fork(),
             * so a child that ran a parallel region on more threads than the one it has would
             * wait forever on the parent's (absent) pool threads */
            omp_set_num_threads(1);
#endif
            int idx, code = 0;
            while (read(qp[0], &idx, sizeof idx) == (ssize_t)sizeof idx) {
                RunMsg m;
                Err we = {{0}};
                int rc = run_one(x, &x->items[idx], &m, &we);
                m.idx = idx;
                if (rc < 0) {
                    fprintf(stderr, "neurop reproduce: %s: %s\n", x->items[idx].name, we.msg);
                    code = 1;
                    m.error = 1;
                    m.iid = -1;
                }
                if (write(dp[1], &m, sizeof m) != (ssize_t)sizeof m) code = 1;
                if (rc) break;
            }
            fflush(stderr);
            _exit(code);
        }
        pids[w] = pid;
    }
    close(qp[0]);
    close(dp[1]);
    struct sigaction sa = {0}, old;
    sa.sa_handler = on_parent_sigint;
    sigaction(SIGINT, &sa, &old);
    parent_interrupted = 0;
    int forwarded = 0, bad = 0;
    for (;;) {
        RunMsg m;
        ssize_t k = read(dp[0], &m, sizeof m);
        if (k < 0 && errno == EINTR) {
            if (parent_interrupted && !forwarded) {
                for (int w = 0; w < jobs; w++) kill(pids[w], SIGINT);
                forwarded = 1;
            }
            continue;
        }
        if (k != (ssize_t)sizeof m) break;
        if (m.interrupted) s->interrupted = 1;
        else if (m.error) bad = 1;
        else count_run(s, &m);
        report_done(x, p, state, &m);
    }
    close(dp[0]);
    for (int w = 0; w < jobs; w++) {
        int st;
        while (waitpid(pids[w], &st, 0) < 0 && errno == EINTR) {}
        if (parent_interrupted) s->interrupted = 1;
        if (!s->interrupted && (!WIFEXITED(st) || WEXITSTATUS(st))) bad = 1;
    }
    sigaction(SIGINT, &old, NULL);
    if (parent_interrupted) s->interrupted = 1;
    free(pids);
    if (forkfail) return -1;
    if (bad && !s->interrupted) return err_set(e, "a worker stopped with an error (its message is above)");
    return 0;
}

/* Under mpirun (train/dist.h): the same queue over MPI messages. Rank 0 hands out run indices
 * and collects the RunMsgs; ranks 1.. train. A rank asks for work with a RunMsg of idx -1 and
 * reports each finished run with the next request; -1 sent back means no more. Rank 0 trains
 * nothing and sleeps while it waits (dist_recv_any), so R ranks train R-1 runs at once. */
static int rank_worker(const Ctx *x) {
    RunMsg m = {.idx = -1};
    dist_solo(); /* each run trains in this rank alone, not data-parallel over the job */
    for (;;) {
        dist_send(0, &m, sizeof m);
        int idx;
        dist_recv_any(&idx, sizeof idx);
        if (idx < 0) return 0;
        Err we = {{0}};
        int rc = run_one(x, &x->items[idx], &m, &we);
        m.idx = idx;
        if (rc < 0) {
            fprintf(stderr, "neurop reproduce: %s: %s\n", x->items[idx].name, we.msg);
            m.error = 1;
            m.iid = -1;
        }
    }
}

static int run_ranks(const Ctx *x, Progress *p, char *state, const int *pending, int np, ReproSummary *s, Err *e) {
    int active = dist_size() - 1, q = 0, bad = 0;
    while (active > 0) {
        RunMsg m;
        int from = dist_recv_any(&m, sizeof m);
        if (m.idx >= 0) {
            if (m.interrupted) s->interrupted = 1;
            else if (m.error) bad = 1;
            else count_run(s, &m);
            report_done(x, p, state, &m);
            if (m.interrupted) state[m.idx] = 0;
        }
        /* after an error or an interrupt no new run starts; the ones under way finish */
        int next = q < np && !bad && !s->interrupted ? pending[q++] : -1;
        dist_send(from, &next, sizeof next);
        if (next < 0) active--;
    }
    if (bad && !s->interrupted) return err_set(e, "a rank stopped with an error (its message is above)");
    return 0;
}

static int execute(const Ctx *x, ReproSummary *s, Err *e) {
    Progress p = {.t0 = rp_now(), .total = x->n};
    int keys = 1;
    for (int i = 0; i < x->n; i++)
        if (x->items[i].cost_key >= keys) keys = x->items[i].cost_key + 1;
    p.cost = xcalloc(keys, sizeof *p.cost);
    p.cost_n = xcalloc(keys, sizeof *p.cost_n);
    char *state = xcalloc(x->n + 1, 1); /* 1: finished (before or now) */
    int *pending = xcalloc(x->n + 1, sizeof *pending), np = 0, rc = 0;
    for (int i = 0; i < x->n; i++) {
        char path[1200];
        rp_path(path, sizeof path, &x->items[i], "eval.json");
        if (file_exists(path)) {
            state[i] = 1;
            s->skipped++;
            cJSON *j = rp_read_json(path, NULL); /* its cost feeds the ETA */
            if (j) {
                int k = x->items[i].cost_key;
                p.cost[k] += rp_num(j, "train_seconds", 0) + rp_num(j, "eval_seconds", 0);
                p.cost_n[k]++;
                cJSON_Delete(j);
            }
        } else pending[np++] = i;
    }
    if (x->verbose) {
        char et[128];
        eta(x, &p, state, et, sizeof et);
        int models = x->n_main / (x->seeds ? x->seeds : 1), ns = x->n - x->n_main;
        fprintf(stderr, "neurop reproduce: %s mode, %d run%s (%d model%s × %d seed%s", repro_mode_name(x->o->mode),
                x->n, x->n == 1 ? "" : "s", models, models == 1 ? "" : "s", x->seeds, x->seeds == 1 ? "" : "s");
        if (ns)
            fprintf(stderr, ", then %d study run%s at %d seed%s", ns, ns == 1 ? "" : "s", x->study_seeds,
                    x->study_seeds == 1 ? "" : "s");
        fprintf(stderr, ") in %s; %d already done", x->out, s->skipped);
        if (np && s->skipped) fprintf(stderr, "; ETA %s", et);
        fprintf(stderr, "\n");
    }
    if (dist_size() > 1) {
        rc = run_ranks(x, &p, state, pending, np, s, e); /* also with nothing to do: the ranks wait for word */
    } else if (np && x->o->jobs > 1) {
        rc = run_workers(x, &p, state, pending, np, s, e);
    } else {
        for (int q = 0; q < np && !rc; q++) {
            int i = pending[q];
            if (x->verbose && x->tty) {
                char et[128];
                eta(x, &p, state, et, sizeof et);
                fprintf(stderr, "[%*d/%d] %s: training (ETA of the whole reproduction %s)\n", x->n >= 100 ? 3 : 2,
                        s->skipped + q + 1, x->n, x->items[i].name, et);
            }
            RunMsg m;
            int r = run_one(x, &x->items[i], &m, e);
            m.idx = i;
            if (r < 0) {
                rc = -1;
                break;
            }
            if (r == 1) {
                s->interrupted = 1;
                report_done(x, &p, state, &m);
                state[i] = 0;
                break;
            }
            count_run(s, &m);
            report_done(x, &p, state, &m);
        }
    }
    free(state);
    free(pending);
    free(p.cost);
    free(p.cost_n);
    return rc;
}

/* ---- the command ------------------------------------------------------------------------ */

int reproduce(const ReproOptions *o, ReproSummary *s, Err *e) {
    double t0 = rp_now();
    memset(s, 0, sizeof *s);
    Ctx x = {.o = o};
    /* paths inside it get up to ~120 more characters; a longer --out is refused, never cut */
    if (o->out && strlen(o->out) >= sizeof x.out - 128)
        return err_set(e, "--out has %zu characters, at most %zu", strlen(o->out), sizeof x.out - 129);
    snprintf(x.out, sizeof x.out, "%s", o->out && *o->out ? o->out : "results");
    size_t ol = strlen(x.out);
    while (ol > 1 && x.out[ol - 1] == '/') x.out[--ol] = 0;
    x.seeds = o->seeds > 0 ? o->seeds : default_seeds(o->mode);
    if (x.seeds > 1000) return err_set(e, "--seeds %d: at most 1000", x.seeds);
    if (dist_size() > 1 && o->jobs > 1)
        return err_set(e, "--jobs %d under mpirun: the ranks are the workers; give one", o->jobs);
    /* under mpirun rank 0 speaks for the job; the others print only trainer log lines (--verbose) */
    x.verbose = dist_rank() == 0 ? o->verbose : o->verbose >= 2 ? 2 : 0;
    x.tty = dist_rank() == 0 && isatty(2);
    /* the real 1D-ARC files */
    struct stat st;
    char found[1024];
    Err de;
    if (o->no_real) snprintf(x.real_note, sizeof x.real_note, "--no-real was given");
    else if (o->real_dir) {
        if (stat(o->real_dir, &st) || !S_ISDIR(st.st_mode)) return err_set(e, "--real %s: no such folder", o->real_dir);
        x.real_dir = o->real_dir;
    } else if (!data_dir("1d-arc", found, sizeof found, &de)) x.real_dir = found;
    else return err_set(e, "the real 1D-ARC test: %.400s; or give --real DIR or --no-real", de.msg);
    int rc = build_plan(&x, e);
    unsigned tm = o->tasks ? o->tasks : 7u;
    if (!rc && x.verbose && !x.real_dir && (tm & 4u))
        fprintf(stderr, "neurop reproduce: no real 1D-ARC test: %s\n", x.real_note);
    /* what a run trained now records: a worker process (--jobs) runs one OpenMP thread */
    int threads = 1;
#ifdef _OPENMP
    threads = dist_size() == 1 && o->jobs > 1 ? 1 : omp_get_max_threads();
#endif
    char machine[320];
    cpu_describe_at(machine, sizeof machine, threads);
    for (int i = 0; !rc && i < x.n; i++) rc = check_folder(&x.items[i], machine, e);
    char runs[1000];
    snprintf(runs, sizeof runs, "%s/runs", x.out);
    if (!rc) rc = rp_mkdir_p(runs, e);
    s->total = x.n;
    if (!rc && dist_rank() > 0) { /* a worker rank: runs from rank 0 until it says stop; no report */
        rc = rank_worker(&x);
        free(x.items);
        return rc;
    }
    if (!rc) rc = execute(&x, s, e);
    if (!rc || s->interrupted) {
        Err re = {{0}};
        int r2 = rp_report(&x, s, t0, &re);
        if (r2 && !rc) {
            rc = -1;
            *e = re;
        }
        if (!rc && x.verbose) {
            char w[32];
            rp_dur(rp_now() - t0, w, sizeof w);
            fprintf(stderr, "neurop reproduce: %s/results.md, %s/results.json%s written in %s%s\n", x.out, x.out,
                    s->plots ? " and plots/" : "", w,
                    s->interrupted ? " (partial: interrupted; run again to continue)" : "");
            if (!o->no_plots && !gnuplot_installed())
                fprintf(stderr,
                        "neurop reproduce: no PNG plots: gnuplot is not installed (Debian: gnuplot-nox, or `make "
                        "reproduce`); the scripts and data are in %s/plots/\n",
                        x.out);
        }
    }
    s->wall_seconds = rp_now() - t0;
    free(x.items);
    if (rc < 0) return -1;
    return s->interrupted ? 1 : 0;
}
