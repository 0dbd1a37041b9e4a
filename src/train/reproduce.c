/* neurop reproduce: the plan (tasks × methods × seeds), its bookkeeping (resume by files,
 * progress, worker processes) and the report (results.md, results.json, gnuplot plots). */
#include "train/reproduce.h"
#include "engine/fileio.h"
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

static const char *const TASKS[REPRO_N_TASKS] = {"sumfirst", "addmod", "arc"};
static const char *const TASK_TITLE[REPRO_N_TASKS] = {"SUMFIRST-n", "ADDMOD-p", "1D-ARC mixed"};

/* spec §2: the paper's OOD exact match (10 seeds per model); ADDMOD direct is a range. */
static const double PAPER_OOD[REPRO_N_TASKS][METHOD_COUNT][2] = {
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
        if (!strcasecmp(tok, "all")) { *mask |= all; continue; }
        if (one(tok, &bit, e)) return -1;
        *mask |= bit;
    }
    if (!*mask) return err_set(e, "empty list of %s", what);
    return 0;
}
static int one_task(const char *name, unsigned *bit, Err *e) {
    Task t;
    if (task_get(name, &t, e)) return -1;
    for (int i = 0; i < REPRO_N_TASKS; i++) if (!strcmp(TASKS[i], t.name)) { *bit = 1u << i; return 0; }
    return err_set(e, "unknown task '%s'", name);
}
static int one_method(const char *name, unsigned *bit, Err *e) {
    MethodKind k;
    if (method_parse(name, &k, e)) return -1;
    *bit = 1u << k;
    return 0;
}
int repro_parse_tasks(const char *csv, unsigned *mask, Err *e) {
    return parse_csv(csv, "tasks", mask, (1u << REPRO_N_TASKS) - 1, one_task, e);
}
int repro_parse_methods(const char *csv, unsigned *mask, Err *e) {
    return parse_csv(csv, "methods", mask, (1u << METHOD_COUNT) - 1, one_method, e);
}

/* Quick mode per task: steps divided by div (at least 20), at most B intents × N examples per
 * step. Chosen by measured cost, one thread (docs/reproduce.md): a Meta-GNN step on arc costs
 * about 0.1 s of CPU per intent in the batch (generating θ dominates), on addmod about 0.02 s
 * per intent, on sumfirst 0.004 s. */
static const struct { const char *task; int div, B, N; } QUICK[] = {
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
        }
        c->eval_n = 128;
    } else {
        c->steps = 20; c->B = 2; c->N = 8; c->eval_n = 16;
        evals = 4;
    }
    c->warmup = c->steps / 20;
    c->eval_every = c->steps / evals > 0 ? c->steps / evals : 1;
    c->ckpt_every = c->eval_every;
    return 0;
}

/* ---- small helpers ---------------------------------------------------------------------- */

static double now_s(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + 1e-9 * t.tv_nsec; }

static int file_exists(const char *path) { struct stat st; return stat(path, &st) == 0 && S_ISREG(st.st_mode); }

static int mkdir_p(const char *dir, Err *e) {
    char p[1024];
    if (strlen(dir) >= sizeof p) return err_set(e, "%s: path too long", dir);
    snprintf(p, sizeof p, "%s", dir);
    for (char *s = p + 1; ; s++) {
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

/* A growing text buffer. */
typedef struct Buf { char *s; size_t n, cap; } Buf;
static void bprintf(Buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void bprintf(Buf *b, const char *fmt, ...) {
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int k = vsnprintf(b->s ? b->s + b->n : NULL, b->s ? b->cap - b->n : 0, fmt, ap);
        va_end(ap);
        if (k < 0) return;
        if (b->s && b->n + (size_t)k < b->cap) { b->n += (size_t)k; return; }
        b->cap = (b->cap + (size_t)k + 1) * 2;
        b->s = xrealloc(b->s, b->cap);
        if (b->n == 0) b->s[0] = 0;
    }
}
static int write_buf(FILE *f, void *ctx, Err *e) {
    const Buf *b = ctx;
    return fwrite(b->s, 1, b->n, f) == b->n ? 0 : err_set(e, "write failed");
}
static int write_text_file(const char *path, const char *text, Err *e) {
    Buf b = {(char *)text, strlen(text), strlen(text) + 1};
    return atomic_write(path, write_buf, &b, e);
}
static int write_json_file(const char *path, const cJSON *j, Err *e) {
    char *s = cJSON_Print(j);
    if (!s) return err_set(e, "%s: cannot format JSON", path);
    size_t n = strlen(s);
    char *t = xmalloc(n + 2);
    memcpy(t, s, n); t[n] = '\n'; t[n + 1] = 0;
    cJSON_free(s);
    int rc = write_text_file(path, t, e);
    free(t);
    return rc;
}
static cJSON *read_json(const char *path, Err *e) {
    unsigned char *buf; size_t len;
    if (read_file(path, &buf, &len, e)) return NULL;
    cJSON *j = cJSON_Parse((const char *)buf);
    free(buf);
    if (!j) err_set(e, "%s: not valid JSON", path);
    return j;
}
static double jnum(const cJSON *o, const char *key, double dflt) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : dflt;
}
static const char *jstr(const cJSON *o, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void fmt_dur(double s, char *buf, size_t n) {
    if (s < 0) s = 0;
    long t = (long)(s + 0.5);
    if (t < 60) snprintf(buf, n, "%lds", t);
    else if (t < 3600) snprintf(buf, n, "%ldm%02lds", t / 60, t % 60);
    else snprintf(buf, n, "%ldh%02ldm", t / 3600, (t % 3600) / 60);
}

/* ---- the plan --------------------------------------------------------------------------- */

typedef struct PlanItem {
    int task;                 /* index into TASKS */
    MethodKind method;
    unsigned long seed;
    char name[64];            /* TASK-METHOD-sSEED */
    char dir[1024];
    TrainConfig cfg;
    char cfgtext[1024];
} PlanItem;

typedef struct Ctx {
    const ReproOptions *o;
    char out[900];
    const char *real_dir;     /* NULL: no real 1D-ARC test */
    char real_note[256];      /* why not, for the report */
    int seeds;
    PlanItem *items;
    int n;
    int verbose, tty;
} Ctx;

static int build_plan(Ctx *x, Err *e) {
    const ReproOptions *o = x->o;
    unsigned tm = o->tasks ? o->tasks : (1u << REPRO_N_TASKS) - 1, mm = o->methods ? o->methods : (1u << METHOD_COUNT) - 1;
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
                it->task = t; it->method = (MethodKind)m; it->seed = (unsigned long)s;
                snprintf(it->name, sizeof it->name, "%s-%s-s%d", TASKS[t], method_id((MethodKind)m), s);
                snprintf(it->dir, sizeof it->dir, "%s/runs/%s", x->out, it->name);
                if (repro_config(TASKS[t], (MethodKind)m, o->mode, (unsigned long)s, &it->cfg, e)) return -1;
                config_format(&it->cfg, it->cfgtext, sizeof it->cfgtext);
            }
        }
    return 0;
}

static void path_in(char *buf, size_t n, const PlanItem *it, const char *file) { snprintf(buf, n, "%s/%s", it->dir, file); }

static void strip(char *s) {
    size_t n = strlen(s);
    while (n && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' ')) s[--n] = 0;
}

/* A run folder made with another configuration must not be mixed into this plan. */
static int check_folder(const PlanItem *it, Err *e) {
    char path[1200], have[1200] = "";
    path_in(path, sizeof path, it, "eval.json");
    if (file_exists(path)) {
        cJSON *j = read_json(path, e);
        if (!j) return -1;
        const char *c = jstr(j, "config");
        snprintf(have, sizeof have, "%s", c ? c : "(none)");
        cJSON_Delete(j);
    } else {
        path_in(path, sizeof path, it, "config.txt");
        if (!file_exists(path)) return 0;
        unsigned char *buf; size_t len;
        if (read_file(path, &buf, &len, e)) return -1;
        snprintf(have, sizeof have, "%s", (char *)buf);
        free(buf);
    }
    strip(have);
    if (!strcmp(have, it->cfgtext)) return 0;
    /* name the first setting that differs */
    char a[1200], b[1200], *sa = NULL, *sb = NULL;
    snprintf(a, sizeof a, "%s", have);
    snprintf(b, sizeof b, "%s", it->cfgtext);
    char *ta = strtok_r(a, " ", &sa), *tb = strtok_r(b, " ", &sb);
    while (ta && tb && !strcmp(ta, tb)) { ta = strtok_r(NULL, " ", &sa); tb = strtok_r(NULL, " ", &sb); }
    return err_set(e, "%s was made with another configuration (%s there, %s in this plan: another mode, or a changed "
                      "defaults table); use another --out, or remove that folder",
                   it->dir, ta ? ta : "(end)", tb ? tb : "(end)");
    return 0;
}

/* ---- one run ---------------------------------------------------------------------------- */

enum { RUN_SKIPPED, RUN_TRAINED, RUN_RESUMED };
typedef struct RunMsg {       /* a worker's report of one finished run (fits a pipe write) */
    int idx, how, failed, interrupted, error;
    double wall, cost, iid, ood;  /* wall: this invocation; cost: training (over resumes) + evaluation */
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
    char last[1200], best[1200], evalp[1200];
    path_in(last, sizeof last, it, "last.safetensors");
    path_in(best, sizeof best, it, "best.safetensors");
    path_in(evalp, sizeof evalp, it, "eval.json");
    double t0 = now_s();
    memset(msg, 0, sizeof *msg);
    msg->iid = msg->ood = -1;
    if (file_exists(evalp)) { msg->how = RUN_SKIPPED; return 0; }
    if (mkdir_p(it->dir, e)) return -1;
    int resume = file_exists(last);
    msg->how = resume ? RUN_RESUMED : RUN_TRAINED;

    Run r;
    if (run_init(&r, &it->cfg, e)) return -1;
    TrainOptions to = {.dir = it->dir, .resume = resume, .verbose = x->verbose >= 2 || (x->verbose && x->tty && x->o->jobs <= 1)};
    Err te = {{0}};
    int rc = run_train(&r, &to, &te);
    if (rc == 1) { run_free(&r); msg->interrupted = 1; return 1; }
    long params = r.m.ps.n, steps_done = r.step, best_step = r.best_step;
    double train_s = r.train_seconds, best_val = r.best_val;
    run_free(&r);

    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "format", "neurop-reproduce-run-1");
    cJSON_AddStringToObject(j, "name", it->name);
    cJSON_AddStringToObject(j, "task", TASKS[it->task]);
    cJSON_AddStringToObject(j, "method", method_id(it->method));
    cJSON_AddStringToObject(j, "method_name", method_name(it->method));
    cJSON_AddNumberToObject(j, "seed", (double)it->seed);
    cJSON_AddStringToObject(j, "config", it->cfgtext);
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
    double te0 = now_s();
    int evaluated = 0;
    if (file_exists(best)) {
        Run b;
        if (run_open(&b, it->dir, "best", e)) { cJSON_Delete(j); return -1; }
        EvalReport rep;
        run_evaluate(&b, SPLIT_TEST, 1, &rep);
        cJSON_AddStringToObject(j, "checkpoint", "best");
        cJSON_AddStringToObject(j, "iid_split", "test");
        cJSON_AddNumberToObject(j, "iid", rep.iid);
        cJSON_AddNumberToObject(j, "ood", rep.ood);
        msg->iid = rep.iid; msg->ood = rep.ood;
        cJSON *arr = cJSON_AddArrayToObject(j, "intents");
        for (int i = 0; i < rep.n; i++)
            cJSON_AddItemToArray(arr, intent_json(&b.task, rep.items[i].u, rep.items[i].split, rep.items[i].n, rep.items[i].correct));
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
    cJSON_AddNumberToObject(j, "eval_seconds", now_s() - te0);
    msg->cost = train_s + (now_s() - te0);
    int wrc = write_json_file(evalp, j, e);
    cJSON_Delete(j);
    msg->wall = now_s() - t0;
    return wrc;
}

/* ---- executing the plan: progress and ETA ----------------------------------------------- */

typedef struct Progress {
    double t0;
    int done, total;          /* done: finished in this invocation (skipped ones excluded) */
    double *cost;             /* [task*METHOD_COUNT+method]: seconds per run, measured or read */
    int *cost_n;
} Progress;

/* The time left, as text: the runs of kinds (task, method) already timed at their mean cost;
 * while some kind has no timing yet, a lower bound ("more than"). */
static void eta(const Ctx *x, const Progress *p, const char *state, char *buf, size_t n) {
    double left = 0;
    int untimed = 0;
    for (int i = 0; i < x->n; i++) {
        if (state[i]) continue;
        int k = x->items[i].task * METHOD_COUNT + x->items[i].method;
        if (p->cost_n[k]) left += p->cost[k] / p->cost_n[k];
        else untimed++;
    }
    int jobs = x->o->jobs > 1 ? x->o->jobs : 1;   /* runs in parallel: roughly that much faster */
    char d[32];
    fmt_dur(left / jobs, d, sizeof d);
    if (untimed) snprintf(buf, n, "> %s (%d run%s of untimed kinds)", d, untimed, untimed == 1 ? "" : "s");
    else snprintf(buf, n, "%s", d);
}

static void report_done(const Ctx *x, Progress *p, char *state, const RunMsg *m) {
    const PlanItem *it = &x->items[m->idx];
    state[m->idx] = 1;
    int k = it->task * METHOD_COUNT + it->method;
    if (!m->interrupted && m->cost > 0) { p->cost[k] += m->cost; p->cost_n[k]++; }
    p->done++;
    if (!x->verbose) return;
    int finished = 0;
    for (int i = 0; i < x->n; i++) finished += state[i] != 0;
    char el[32], et[128];
    fmt_dur(now_s() - p->t0, el, sizeof el);
    eta(x, p, state, et, sizeof et);
    if (m->interrupted) fprintf(stderr, "%s: interrupted (its last checkpoint is saved; run again to resume it)\n", it->name);
    else if (m->iid < 0) fprintf(stderr, "[%*d/%d] %-22s FAILED (see its eval.json)  elapsed %s  ETA %s\n",
                                 x->n >= 100 ? 3 : 2, finished, x->n, it->name, el, et);
    else fprintf(stderr, "[%*d/%d] %-22s IID %.3f  OOD %.3f  %s %.0fs%s  elapsed %s  ETA %s\n", x->n >= 100 ? 3 : 2,
                 finished, x->n, it->name, m->iid, m->ood, m->how == RUN_RESUMED ? "resumed" : "run", m->wall,
                 m->failed ? " (stopped early)" : "", el, et);
    fflush(stderr);
}

static volatile sig_atomic_t parent_interrupted;
static void on_parent_sigint(int sig) { (void)sig; parent_interrupted = 1; }

/* Workers: each takes run indices from a shared pipe (atomic 4-byte reads) until it is empty
 * and sends a RunMsg per finished run back over another pipe. */
static int run_workers(const Ctx *x, Progress *p, char *state, const int *pending, int np, ReproSummary *s, Err *e) {
    int qp[2], dp[2];
    if (pipe(qp) || pipe(dp)) return err_set(e, "pipe: %s", strerror(errno));
    for (int i = 0; i < np; i++)
        if (write(qp[1], &pending[i], sizeof(int)) != (ssize_t)sizeof(int)) return err_set(e, "pipe write: %s", strerror(errno));
    close(qp[1]);
    int jobs = x->o->jobs < np ? x->o->jobs : np;
    pid_t *pids = xcalloc(jobs, sizeof *pids);
    int forkfail = 0;
    fflush(stdout); fflush(stderr);
    for (int w = 0; w < jobs; w++) {
        pid_t pid = fork();
        if (pid < 0) { err_set(e, "fork: %s", strerror(errno)); jobs = w; forkfail = 1; break; }
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
                if (rc < 0) { fprintf(stderr, "neurop reproduce: %s: %s\n", x->items[idx].name, we.msg); code = 1; m.error = 1; m.iid = -1; }
                if (write(dp[1], &m, sizeof m) != (ssize_t)sizeof m) code = 1;
                if (rc) break;
            }
            fflush(stderr);
            _exit(code);
        }
        pids[w] = pid;
    }
    close(qp[0]); close(dp[1]);
    struct sigaction sa = {0}, old;
    sa.sa_handler = on_parent_sigint;
    sigaction(SIGINT, &sa, &old);
    parent_interrupted = 0;
    int forwarded = 0, bad = 0;
    for (;;) {
        RunMsg m;
        ssize_t k = read(dp[0], &m, sizeof m);
        if (k < 0 && errno == EINTR) {
            if (parent_interrupted && !forwarded) { for (int w = 0; w < jobs; w++) kill(pids[w], SIGINT); forwarded = 1; }
            continue;
        }
        if (k != (ssize_t)sizeof m) break;
        if (m.interrupted) s->interrupted = 1;
        else if (m.error) bad = 1;
        else { s->trained += m.how == RUN_TRAINED; s->resumed += m.how == RUN_RESUMED; s->failed += m.failed; }
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

static int execute(const Ctx *x, ReproSummary *s, Err *e) {
    Progress p = {.t0 = now_s(), .total = x->n};
    p.cost = xcalloc(REPRO_N_TASKS * METHOD_COUNT, sizeof *p.cost);
    p.cost_n = xcalloc(REPRO_N_TASKS * METHOD_COUNT, sizeof *p.cost_n);
    char *state = xcalloc(x->n + 1, 1);   /* 1: finished (before or now) */
    int *pending = xcalloc(x->n + 1, sizeof *pending), np = 0, rc = 0;
    for (int i = 0; i < x->n; i++) {
        char path[1200];
        path_in(path, sizeof path, &x->items[i], "eval.json");
        if (file_exists(path)) {
            state[i] = 1; s->skipped++;
            cJSON *j = read_json(path, NULL);   /* its cost feeds the ETA */
            if (j) {
                int k = x->items[i].task * METHOD_COUNT + x->items[i].method;
                p.cost[k] += jnum(j, "train_seconds", 0) + jnum(j, "eval_seconds", 0); p.cost_n[k]++;
                cJSON_Delete(j);
            }
        } else pending[np++] = i;
    }
    if (x->verbose) {
        char et[128];
        eta(x, &p, state, et, sizeof et);
        fprintf(stderr, "neurop reproduce: %s mode, %d run%s (%d model%s × %d seed%s) in %s; %d already done",
                repro_mode_name(x->o->mode), x->n, x->n == 1 ? "" : "s", x->n / (x->seeds ? x->seeds : 1),
                x->n / (x->seeds ? x->seeds : 1) == 1 ? "" : "s", x->seeds, x->seeds == 1 ? "" : "s", x->out, s->skipped);
        if (np && s->skipped) fprintf(stderr, "; ETA %s", et);
        fprintf(stderr, "\n");
    }
    if (np && x->o->jobs > 1) {
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
            if (r < 0) { rc = -1; break; }
            if (r == 1) { s->interrupted = 1; report_done(x, &p, state, &m); state[i] = 0; break; }
            s->trained += m.how == RUN_TRAINED; s->resumed += m.how == RUN_RESUMED; s->failed += m.failed;
            report_done(x, &p, state, &m);
        }
    }
    free(state); free(pending); free(p.cost); free(p.cost_n);
    return rc;
}

/* ---- the report: reading the runs back -------------------------------------------------- */

#define MAX_INTENTS 64
#define MAX_REAL 16
typedef struct RunResult {
    int present, ok;          /* eval.json read; it has numbers */
    char error[512];
    double iid, ood, val, train_s, eval_s;
    long params, best_step, steps;
    int n_int;
    struct { char intent[32], family[16]; int ood; double exact; } in[MAX_INTENTS];
    int n_real;
    struct { char family[64], intent[32]; int ood, n; double exact; } real[MAX_REAL];
} RunResult;

static void load_result(const PlanItem *it, RunResult *r) {
    memset(r, 0, sizeof *r);
    char path[1200];
    path_in(path, sizeof path, it, "eval.json");
    if (!file_exists(path)) return;
    Err e = {{0}};
    cJSON *j = read_json(path, &e);
    if (!j) { r->present = 1; snprintf(r->error, sizeof r->error, "%s", e.msg); return; }
    r->present = 1;
    const char *err = jstr(j, "error");
    if (err) snprintf(r->error, sizeof r->error, "%s", err);
    r->params = (long)jnum(j, "params", 0);
    r->train_s = jnum(j, "train_seconds", 0);
    r->eval_s = jnum(j, "eval_seconds", 0);
    r->val = jnum(j, "best_val", 0);
    r->best_step = (long)jnum(j, "best_step", -1);
    r->steps = (long)jnum(j, "steps", 0);
    const cJSON *iid = cJSON_GetObjectItemCaseSensitive(j, "iid"), *ood = cJSON_GetObjectItemCaseSensitive(j, "ood");
    if (cJSON_IsNumber(iid) && cJSON_IsNumber(ood)) { r->ok = 1; r->iid = iid->valuedouble; r->ood = ood->valuedouble; }
    const cJSON *v;
    cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(j, "intents")) {
        if (r->n_int == MAX_INTENTS) break;
        const char *nm = jstr(v, "intent"), *fam = jstr(v, "family"), *sp = jstr(v, "split");
        snprintf(r->in[r->n_int].intent, sizeof r->in[0].intent, "%s", nm ? nm : "?");
        snprintf(r->in[r->n_int].family, sizeof r->in[0].family, "%s", fam ? fam : "");
        r->in[r->n_int].ood = sp && !strcmp(sp, "ood");
        r->in[r->n_int].exact = jnum(v, "exact", 0);
        r->n_int++;
    }
    cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(j, "real_1d_arc")) {
        if (r->n_real == MAX_REAL) break;
        const char *f = jstr(v, "family"), *nm = jstr(v, "intent");
        snprintf(r->real[r->n_real].family, sizeof r->real[0].family, "%s", f ? f : "?");
        snprintf(r->real[r->n_real].intent, sizeof r->real[0].intent, "%s", nm ? nm : "?");
        r->real[r->n_real].ood = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(v, "ood"));
        r->real[r->n_real].n = (int)jnum(v, "n", 0);
        r->real[r->n_real].exact = jnum(v, "exact", 0);
        r->n_real++;
    }
    cJSON_Delete(j);
}

/* Mean and sample standard deviation (0 for one value). */
typedef struct Stat { int n; double mean, std, min, max; } Stat;
static Stat stat_of(const double *v, int n) {
    Stat s = {.n = n};
    if (!n) return s;
    s.min = s.max = v[0];
    for (int i = 0; i < n; i++) { s.mean += v[i]; if (v[i] < s.min) s.min = v[i]; if (v[i] > s.max) s.max = v[i]; }
    s.mean /= n;
    if (n > 1) { for (int i = 0; i < n; i++) s.std += (v[i] - s.mean) * (v[i] - s.mean); s.std = sqrt(s.std / (n - 1)); }
    return s;
}
static cJSON *stat_json(Stat s, const double *v, const int *seeds) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "n", s.n);
    if (s.n) { cJSON_AddNumberToObject(o, "mean", s.mean); cJSON_AddNumberToObject(o, "std", s.std);
               cJSON_AddNumberToObject(o, "min", s.min); cJSON_AddNumberToObject(o, "max", s.max); }
    else { cJSON_AddNullToObject(o, "mean"); cJSON_AddNullToObject(o, "std"); }
    if (v) {
        cJSON *a = cJSON_AddArrayToObject(o, "per_seed");
        for (int i = 0; i < s.n; i++) {
            cJSON *p = cJSON_CreateObject();
            cJSON_AddNumberToObject(p, "seed", seeds[i]);
            cJSON_AddNumberToObject(p, "value", v[i]);
            cJSON_AddItemToArray(a, p);
        }
    }
    return o;
}
static void md_stat(Buf *b, Stat s) {
    if (!s.n) bprintf(b, " – |");
    else if (s.n == 1) bprintf(b, " %.3f |", s.mean);
    else bprintf(b, " %.3f ± %.3f |", s.mean, s.std);
}

/* One (task, method) cell of the report: its runs over seeds. */
typedef struct Cell {
    int task; MethodKind method;
    int n;                    /* runs with numbers */
    int seeds[1024];
    RunResult *runs[1024];
    int best;                 /* index into runs: highest IID validation; -1 if none */
    Stat iid, ood, val, train, evals;
    long params, steps; int B, N;
    int missing, failed;
} Cell;

static void cell_values(const Cell *c, int what, double *v) {
    for (int i = 0; i < c->n; i++) {
        const RunResult *r = c->runs[i];
        v[i] = what == 0 ? r->iid : what == 1 ? r->ood : what == 2 ? r->val : what == 3 ? r->train_s : r->eval_s;
    }
}

/* ---- plots ------------------------------------------------------------------------------ */

static int find_program(const char *name) {
    const char *path = getenv("PATH");
    if (!path) path = "/usr/bin:/bin";
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *save = NULL, *d = strtok_r(buf, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
        char p[4200];
        snprintf(p, sizeof p, "%s/%s", *d ? d : ".", name);
        if (access(p, X_OK) == 0) return 1;
    }
    return 0;
}

/* Runs gnuplot SCRIPT inside dir (its messages go to dir/gnuplot.log); 0 on success. */
static int run_gnuplot(const char *dir, const char *script) {
    fflush(stdout); fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        if (chdir(dir)) _exit(126);
        FILE *lf = freopen("gnuplot.log", "a", stderr);
        if (lf) dup2(fileno(stderr), 1);
        execlp("gnuplot", "gnuplot", script, (char *)NULL);
        _exit(127);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0) if (errno != EINTR) return -1;
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

static const char *TERMINAL =
    "if (strstrt(GPVAL_TERMINALS, \"pngcairo\") > 0) {\n"
    "    set terminal pngcairo size %d,%d noenhanced font \",10\"\n"
    "} else {\n"
    "    set terminal png size %d,%d noenhanced\n"
    "}\n";

/* metrics.csv of one run: rows (step, loss, val), the last row of a step winning (a resumed run
 * may repeat steps after its last checkpoint). */
typedef struct Curve { int n; long step[4096]; double loss[4096], val[4096]; } Curve;
static void read_curve(const PlanItem *it, Curve *c) {
    c->n = 0;
    char path[1200];
    path_in(path, sizeof path, it, "metrics.csv");
    FILE *f = fopen(path, "r");
    if (!f) return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        long st; double loss, lr, val;
        if (sscanf(line, "%ld,%lf,%lf,%lf", &st, &loss, &lr, &val) != 4) continue;
        int k = 0;
        while (k < c->n && c->step[k] != st) k++;
        if (k == c->n) { if (c->n == 4096) continue; c->n++; }
        c->step[k] = st; c->loss[k] = loss; c->val[k] = val;
    }
    fclose(f);
}

/* Writes plots/curves_TASK.{dat,gp} and plots/ood.{dat,gp}, runs gnuplot on them. Returns the
 * number of PNG files written; notes what went wrong in note. */
static int make_plots(const Ctx *x, Cell *cells, int nc, const char *plots, char *note, size_t nlen, Err *e) {
    int made = 0;
    note[0] = 0;
    Curve *cv = xmalloc(sizeof *cv);
    char path[1200];
    Buf failed = {0};
    for (int t = 0; t < REPRO_N_TASKS; t++) {
        int any = 0;
        for (int c = 0; c < nc; c++) any |= cells[c].task == t;
        if (!any) continue;
        Buf dat = {0}, gp = {0};
        bprintf(&dat, "# neurop reproduce: training curves of %s (%s mode), one block per method.\n"
                      "# columns: step, mean training loss over seeds, mean IID-validation exact match, min and max over seeds, seeds\n",
                TASK_TITLE[t], repro_mode_name(x->o->mode));
        int block = 0;
        Buf loss_plot = {0}, val_plot = {0};
        for (int c = 0; c < nc; c++) {
            if (cells[c].task != t) continue;
            /* mean over seeds per step */
            enum { MAXS = 4096 };
            static long steps[MAXS]; static double sl[MAXS], sv[MAXS], mn[MAXS], mx[MAXS]; static int cnt[MAXS];
            int ns = 0;
            for (int i = 0; i < x->n; i++) {
                const PlanItem *it = &x->items[i];
                if (it->task != t || it->method != cells[c].method) continue;
                read_curve(it, cv);
                for (int k = 0; k < cv->n; k++) {
                    int s = 0;
                    while (s < ns && steps[s] != cv->step[k]) s++;
                    if (s == ns) { if (ns == MAXS) continue; ns++; steps[s] = cv->step[k]; sl[s] = sv[s] = 0; cnt[s] = 0; mn[s] = 1e30; mx[s] = -1e30; }
                    sl[s] += cv->loss[k]; sv[s] += cv->val[k]; cnt[s]++;
                    if (cv->val[k] < mn[s]) mn[s] = cv->val[k];
                    if (cv->val[k] > mx[s]) mx[s] = cv->val[k];
                }
            }
            if (!ns) continue;
            /* sort by step (insertion: few points) */
            for (int a = 1; a < ns; a++)
                for (int b2 = a; b2 > 0 && steps[b2 - 1] > steps[b2]; b2--) {
                    long ts = steps[b2]; steps[b2] = steps[b2 - 1]; steps[b2 - 1] = ts;
                    double td;
                    td = sl[b2]; sl[b2] = sl[b2 - 1]; sl[b2 - 1] = td;
                    td = sv[b2]; sv[b2] = sv[b2 - 1]; sv[b2 - 1] = td;
                    td = mn[b2]; mn[b2] = mn[b2 - 1]; mn[b2 - 1] = td;
                    td = mx[b2]; mx[b2] = mx[b2 - 1]; mx[b2 - 1] = td;
                    int ti = cnt[b2]; cnt[b2] = cnt[b2 - 1]; cnt[b2 - 1] = ti;
                }
            bprintf(&dat, "%s# block %d: %s\n", block ? "\n\n" : "", block, method_name(cells[c].method));
            for (int s = 0; s < ns; s++)
                bprintf(&dat, "%ld %.6g %.6f %.6f %.6f %d\n", steps[s], sl[s] / cnt[s], sv[s] / cnt[s], mn[s], mx[s], cnt[s]);
            bprintf(&loss_plot, "%s\"curves_%s.dat\" index %d using 1:2 with linespoints lw 2 title \"%s\"", block ? ", \\\n     " : "",
                    TASKS[t], block, method_name(cells[c].method));
            bprintf(&val_plot, "%s\"curves_%s.dat\" index %d using 1:3:4:5 with yerrorlines lw 2 title \"%s\"", block ? ", \\\n     " : "",
                    TASKS[t], block, method_name(cells[c].method));
            block++;
        }
        if (block) {
            bprintf(&gp, "# neurop reproduce: training curves of %s. Re-plot: cd into this folder, gnuplot curves_%s.gp\n", TASK_TITLE[t], TASKS[t]);
            bprintf(&gp, TERMINAL, 1200, 460, 1200, 460);
            bprintf(&gp, "set output \"curves_%s.png\"\nset multiplot layout 1,2 title \"%s: training (%s mode; mean over seeds, bars: min-max)\"\n"
                         "set grid\nset key outside right top vertical\nset xlabel \"step\"\nset ylabel \"training loss (mean since the previous evaluation)\"\nset logscale y\n"
                         "plot %s\nunset logscale y\nset ylabel \"IID-validation exact match\"\nset yrange [-0.02:1.02]\n"
                         "plot %s\nunset multiplot\n",
                    TASKS[t], TASK_TITLE[t], repro_mode_name(x->o->mode), loss_plot.s, val_plot.s);
            char dp[1200], gpp[1200];
            snprintf(dp, sizeof dp, "%s/curves_%s.dat", plots, TASKS[t]);
            snprintf(gpp, sizeof gpp, "%s/curves_%s.gp", plots, TASKS[t]);
            if (write_text_file(dp, dat.s, e) || write_text_file(gpp, gp.s, e)) {
                free(dat.s); free(gp.s); free(loss_plot.s); free(val_plot.s); free(cv); free(failed.s); return -1;
            }
            if (note && !x->o->no_plots) {
                char script[64]; snprintf(script, sizeof script, "curves_%s.gp", TASKS[t]);
                snprintf(path, sizeof path, "%s/curves_%s.png", plots, TASKS[t]);
                unlink(path);
                if (run_gnuplot(plots, script) == 0 && file_exists(path)) made++;
                else bprintf(&failed, "%s%s", failed.n ? ", " : "", script);
            }
        }
        free(dat.s); free(gp.s); free(loss_plot.s); free(val_plot.s);
    }
    free(cv);

    /* OOD exact match per method, one panel per task: every seed, mean ± std, the paper */
    Buf sd = {0}, sm = {0}, gp = {0};
    bprintf(&sd, "# neurop reproduce: OOD exact match of every run, one block per task.\n# columns: x (method position, jittered by seed), OOD exact match, seed, method\n");
    bprintf(&sm, "# neurop reproduce: OOD exact match per method, one block per task.\n"
                 "# columns: x, mean over seeds, std, paper x, paper low, paper high, paper mid, method\n");
    int panels = 0;
    for (int t = 0; t < REPRO_N_TASKS; t++) {
        int any = 0;
        for (int c = 0; c < nc; c++) any |= cells[c].task == t && cells[c].n;
        panels += any;
    }
    bprintf(&gp, "# neurop reproduce: OOD exact match per method and task. Re-plot: cd into this folder, gnuplot ood.gp\n");
    bprintf(&gp, TERMINAL, 420 * (panels ? panels : 1) + 80, 460, 420 * (panels ? panels : 1) + 80, 460);
    bprintf(&gp, "set output \"ood.png\"\nset multiplot layout 1,%d title \"OOD exact match (%s mode): dots = seeds, bars = mean ± std, x = the paper\"\n"
                 "set grid ytics\nset yrange [-0.02:1.15]\nset ylabel \"OOD exact match\"\nset key top center horizontal\n",
            panels ? panels : 1, repro_mode_name(x->o->mode));
    int block = 0;
    for (int t = 0; t < REPRO_N_TASKS; t++) {
        int pos = 0, any = 0;
        for (int c = 0; c < nc; c++) any |= cells[c].task == t && cells[c].n;
        if (!any) continue;
        bprintf(&sd, "%s# block %d: %s\n", block ? "\n\n" : "", block, TASK_TITLE[t]);
        bprintf(&sm, "%s# block %d: %s\n", block ? "\n\n" : "", block, TASK_TITLE[t]);
        for (int c = 0; c < nc; c++) {
            if (cells[c].task != t) continue;
            pos++;
            Cell *cl = &cells[c];
            for (int i = 0; i < cl->n; i++)
                bprintf(&sd, "%.4f %.6f %d \"%s\"\n", pos - 0.12 + 0.24 * (cl->n > 1 ? (double)i / (cl->n - 1) : 0.5),
                        cl->runs[i]->ood, cl->seeds[i], method_name(cl->method));
            const double *pp = PAPER_OOD[t][cl->method];
            if (cl->n) bprintf(&sm, "%d %.6f %.6f %.2f %.3f %.3f %.4f \"%s\"\n", pos, cl->ood.mean, cl->ood.std, pos + 0.3, pp[0], pp[1], (pp[0] + pp[1]) / 2, method_name(cl->method));
            else bprintf(&sm, "%d NaN NaN %.2f %.3f %.3f %.4f \"%s\"\n", pos, pos + 0.3, pp[0], pp[1], (pp[0] + pp[1]) / 2, method_name(cl->method));
        }
        bprintf(&gp, "set title \"%s\"\nset xrange [0.5:%d.5]\n"
                     "plot \"ood_summary.dat\" index %d using 1:2:3:xtic(8) with yerrorbars pt 5 ps 1.2 lw 2 lc rgb \"#1f77b4\" title \"mean ± std\", \\\n"
                     "     \"ood_seeds.dat\" index %d using 1:2 with points pt 7 ps 0.6 lc rgb \"#555555\" title \"seeds\", \\\n"
                     "     \"ood_summary.dat\" index %d using 4:7:5:6 with yerrorbars pt 2 ps 1.5 lw 2 lc rgb \"#d62728\" title \"paper\"\n",
                TASK_TITLE[t], pos, block, block, block);
        block++;
    }
    bprintf(&gp, "unset multiplot\n");
    if (block) {
        char p1[1200], p2[1200], p3[1200];
        snprintf(p1, sizeof p1, "%s/ood_seeds.dat", plots);
        snprintf(p2, sizeof p2, "%s/ood_summary.dat", plots);
        snprintf(p3, sizeof p3, "%s/ood.gp", plots);
        if (write_text_file(p1, sd.s, e) || write_text_file(p2, sm.s, e) || write_text_file(p3, gp.s, e)) {
            free(sd.s); free(sm.s); free(gp.s); free(failed.s); return -1;
        }
        if (!x->o->no_plots) {
            snprintf(path, sizeof path, "%s/ood.png", plots);
            unlink(path);
            if (run_gnuplot(plots, "ood.gp") == 0 && file_exists(path)) made++;
            else bprintf(&failed, "%sood.gp", failed.n ? ", " : "");
        }
    }
    free(sd.s); free(sm.s); free(gp.s);
    if (failed.n) snprintf(note, nlen, "gnuplot failed on %s (its messages are in plots/gnuplot.log)", failed.s);
    free(failed.s);
    return made;
}

/* ---- the report: results.md and results.json -------------------------------------------- */

static void run_cmd(const char *cmd, char *out, size_t n) {
    out[0] = 0;
    FILE *p = popen(cmd, "r");
    if (!p) return;
    if (!fgets(out, (int)n, p)) out[0] = 0;
    /* drain */
    char tmp[256];
    while (fgets(tmp, sizeof tmp, p)) {}
    pclose(p);
    strip(out);
}

static void cpu_model(char *out, size_t n) {
    snprintf(out, n, "unknown CPU");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "model name", 10)) continue;
        char *c = strchr(line, ':');
        if (c) { c++; while (*c == ' ') c++; snprintf(out, n, "%s", c); strip(out); }
        break;
    }
    fclose(f);
}

/* Per-family IID (test) exact match of one arc run: mean over the family's train intents. */
static int family_iid(const RunResult *r, const char *fam, double *v) {
    double s = 0; int k = 0;
    for (int i = 0; i < r->n_int; i++) if (!r->in[i].ood && !strcmp(r->in[i].family, fam)) { s += r->in[i].exact; k++; }
    if (k) *v = s / k;
    return k;
}
static int intent_exact(const RunResult *r, const char *intent, int ood, double *v) {
    for (int i = 0; i < r->n_int; i++) if (r->in[i].ood == ood && !strcmp(r->in[i].intent, intent)) { *v = r->in[i].exact; return 1; }
    return 0;
}
static int real_exact(const RunResult *r, const char *family, double *v, int *n) {
    for (int i = 0; i < r->n_real; i++) if (!strcmp(r->real[i].family, family)) { *v = r->real[i].exact; *n = r->real[i].n; return 1; }
    return 0;
}

typedef struct ReportInfo {
    double wall;
    char commit[64], date[64], cpu[256], plot_note[512];
    int dirty, nproc, threads, gnuplot, plots_made;
    double total_run_s;
} ReportInfo;

static void md_paper(Buf *b, int t, MethodKind m) {
    const double *p = PAPER_OOD[t][m];
    if (p[0] == p[1]) bprintf(b, " %.3f |", p[0]);
    else bprintf(b, " %.3f–%.3f |", p[0], p[1]);
}

static int write_report(const Ctx *x, Cell *cells, int nc, const ReproSummary *s, const ReportInfo *ri, Err *e) {
    const ReproOptions *o = x->o;
    Buf md = {0};
    char wall[32], tot[32];
    fmt_dur(ri->wall, wall, sizeof wall);
    fmt_dur(ri->total_run_s, tot, sizeof tot);
    int complete = 0, total = x->n;
    for (int c = 0; c < nc; c++) complete += cells[c].n + cells[c].failed;
    bprintf(&md, "# neurop reproduce: results\n\n");
    bprintf(&md, "| | |\n|---|---|\n");
    bprintf(&md, "| mode | **%s**%s |\n", repro_mode_name(o->mode),
            o->mode == REPRO_FULL ? " (the defaults of docs/defaults.md)" :
            o->mode == REPRO_QUICK ? " (fewer steps, smaller batches: see docs/reproduce.md; a check of the pipeline, not the paper's protocol)" :
                                     " (a few steps per run: checks that every file is produced; the numbers mean nothing)");
    bprintf(&md, "| seeds | %d per model (0..%d) |\n", x->seeds, x->seeds - 1);
    bprintf(&md, "| command | `%s` |\n", o->command ? o->command : "neurop reproduce");
    bprintf(&md, "| commit | %s%s |\n", ri->commit, ri->dirty ? " (working tree modified)" : "");
    bprintf(&md, "| date | %s |\n", ri->date);
    bprintf(&md, "| machine | %d CPUs (%s), %d OpenMP thread%s per process, %d job%s |\n", ri->nproc, ri->cpu, ri->threads,
            ri->threads == 1 ? "" : "s", o->jobs > 1 ? o->jobs : 1, o->jobs > 1 ? "s" : "");
    bprintf(&md, "| wall time of this invocation | %s (runs: %d made now, %d resumed, %d already done) |\n", wall, s->trained,
            s->resumed, s->skipped);
    bprintf(&md, "| time of all runs | %s (training + evaluation, summed over runs) |\n", tot);
    bprintf(&md, "| runs | %d of %d complete%s |\n\n", complete, total, s->interrupted ? " — **interrupted: run the same command again to continue**" : "");

    /* main table */
    bprintf(&md, "## Exact match: IID test and OOD, mean ± std over seeds\n\n");
    bprintf(&md, "| task | method | seeds | IID (test) | OOD | paper OOD | best seed (by IID val) | its IID / OOD |\n");
    bprintf(&md, "|---|---|---|---|---|---|---|---|\n");
    for (int c = 0; c < nc; c++) {
        Cell *cl = &cells[c];
        bprintf(&md, "| %s | %s | %d |", TASK_TITLE[cl->task], method_name(cl->method), cl->n);
        md_stat(&md, cl->iid);
        md_stat(&md, cl->ood);
        md_paper(&md, cl->task, cl->method);
        if (cl->best >= 0) bprintf(&md, " s%d (val %.3f) | %.3f / %.3f |\n", cl->seeds[cl->best], cl->runs[cl->best]->val,
                                   cl->runs[cl->best]->iid, cl->runs[cl->best]->ood);
        else bprintf(&md, " – | – |\n");
    }
    bprintf(&md, "\nExact match: an instance counts when its whole output is right; averaged per intent, then over intents. "
                 "IID = the train intents on the held-out test split, OOD = the intents never trained on. Each run is "
                 "evaluated at its best checkpoint, chosen on IID **validation**. The best seed is the one with the highest "
                 "IID-validation score — OOD never chooses anything. The paper's numbers (spec §2) are OOD, 10 seeds; its "
                 "benchmark details are not public, so they compare in kind, not to the digit.\n\n");

    /* per seed */
    bprintf(&md, "## Every run\n\n| task | method | seed | IID val (best) | best step | IID test | OOD | train s | note |\n");
    bprintf(&md, "|---|---|---|---|---|---|---|---|---|\n");
    for (int i = 0; i < x->n; i++) {
        const PlanItem *it = &x->items[i];
        Cell *cl = NULL;
        for (int c = 0; c < nc; c++) if (cells[c].task == it->task && cells[c].method == it->method) cl = &cells[c];
        const RunResult *r = NULL; int isbest = 0;
        for (int k = 0; cl && k < cl->n; k++) if ((unsigned long)cl->seeds[k] == it->seed) { r = cl->runs[k]; isbest = k == cl->best; }
        bprintf(&md, "| %s | %s | %lu |", TASK_TITLE[it->task], method_name(it->method), it->seed);
        if (r) bprintf(&md, " %.3f | %ld | %.3f | %.3f | %.1f | %s%s |\n", r->val, r->best_step, r->iid, r->ood, r->train_s,
                       isbest ? "★ best seed (IID val)" : "", r->error[0] ? " stopped early (see eval.json)" : "");
        else bprintf(&md, " – | – | – | – | – | %s |\n", s->interrupted ? "not run yet" : "failed or missing");
    }
    bprintf(&md, "\n");

    /* 1D-ARC per family and per OOD intent */
    int have_arc = 0;
    for (int c = 0; c < nc; c++) have_arc |= cells[c].task == 2 && cells[c].n;
    if (have_arc) {
        bprintf(&md, "## 1D-ARC mixed: per family (IID test) and per OOD intent, mean ± std over seeds\n\n| family / intent | split |");
        for (int c = 0; c < nc; c++) if (cells[c].task == 2) bprintf(&md, " %s |", method_name(cells[c].method));
        bprintf(&md, "\n|---|---|");
        for (int c = 0; c < nc; c++) if (cells[c].task == 2) bprintf(&md, "---|");
        bprintf(&md, "\n");
        for (int f = 0; f < ARC_N_FAMILIES; f++) {
            bprintf(&md, "| %s | IID |", arc_family_name(f));
            for (int c = 0; c < nc; c++) {
                if (cells[c].task != 2) continue;
                double v[1024]; int k = 0;
                for (int i = 0; i < cells[c].n; i++) k += family_iid(cells[c].runs[i], arc_family_name(f), &v[k]) ? 1 : 0;
                md_stat(&md, stat_of(v, k));
            }
            bprintf(&md, "\n");
        }
        Task at; task_get("arc", &at, NULL);
        for (int q = 0; q < at.n_ood; q++) {
            char nm[32]; task_intent_format(&at, at.ood[q], nm, sizeof nm);
            bprintf(&md, "| %s | OOD |", nm);
            for (int c = 0; c < nc; c++) {
                if (cells[c].task != 2) continue;
                double v[1024]; int k = 0;
                for (int i = 0; i < cells[c].n; i++) k += intent_exact(cells[c].runs[i], nm, 1, &v[k]);
                md_stat(&md, stat_of(v, k));
            }
            bprintf(&md, "\n");
        }
        bprintf(&md, "\nThe paper: on Flip only Meta-GNN reaches 0.898 (others 0.12–0.17); on MoveRight the direct "
                     "Transformer gets 0.000 OOD while the meta-learners succeed; a categorical parameter (recolor's "
                     "colour) does not extrapolate to an unseen value.\n\n");

        /* real 1D-ARC */
        bprintf(&md, "## Real 1D-ARC (external test)\n\n");
        if (!x->real_dir) bprintf(&md, "Skipped: %s.\n\n", x->real_note);
        else {
            bprintf(&md, "Fraction of the real task pairs (train and test pairs of every file of the family, in `%s`) "
                         "that the program synthesized for the family's intent solves (exact match), mean ± std over seeds. "
                         "The direct method has no program: it runs its own network on (intent, row).\n\n", x->real_dir);
            /* the families, in order of first appearance in any run */
            char fams[MAX_REAL][64], ints[MAX_REAL][32]; int fo[MAX_REAL], fn[MAX_REAL], nf = 0;
            for (int c = 0; c < nc; c++) {
                if (cells[c].task != 2) continue;
                for (int i = 0; i < cells[c].n; i++)
                    for (int k = 0; k < cells[c].runs[i]->n_real; k++) {
                        const RunResult *r = cells[c].runs[i];
                        int f = 0;
                        while (f < nf && strcmp(fams[f], r->real[k].family)) f++;
                        if (f == nf && nf < MAX_REAL) {
                            snprintf(fams[nf], 64, "%s", r->real[k].family); snprintf(ints[nf], 32, "%s", r->real[k].intent);
                            fo[nf] = r->real[k].ood; fn[nf] = r->real[k].n; nf++;
                        }
                    }
            }
            bprintf(&md, "| real family | intent | intent is | pairs |");
            for (int c = 0; c < nc; c++) if (cells[c].task == 2) bprintf(&md, " %s |", method_name(cells[c].method));
            bprintf(&md, "\n|---|---|---|---|");
            for (int c = 0; c < nc; c++) if (cells[c].task == 2) bprintf(&md, "---|");
            bprintf(&md, "\n");
            for (int f = 0; f < nf; f++) {
                bprintf(&md, "| %s | %s | %s | %d |", fams[f], ints[f], fo[f] ? "OOD" : "trained", fn[f]);
                for (int c = 0; c < nc; c++) {
                    if (cells[c].task != 2) continue;
                    double v[1024]; int k = 0, n;
                    for (int i = 0; i < cells[c].n; i++) k += real_exact(cells[c].runs[i], fams[f], &v[k], &n);
                    md_stat(&md, stat_of(v, k));
                }
                bprintf(&md, "\n");
            }
            if (!nf) bprintf(&md, "(no run has real 1D-ARC numbers)\n");
            bprintf(&md, "\n");
        }
    }

    /* cost */
    bprintf(&md, "## Cost: trainable parameters and training time\n\n| task | method | trainable params | steps | B × N | "
                 "train s per run | ms per step | eval s per run |\n|---|---|---|---|---|---|---|---|\n");
    for (int c = 0; c < nc; c++) {
        Cell *cl = &cells[c];
        bprintf(&md, "| %s | %s | %ld | %ld | %d × %d |", TASK_TITLE[cl->task], method_name(cl->method), cl->params, cl->steps, cl->B, cl->N);
        md_stat(&md, cl->train);
        if (cl->n && cl->steps) bprintf(&md, " %.1f |", 1000 * cl->train.mean / cl->steps); else bprintf(&md, " – |");
        md_stat(&md, cl->evals);
        bprintf(&md, "\n");
    }
    bprintf(&md, "\nTraining time is the wall time of the training loop (IID-validation evaluations and checkpoints "
                 "included), summed over resumes, on this machine with %d thread%s%s.\n\n", ri->threads, ri->threads == 1 ? "" : "s",
            o->jobs > 1 ? " while other runs trained beside it" : "");

    /* plots */
    bprintf(&md, "## Plots\n\n");
    if (o->no_plots) bprintf(&md, "Not made (--no-plots); the gnuplot scripts and data are in plots/.\n\n");
    else if (!ri->gnuplot) bprintf(&md, "gnuplot is not installed (Debian: `apt-get install gnuplot-nox`), so there are no PNG files; "
                                       "the gnuplot scripts and data are in plots/: install gnuplot and run them there.\n\n");
    else {
        for (int t = 0; t < REPRO_N_TASKS; t++) {
            char p[1200]; snprintf(p, sizeof p, "%s/plots/curves_%s.png", x->out, TASKS[t]);
            if (file_exists(p)) bprintf(&md, "![training curves, %s](plots/curves_%s.png)\n\n", TASK_TITLE[t], TASKS[t]);
        }
        char p[1200]; snprintf(p, sizeof p, "%s/plots/ood.png", x->out);
        if (file_exists(p)) bprintf(&md, "![OOD exact match per method](plots/ood.png)\n\n");
        if (ri->plot_note[0]) bprintf(&md, "Note: %s.\n\n", ri->plot_note);
        bprintf(&md, "Each PNG has its gnuplot script (.gp) and data (.dat) beside it: `cd plots && gnuplot ood.gp`.\n\n");
    }

    /* failures */
    int nfail = 0;
    for (int c = 0; c < nc; c++) nfail += cells[c].failed + cells[c].missing;
    if (nfail) {
        bprintf(&md, "## Failed or missing runs\n\n");
        for (int i = 0; i < x->n; i++) {
            RunResult r;
            load_result(&x->items[i], &r);
            if (!r.present) bprintf(&md, "- %s: %s\n", x->items[i].name, s->interrupted ? "not run yet" : "no eval.json");
            else if (r.error[0]) bprintf(&md, "- %s: %s%s\n", x->items[i].name, r.error, r.ok ? " (its best checkpoint was evaluated)" : "");
        }
        bprintf(&md, "\n");
    }
    bprintf(&md, "Per-run numbers: runs/NAME/eval.json; every number above: results.json.\n");

    /* ---- results.json ---- */
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "format", "neurop-reproduce-1");
    cJSON_AddStringToObject(j, "mode", repro_mode_name(o->mode));
    cJSON_AddNumberToObject(j, "seeds", x->seeds);
    cJSON_AddStringToObject(j, "command", o->command ? o->command : "neurop reproduce");
    cJSON_AddStringToObject(j, "commit", ri->commit);
    cJSON_AddBoolToObject(j, "dirty", ri->dirty);
    cJSON_AddStringToObject(j, "date", ri->date);
    cJSON *mach = cJSON_AddObjectToObject(j, "machine");
    cJSON_AddNumberToObject(mach, "nproc", ri->nproc);
    cJSON_AddStringToObject(mach, "cpu", ri->cpu);
    cJSON_AddNumberToObject(mach, "omp_threads", ri->threads);
    cJSON_AddNumberToObject(mach, "jobs", o->jobs > 1 ? o->jobs : 1);
    cJSON_AddNumberToObject(j, "wall_seconds", ri->wall);
    cJSON_AddNumberToObject(j, "run_seconds_total", ri->total_run_s);
    cJSON *runs = cJSON_AddObjectToObject(j, "runs");
    cJSON_AddNumberToObject(runs, "total", x->n);
    cJSON_AddNumberToObject(runs, "complete", complete);
    cJSON_AddNumberToObject(runs, "trained_now", s->trained);
    cJSON_AddNumberToObject(runs, "resumed_now", s->resumed);
    cJSON_AddNumberToObject(runs, "skipped", s->skipped);
    cJSON_AddNumberToObject(runs, "failed", nfail);
    cJSON_AddBoolToObject(j, "interrupted", s->interrupted);
    if (x->real_dir) cJSON_AddStringToObject(j, "real_1d_arc_dir", x->real_dir); else cJSON_AddNullToObject(j, "real_1d_arc_dir");
    cJSON *pl = cJSON_AddObjectToObject(j, "plots");
    cJSON_AddBoolToObject(pl, "gnuplot", ri->gnuplot);
    cJSON *files = cJSON_AddArrayToObject(pl, "files");
    for (int t = 0; t <= REPRO_N_TASKS; t++) {
        char rel[64], p[1200];
        if (t < REPRO_N_TASKS) snprintf(rel, sizeof rel, "plots/curves_%s.png", TASKS[t]); else snprintf(rel, sizeof rel, "plots/ood.png");
        snprintf(p, sizeof p, "%s/%s", x->out, rel);
        if (file_exists(p)) cJSON_AddItemToArray(files, cJSON_CreateString(rel));
    }
    cJSON *res = cJSON_AddArrayToObject(j, "results");
    for (int c = 0; c < nc; c++) {
        Cell *cl = &cells[c];
        cJSON *r = cJSON_CreateObject();
        cJSON_AddStringToObject(r, "task", TASKS[cl->task]);
        cJSON_AddStringToObject(r, "method", method_id(cl->method));
        cJSON_AddStringToObject(r, "method_name", method_name(cl->method));
        cJSON_AddNumberToObject(r, "n_seeds", cl->n);
        double v[1024];
        cell_values(cl, 0, v); cJSON_AddItemToObject(r, "iid", stat_json(cl->iid, v, cl->seeds));
        cell_values(cl, 1, v); cJSON_AddItemToObject(r, "ood", stat_json(cl->ood, v, cl->seeds));
        cell_values(cl, 2, v); cJSON_AddItemToObject(r, "iid_val", stat_json(cl->val, v, cl->seeds));
        cell_values(cl, 3, v); cJSON_AddItemToObject(r, "train_seconds", stat_json(cl->train, v, cl->seeds));
        cell_values(cl, 4, v); cJSON_AddItemToObject(r, "eval_seconds", stat_json(cl->evals, v, cl->seeds));
        if (cl->best >= 0) {
            cJSON *b = cJSON_AddObjectToObject(r, "best_seed");
            cJSON_AddStringToObject(b, "chosen_by", "iid_val");
            cJSON_AddNumberToObject(b, "seed", cl->seeds[cl->best]);
            cJSON_AddNumberToObject(b, "iid_val", cl->runs[cl->best]->val);
            cJSON_AddNumberToObject(b, "iid", cl->runs[cl->best]->iid);
            cJSON_AddNumberToObject(b, "ood", cl->runs[cl->best]->ood);
        } else cJSON_AddNullToObject(r, "best_seed");
        const double *pp = PAPER_OOD[cl->task][cl->method];
        cJSON *po = cJSON_AddObjectToObject(r, "paper_ood");
        cJSON_AddNumberToObject(po, "low", pp[0]);
        cJSON_AddNumberToObject(po, "high", pp[1]);
        cJSON_AddNumberToObject(r, "params", (double)cl->params);
        cJSON_AddNumberToObject(r, "steps", (double)cl->steps);
        cJSON_AddNumberToObject(r, "B", cl->B);
        cJSON_AddNumberToObject(r, "N", cl->N);
        for (int i = 0; i < x->n; i++)
            if (x->items[i].task == cl->task && x->items[i].method == cl->method) { cJSON_AddStringToObject(r, "config_seed0", x->items[i].cfgtext); break; }
        cJSON_AddNumberToObject(r, "failed", cl->failed);
        cJSON_AddNumberToObject(r, "missing", cl->missing);
        if (cl->task == 2 && cl->n) {
            cJSON *fa = cJSON_AddArrayToObject(r, "arc_families_iid");
            for (int f = 0; f < ARC_N_FAMILIES; f++) {
                int k = 0, sd[1024];
                for (int i = 0; i < cl->n; i++) if (family_iid(cl->runs[i], arc_family_name(f), &v[k])) sd[k++] = cl->seeds[i];
                cJSON *o2 = stat_json(stat_of(v, k), v, sd);
                cJSON_AddStringToObject(o2, "family", arc_family_name(f));
                cJSON_AddItemToArray(fa, o2);
            }
            cJSON *oa = cJSON_AddArrayToObject(r, "arc_ood_intents");
            Task at; task_get("arc", &at, NULL);
            for (int q = 0; q < at.n_ood; q++) {
                char nm[32]; task_intent_format(&at, at.ood[q], nm, sizeof nm);
                int k = 0, sd[1024];
                for (int i = 0; i < cl->n; i++) if (intent_exact(cl->runs[i], nm, 1, &v[k])) sd[k++] = cl->seeds[i];
                cJSON *o2 = stat_json(stat_of(v, k), v, sd);
                cJSON_AddStringToObject(o2, "intent", nm);
                cJSON_AddItemToArray(oa, o2);
            }
            cJSON *ra = cJSON_AddArrayToObject(r, "real_1d_arc");
            const RunResult *r0 = NULL;
            for (int i = 0; i < cl->n; i++) if (cl->runs[i]->n_real) { r0 = cl->runs[i]; break; }
            for (int q = 0; r0 && q < r0->n_real; q++) {
                int k = 0, sd[1024], n = 0;
                for (int i = 0; i < cl->n; i++) if (real_exact(cl->runs[i], r0->real[q].family, &v[k], &n)) sd[k++] = cl->seeds[i];
                cJSON *o2 = stat_json(stat_of(v, k), v, sd);
                cJSON_AddStringToObject(o2, "family", r0->real[q].family);
                cJSON_AddStringToObject(o2, "intent", r0->real[q].intent);
                cJSON_AddBoolToObject(o2, "intent_ood", r0->real[q].ood);
                cJSON_AddNumberToObject(o2, "pairs", r0->real[q].n);
                cJSON_AddItemToArray(ra, o2);
            }
        }
        /* per intent, every task: mean over seeds */
        if (cl->n) {
            cJSON *ia = cJSON_AddArrayToObject(r, "intents");
            const RunResult *r0 = cl->runs[0];
            for (int q = 0; q < r0->n_int; q++) {
                int k = 0, sd[1024];
                for (int i = 0; i < cl->n; i++) if (intent_exact(cl->runs[i], r0->in[q].intent, r0->in[q].ood, &v[k])) sd[k++] = cl->seeds[i];
                cJSON *o2 = stat_json(stat_of(v, k), NULL, sd);
                cJSON_AddStringToObject(o2, "intent", r0->in[q].intent);
                cJSON_AddStringToObject(o2, "split", r0->in[q].ood ? "ood" : "test");
                cJSON_AddItemToArray(ia, o2);
            }
        }
        cJSON_AddItemToArray(res, r);
    }

    char p1[1200], p2[1200];
    snprintf(p1, sizeof p1, "%s/results.md", x->out);
    snprintf(p2, sizeof p2, "%s/results.json", x->out);
    int rc = write_text_file(p1, md.s, e);
    if (!rc) rc = write_json_file(p2, j, e);
    free(md.s);
    cJSON_Delete(j);
    return rc;
}

static int report(const Ctx *x, ReproSummary *s, double t0, Err *e) {
    const ReproOptions *o = x->o;
    /* cells in plan order of (task, method) */
    int nc = 0;
    Cell *cells = xcalloc(REPRO_N_TASKS * METHOD_COUNT, sizeof *cells);
    RunResult *rr = xcalloc(x->n + 1, sizeof *rr);
    double total_run = 0;
    for (int i = 0; i < x->n; i++) {
        const PlanItem *it = &x->items[i];
        Cell *cl = NULL;
        for (int c = 0; c < nc; c++) if (cells[c].task == it->task && cells[c].method == it->method) cl = &cells[c];
        if (!cl) {
            cl = &cells[nc++];
            cl->task = it->task; cl->method = it->method; cl->best = -1;
            cl->steps = it->cfg.steps; cl->B = it->cfg.B; cl->N = it->cfg.N;
        }
        RunResult *r = &rr[i];
        load_result(it, r);
        total_run += r->train_s + r->eval_s;
        if (!r->present) { cl->missing++; continue; }
        if (!r->ok) { cl->failed++; continue; }
        if (r->params) cl->params = r->params;
        if (cl->n < 1024) { cl->seeds[cl->n] = (int)it->seed; cl->runs[cl->n] = r; cl->n++; }
    }
    /* rows in the fixed order task, method */
    for (int a = 1; a < nc; a++)
        for (int b = a; b > 0 && cells[b - 1].task * METHOD_COUNT + cells[b - 1].method > cells[b].task * METHOD_COUNT + cells[b].method; b--) {
            Cell tmp = cells[b]; cells[b] = cells[b - 1]; cells[b - 1] = tmp;
        }
    for (int c = 0; c < nc; c++) {
        Cell *cl = &cells[c];
        double v[1024];
        cell_values(cl, 0, v); cl->iid = stat_of(v, cl->n);
        cell_values(cl, 1, v); cl->ood = stat_of(v, cl->n);
        cell_values(cl, 2, v); cl->val = stat_of(v, cl->n);
        cell_values(cl, 3, v); cl->train = stat_of(v, cl->n);
        cell_values(cl, 4, v); cl->evals = stat_of(v, cl->n);
        for (int i = 0; i < cl->n; i++)   /* best by IID validation; ties: the lower seed */
            if (cl->best < 0 || cl->runs[i]->val > cl->runs[cl->best]->val) cl->best = i;
    }

    ReportInfo ri = {0};
    ri.total_run_s = total_run;
    run_cmd("git rev-parse HEAD 2>/dev/null", ri.commit, sizeof ri.commit);
    if (!ri.commit[0]) snprintf(ri.commit, sizeof ri.commit, "unknown");
    else {
        char st[256];
        run_cmd("git status --porcelain --untracked-files=no 2>/dev/null", st, sizeof st);
        ri.dirty = st[0] != 0;
    }
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(ri.date, sizeof ri.date, "%Y-%m-%d %H:%M:%S UTC", &tm);
    ri.nproc = (int)sysconf(_SC_NPROCESSORS_ONLN);
    cpu_model(ri.cpu, sizeof ri.cpu);
#ifdef _OPENMP
    ri.threads = o->jobs > 1 ? 1 : omp_get_max_threads();
#else
    ri.threads = 1;
#endif
    char plots[1000];
    snprintf(plots, sizeof plots, "%s/plots", x->out);
    int rc = mkdir_p(plots, e);
    ri.gnuplot = find_program("gnuplot");
    if (!rc) {
        ReproOptions o2 = *o;
        Ctx x2 = *x;
        if (!ri.gnuplot) { o2.no_plots = 1; x2.o = &o2; }
        int made = make_plots(&x2, cells, nc, plots, ri.plot_note, sizeof ri.plot_note, e);
        if (made < 0) rc = -1; else ri.plots_made = made;
    }
    ri.wall = now_s() - t0;
    if (!rc) rc = write_report(x, cells, nc, s, &ri, e);
    s->plots = ri.plots_made;
    free(cells);
    free(rr);
    return rc;
}

/* ---- the command ------------------------------------------------------------------------ */

int reproduce(const ReproOptions *o, ReproSummary *s, Err *e) {
    double t0 = now_s();
    memset(s, 0, sizeof *s);
    Ctx x = {.o = o};
    snprintf(x.out, sizeof x.out, "%s", o->out && *o->out ? o->out : "results");
    size_t ol = strlen(x.out);
    while (ol > 1 && x.out[ol - 1] == '/') x.out[--ol] = 0;
    x.seeds = o->seeds > 0 ? o->seeds : default_seeds(o->mode);
    if (x.seeds > 1000) return err_set(e, "--seeds %d: at most 1000", x.seeds);
    x.verbose = o->verbose;
    x.tty = isatty(2);
    /* the real 1D-ARC files */
    struct stat st;
    if (o->no_real) snprintf(x.real_note, sizeof x.real_note, "--no-real was given");
    else if (o->real_dir) {
        if (stat(o->real_dir, &st) || !S_ISDIR(st.st_mode)) return err_set(e, "--real %s: no such folder", o->real_dir);
        x.real_dir = o->real_dir;
    } else if (!stat("../shared/data/1d-arc", &st) && S_ISDIR(st.st_mode)) x.real_dir = "../shared/data/1d-arc";
    else snprintf(x.real_note, sizeof x.real_note, "the real 1D-ARC files were not found (../shared/data/1d-arc; give --real DIR)");
    int rc = build_plan(&x, e);
    unsigned tm = o->tasks ? o->tasks : 7u;
    if (!rc && x.verbose && !x.real_dir && (tm & 4u)) fprintf(stderr, "neurop reproduce: no real 1D-ARC test: %s\n", x.real_note);
    for (int i = 0; !rc && i < x.n; i++) rc = check_folder(&x.items[i], e);
    char runs[1000];
    snprintf(runs, sizeof runs, "%s/runs", x.out);
    if (!rc) rc = mkdir_p(runs, e);
    s->total = x.n;
    if (!rc) rc = execute(&x, s, e);
    if (!rc || s->interrupted) {
        Err re = {{0}};
        int r2 = report(&x, s, t0, &re);
        if (r2 && !rc) { rc = -1; *e = re; }
        if (!rc && x.verbose) {
            char w[32]; fmt_dur(now_s() - t0, w, sizeof w);
            fprintf(stderr, "neurop reproduce: %s/results.md, %s/results.json%s written in %s%s\n", x.out, x.out,
                    s->plots ? " and plots/" : "", w, s->interrupted ? " (partial: interrupted; run again to continue)" : "");
        }
    }
    s->wall_seconds = now_s() - t0;
    free(x.items);
    if (rc < 0) return -1;
    return s->interrupted ? 1 : 0;
}
