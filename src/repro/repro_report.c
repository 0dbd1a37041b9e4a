/* The report of a reproduction, rebuilt from the run folders alone: results.md, results.json and
 * gnuplot plots (see reproduce.h and docs/reproduce.md). The studies' sections come from
 * repro_studies.c; everything else here is about the main table's runs (the first n_main). */
#include "commit.h" /* generated: $(BUILD)/commit.h */
#include "engine/cpu.h"
#include "io/fileio.h"
#include "repro/repro_internal.h"
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
/* ---- the report: reading the runs back -------------------------------------------------- */

void rp_load_result(const PlanItem *it, RunResult *r) {
    memset(r, 0, sizeof *r);
    char path[1200];
    rp_path(path, sizeof path, it, "eval.json");
    if (!rp_file_exists(path)) return;
    Err e = {{0}};
    cJSON *j = rp_read_json(path, &e);
    if (!j) {
        r->present = 1;
        snprintf(r->error, sizeof r->error, "%s", e.msg);
        return;
    }
    r->present = 1;
    const char *err = rp_str(j, "error");
    if (err) snprintf(r->error, sizeof r->error, "%s", err);
    r->params = (long)rp_num(j, "params", 0);
    r->train_s = rp_num(j, "train_seconds", 0);
    r->eval_s = rp_num(j, "eval_seconds", 0);
    r->val = rp_num(j, "best_val", 0);
    r->best_step = (long)rp_num(j, "best_step", -1);
    r->steps = (long)rp_num(j, "steps", 0);
    const cJSON *iid = cJSON_GetObjectItemCaseSensitive(j, "iid"), *ood = cJSON_GetObjectItemCaseSensitive(j, "ood");
    if (cJSON_IsNumber(iid) && cJSON_IsNumber(ood)) {
        r->ok = 1;
        r->iid = iid->valuedouble;
        r->ood = ood->valuedouble;
    }
    r->iid_pooled = rp_num(j, "iid_pooled", r->iid);
    r->ood_ordinal = rp_num(j, "ood_ordinal", r->ood);
    r->held = rp_num(j, "held", 0);
    r->n_held = (int)rp_num(j, "n_held", 0);
    const cJSON *v;
    cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(j, "intents")) {
        if (r->n_int == MAX_INTENTS) { /* no task has that many: not an eval.json of this build */
            snprintf(r->error, sizeof r->error, "eval.json lists more than %d intents; not written by this version",
                     MAX_INTENTS);
            r->ok = 0;
            break;
        }
        const char *nm = rp_str(v, "intent"), *fam = rp_str(v, "family"), *sp = rp_str(v, "split");
        snprintf(r->in[r->n_int].intent, sizeof r->in[0].intent, "%s", nm ? nm : "?");
        snprintf(r->in[r->n_int].family, sizeof r->in[0].family, "%s", fam ? fam : "");
        r->in[r->n_int].ood = sp && !strcmp(sp, "ood");
        r->in[r->n_int].exact = rp_num(v, "exact", 0);
        r->n_int++;
    }
    cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(j, "real_1d_arc")) {
        if (r->n_real == MAX_REAL) {
            snprintf(r->error, sizeof r->error,
                     "eval.json lists more than %d real 1D-ARC families; not written by this version", MAX_REAL);
            r->ok = 0;
            break;
        }
        const char *f = rp_str(v, "family"), *nm = rp_str(v, "intent");
        snprintf(r->real[r->n_real].family, sizeof r->real[0].family, "%s", f ? f : "?");
        snprintf(r->real[r->n_real].intent, sizeof r->real[0].intent, "%s", nm ? nm : "?");
        r->real[r->n_real].ood = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(v, "ood"));
        r->real[r->n_real].n = (int)rp_num(v, "n", 0);
        r->real[r->n_real].exact = rp_num(v, "exact", 0);
        r->n_real++;
    }
    cJSON_Delete(j);
}

Stat rp_stat_of(const double *v, int n) {
    Stat s = {.n = n};
    if (!n) return s;
    s.min = s.max = v[0];
    for (int i = 0; i < n; i++) {
        s.mean += v[i];
        if (v[i] < s.min) s.min = v[i];
        if (v[i] > s.max) s.max = v[i];
    }
    s.mean /= n;
    if (n > 1) {
        for (int i = 0; i < n; i++) s.std += (v[i] - s.mean) * (v[i] - s.mean);
        s.std = sqrt(s.std / (n - 1));
    }
    return s;
}
cJSON *rp_stat_json(Stat s, const double *v, const int *seeds) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "n", s.n);
    if (s.n) {
        cJSON_AddNumberToObject(o, "mean", s.mean);
        cJSON_AddNumberToObject(o, "std", s.std);
        cJSON_AddNumberToObject(o, "min", s.min);
        cJSON_AddNumberToObject(o, "max", s.max);
    } else {
        cJSON_AddNullToObject(o, "mean");
        cJSON_AddNullToObject(o, "std");
    }
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
void rp_md_stat(Buf *b, Stat s) {
    if (!s.n) rp_printf(b, " – |");
    else if (s.n == 1) rp_printf(b, " %.3f |", s.mean);
    else rp_printf(b, " %.3f ± %.3f |", s.mean, s.std);
}

/* One (task, method) cell of the report: its runs over seeds. */
typedef struct Cell {
    int task;
    MethodKind method;
    int n; /* runs with numbers */
    int seeds[1024];
    RunResult *runs[1024];
    int best; /* index into runs: highest IID validation; -1 if none */
    Stat iid, ood, val, train, evals, iid_pooled, ood_ordinal, held;
    int n_held; /* train intents its runs held out of training (the first run's count), 0: none */
    long params, steps;
    int B, N;
    int missing, failed;
} Cell;

static void cell_values(const Cell *c, int what, double *v) {
    for (int i = 0; i < c->n; i++) {
        const RunResult *r = c->runs[i];
        v[i] = what == 0   ? r->iid
               : what == 1 ? r->ood
               : what == 2 ? r->val
               : what == 3 ? r->train_s
               : what == 4 ? r->eval_s
               : what == 5 ? r->iid_pooled
               : what == 6 ? r->ood_ordinal
                           : r->held;
    }
}

/* ---- plots ------------------------------------------------------------------------------ */

/* metrics.csv of one run: rows (step, loss, val), the last row of a step winning (a resumed run
 * may repeat steps after its last checkpoint). */
typedef struct Curve {
    int n;
    long step[4096];
    double loss[4096], val[4096];
} Curve;
static void read_curve(const PlanItem *it, Curve *c) {
    c->n = 0;
    char path[1200];
    rp_path(path, sizeof path, it, "metrics.csv");
    FILE *f = fopen(path, "r");
    if (!f) return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        long st;
        double loss, lr, val;
        if (sscanf(line, "%ld,%lf,%lf,%lf", &st, &loss, &lr, &val) != 4) continue;
        int k = 0;
        while (k < c->n && c->step[k] != st) k++;
        if (k == c->n) {
            if (c->n == 4096) continue;
            c->n++;
        }
        c->step[k] = st;
        c->loss[k] = loss;
        c->val[k] = val;
    }
    fclose(f);
}

/* Writes plots/curves_TASK.{dat,gp} and plots/ood.{dat,gp}, runs gnuplot on them. Returns the
 * number of PNG files written; names the scripts gnuplot failed on in failed. */
static int make_plots(const Ctx *x, Cell *cells, int nc, const char *plots, Buf *failed, Err *e) {
    int made = 0;
    Curve *cv = xmalloc(sizeof *cv);
    char path[1200];
    for (int t = 0; t < REPRO_N_TASKS; t++) {
        int any = 0;
        for (int c = 0; c < nc; c++) any |= cells[c].task == t;
        if (!any) continue;
        Buf dat = {0}, gp = {0};
        rp_printf(&dat,
                  "# neurop reproduce: training curves of %s (%s mode), one block per method.\n"
                  "# columns: step, mean training loss over seeds, mean IID-validation exact match, min and max over "
                  "seeds, seeds\n",
                  rp_task_titles[t], repro_mode_name(x->o->mode));
        int block = 0;
        Buf loss_plot = {0}, val_plot = {0};
        for (int c = 0; c < nc; c++) {
            if (cells[c].task != t) continue;
            /* mean over seeds per step */
            enum { MAXS = 4096 };
            static long steps[MAXS];
            static double sl[MAXS], sv[MAXS], mn[MAXS], mx[MAXS];
            static int cnt[MAXS];
            int ns = 0;
            for (int i = 0; i < x->n_main; i++) {
                const PlanItem *it = &x->items[i];
                if (it->task != t || it->method != cells[c].method) continue;
                read_curve(it, cv);
                for (int k = 0; k < cv->n; k++) {
                    int s = 0;
                    while (s < ns && steps[s] != cv->step[k]) s++;
                    if (s == ns) {
                        if (ns == MAXS) continue;
                        ns++;
                        steps[s] = cv->step[k];
                        sl[s] = sv[s] = 0;
                        cnt[s] = 0;
                        mn[s] = 1e30;
                        mx[s] = -1e30;
                    }
                    sl[s] += cv->loss[k];
                    sv[s] += cv->val[k];
                    cnt[s]++;
                    if (cv->val[k] < mn[s]) mn[s] = cv->val[k];
                    if (cv->val[k] > mx[s]) mx[s] = cv->val[k];
                }
            }
            if (!ns) continue;
            /* sort by step (insertion: few points) */
            for (int a = 1; a < ns; a++)
                for (int b2 = a; b2 > 0 && steps[b2 - 1] > steps[b2]; b2--) {
                    long ts = steps[b2];
                    steps[b2] = steps[b2 - 1];
                    steps[b2 - 1] = ts;
                    double td;
                    td = sl[b2];
                    sl[b2] = sl[b2 - 1];
                    sl[b2 - 1] = td;
                    td = sv[b2];
                    sv[b2] = sv[b2 - 1];
                    sv[b2 - 1] = td;
                    td = mn[b2];
                    mn[b2] = mn[b2 - 1];
                    mn[b2 - 1] = td;
                    td = mx[b2];
                    mx[b2] = mx[b2 - 1];
                    mx[b2 - 1] = td;
                    int ti = cnt[b2];
                    cnt[b2] = cnt[b2 - 1];
                    cnt[b2 - 1] = ti;
                }
            rp_printf(&dat, "%s# block %d: %s\n", block ? "\n\n" : "", block, method_name(cells[c].method));
            for (int s = 0; s < ns; s++)
                rp_printf(&dat, "%ld %.6g %.6f %.6f %.6f %d\n", steps[s], sl[s] / cnt[s], sv[s] / cnt[s], mn[s], mx[s],
                          cnt[s]);
            rp_printf(&loss_plot, "%s\"curves_%s.dat\" index %d using 1:2 with linespoints lw 2 title \"%s\"",
                      block ? ", \\\n     " : "", rp_tasks[t], block, method_name(cells[c].method));
            rp_printf(&val_plot, "%s\"curves_%s.dat\" index %d using 1:3:4:5 with yerrorlines lw 2 title \"%s\"",
                      block ? ", \\\n     " : "", rp_tasks[t], block, method_name(cells[c].method));
            block++;
        }
        if (block) {
            rp_printf(&gp,
                      "# neurop reproduce: training curves of %s. Re-plot: cd into this folder, gnuplot curves_%s.gp\n",
                      rp_task_titles[t], rp_tasks[t]);
            rp_printf(&gp, gnuplot_png_terminal, 1200, 460, 1200, 460);
            rp_printf(&gp,
                      "set output \"curves_%s.png\"\nset multiplot layout 1,2 title \"%s: training (%s mode; mean over "
                      "seeds, bars: min-max)\"\n"
                      "set grid\nset key outside right top vertical\nset xlabel \"step\"\nset ylabel \"training loss "
                      "(mean since the previous evaluation)\"\nset logscale y\n"
                      "plot %s\nunset logscale y\nset ylabel \"IID-validation exact match\"\nset yrange [-0.02:1.02]\n"
                      "plot %s\nunset multiplot\n",
                      rp_tasks[t], rp_task_titles[t], repro_mode_name(x->o->mode), loss_plot.s, val_plot.s);
            char dp[1200], gpp[1200];
            snprintf(dp, sizeof dp, "%s/curves_%s.dat", plots, rp_tasks[t]);
            snprintf(gpp, sizeof gpp, "%s/curves_%s.gp", plots, rp_tasks[t]);
            if (rp_write_text(dp, dat.s, e) || rp_write_text(gpp, gp.s, e)) {
                free(dat.s);
                free(gp.s);
                free(loss_plot.s);
                free(val_plot.s);
                free(cv);
                return -1;
            }
            if (!x->o->no_plots) {
                char script[64];
                snprintf(script, sizeof script, "curves_%s.gp", rp_tasks[t]);
                snprintf(path, sizeof path, "%s/curves_%s.png", plots, rp_tasks[t]);
                unlink(path);
                if (gnuplot_run(plots, script, NULL) == 0 && rp_file_exists(path)) made++;
                else rp_printf(failed, "%s%s", failed->n ? ", " : "", script);
            }
        }
        free(dat.s);
        free(gp.s);
        free(loss_plot.s);
        free(val_plot.s);
    }
    free(cv);

    /* OOD exact match per method, one panel per task: every seed, mean ± std, the paper */
    Buf sd = {0}, sm = {0}, gp = {0};
    rp_printf(&sd, "# neurop reproduce: OOD exact match of every run, one block per task.\n# columns: x (method "
                   "position, jittered by seed), OOD exact match, seed, method\n");
    rp_printf(&sm, "# neurop reproduce: OOD exact match per method, one block per task.\n"
                   "# columns: x, mean over seeds, std, paper x, paper low, paper high, paper mid, method\n");
    int panels = 0;
    for (int t = 0; t < REPRO_N_TASKS; t++) {
        int any = 0;
        for (int c = 0; c < nc; c++) any |= cells[c].task == t && cells[c].n;
        panels += any;
    }
    rp_printf(
        &gp, "# neurop reproduce: OOD exact match per method and task. Re-plot: cd into this folder, gnuplot ood.gp\n");
    rp_printf(&gp, gnuplot_png_terminal, 420 * (panels ? panels : 1) + 80, 460, 420 * (panels ? panels : 1) + 80, 460);
    rp_printf(
        &gp,
        "set output \"ood.png\"\nset multiplot layout 1,%d title \"OOD exact match (%s mode): dots = seeds, bars = "
        "mean ± std, x = the paper\"\n"
        "set grid ytics\nset yrange [-0.02:1.15]\nset ylabel \"OOD exact match\"\nset key top center horizontal\n",
        panels ? panels : 1, repro_mode_name(x->o->mode));
    int block = 0;
    for (int t = 0; t < REPRO_N_TASKS; t++) {
        int pos = 0, any = 0;
        for (int c = 0; c < nc; c++) any |= cells[c].task == t && cells[c].n;
        if (!any) continue;
        rp_printf(&sd, "%s# block %d: %s\n", block ? "\n\n" : "", block, rp_task_titles[t]);
        rp_printf(&sm, "%s# block %d: %s\n", block ? "\n\n" : "", block, rp_task_titles[t]);
        for (int c = 0; c < nc; c++) {
            if (cells[c].task != t) continue;
            pos++;
            Cell *cl = &cells[c];
            for (int i = 0; i < cl->n; i++)
                rp_printf(&sd, "%.4f %.6f %d \"%s\"\n", pos - 0.12 + 0.24 * (cl->n > 1 ? (double)i / (cl->n - 1) : 0.5),
                          cl->runs[i]->ood, cl->seeds[i], method_name(cl->method));
            const double *pp = rp_paper_ood[t][cl->method];
            if (cl->n)
                rp_printf(&sm, "%d %.6f %.6f %.2f %.3f %.3f %.4f \"%s\"\n", pos, cl->ood.mean, cl->ood.std, pos + 0.3,
                          pp[0], pp[1], (pp[0] + pp[1]) / 2, method_name(cl->method));
            else
                rp_printf(&sm, "%d NaN NaN %.2f %.3f %.3f %.4f \"%s\"\n", pos, pos + 0.3, pp[0], pp[1],
                          (pp[0] + pp[1]) / 2, method_name(cl->method));
        }
        rp_printf(
            &gp,
            "set title \"%s\"\nset xrange [0.5:%d.5]\n"
            "plot \"ood_summary.dat\" index %d using 1:2:3:xtic(8) with yerrorbars pt 5 ps 1.2 lw 2 lc rgb \"#1f77b4\" "
            "title \"mean ± std\", \\\n"
            "     \"ood_seeds.dat\" index %d using 1:2 with points pt 7 ps 0.6 lc rgb \"#555555\" title \"seeds\", \\\n"
            "     \"ood_summary.dat\" index %d using 4:7:5:6 with yerrorbars pt 2 ps 1.5 lw 2 lc rgb \"#d62728\" title "
            "\"paper\"\n",
            rp_task_titles[t], pos, block, block, block);
        block++;
    }
    rp_printf(&gp, "unset multiplot\n");
    if (block) {
        char p1[1200], p2[1200], p3[1200];
        snprintf(p1, sizeof p1, "%s/ood_seeds.dat", plots);
        snprintf(p2, sizeof p2, "%s/ood_summary.dat", plots);
        snprintf(p3, sizeof p3, "%s/ood.gp", plots);
        if (rp_write_text(p1, sd.s, e) || rp_write_text(p2, sm.s, e) || rp_write_text(p3, gp.s, e)) {
            free(sd.s);
            free(sm.s);
            free(gp.s);
            return -1;
        }
        if (!x->o->no_plots) {
            snprintf(path, sizeof path, "%s/ood.png", plots);
            unlink(path);
            if (gnuplot_run(plots, "ood.gp", NULL) == 0 && rp_file_exists(path)) made++;
            else rp_printf(failed, "%sood.gp", failed->n ? ", " : "");
        }
    }
    free(sd.s);
    free(sm.s);
    free(gp.s);
    return made;
}

/* ---- the report: results.md and results.json -------------------------------------------- */


/* Per-family IID (test) exact match of one arc run: mean over the family's train intents. */
static int family_iid(const RunResult *r, const char *fam, double *v) {
    double s = 0;
    int k = 0;
    for (int i = 0; i < r->n_int; i++)
        if (!r->in[i].ood && !strcmp(r->in[i].family, fam)) {
            s += r->in[i].exact;
            k++;
        }
    if (k) *v = s / k;
    return k;
}
static int intent_exact(const RunResult *r, const char *intent, int ood, double *v) {
    for (int i = 0; i < r->n_int; i++)
        if (r->in[i].ood == ood && !strcmp(r->in[i].intent, intent)) {
            *v = r->in[i].exact;
            return 1;
        }
    return 0;
}
static int real_exact(const RunResult *r, const char *family, double *v, int *n) {
    for (int i = 0; i < r->n_real; i++)
        if (!strcmp(r->real[i].family, family)) {
            *v = r->real[i].exact;
            *n = r->real[i].n;
            return 1;
        }
    return 0;
}

typedef struct ReportInfo {
    double wall;
    char commit[64], date[64], cpu[320], plot_note[512];
    int dirty, nproc, threads, gnuplot, plots_made;
    double total_run_s;
} ReportInfo;

static void md_paper(Buf *b, int t, MethodKind m) {
    const double *p = rp_paper_ood[t][m];
    if (p[0] == p[1]) rp_printf(b, " %.3f |", p[0]);
    else rp_printf(b, " %.3f–%.3f |", p[0], p[1]);
}

static int write_report(const Ctx *x, Cell *cells, int nc, const Studies *st, const ClockSet *cs, const ReproSummary *s,
                        const ReportInfo *ri, Err *e) {
    const ReproOptions *o = x->o;
    Buf md = {0};
    char wall[32], tot[32];
    rp_dur(ri->wall, wall, sizeof wall);
    rp_dur(ri->total_run_s, tot, sizeof tot);
    int complete = rp_studies_complete(st), total = x->n;
    for (int c = 0; c < nc; c++) complete += cells[c].n + cells[c].failed;
    rp_printf(&md, "# neurop reproduce: results\n\n");
    rp_printf(&md, "| | |\n|---|---|\n");
    rp_printf(&md, "| mode | **%s**%s |\n", repro_mode_name(o->mode),
              o->mode == REPRO_FULL ? " (the defaults of docs/defaults.md)"
              : o->mode == REPRO_QUICK
                  ? " (fewer steps, smaller batches: see docs/reproduce.md; a check of the pipeline, not the paper's "
                    "protocol)"
                  : " (a few steps per run: checks that every file is produced; the numbers mean nothing)");
    rp_printf(&md, "| seeds | %d per model (0..%d)", x->seeds, x->seeds - 1);
    if (x->study_seeds) rp_printf(&md, "; studies: %d per variant (0..%d)", x->study_seeds, x->study_seeds - 1);
    rp_printf(&md, " |\n");
    rp_printf(&md, "| command | `%s` |\n", o->command ? o->command : "neurop reproduce");
    rp_printf(&md, "| commit | %s%s |\n", ri->commit, ri->dirty ? " (built with uncommitted changes)" : "");
    rp_printf(&md, "| date | %s |\n", ri->date);
    rp_printf(&md, "| machine | %d CPUs (%s), %d OpenMP thread%s per process, %d job%s |\n", ri->nproc, ri->cpu,
              ri->threads, ri->threads == 1 ? "" : "s", o->jobs > 1 ? o->jobs : 1, o->jobs > 1 ? "s" : "");
    rp_printf(&md, "| wall time of this invocation | %s (runs: %d made now, %d resumed, %d already done) |\n", wall,
              s->trained, s->resumed, s->skipped);
    rp_printf(&md, "| time of all runs | %s (training + evaluation, summed over runs) |\n", tot);
    rp_printf(&md, "| runs | %d of %d complete%s |\n\n", complete, total,
              s->interrupted ? " — **interrupted: run the same command again to continue**" : "");

    /* main table */
    rp_printf(&md, "## Exact match: IID test and OOD, mean ± std over seeds\n\n");
    rp_printf(&md, "| task | method | seeds | IID (test) | IID pooled | OOD | OOD ordinal | paper OOD | best seed (by "
                   "IID val) | its IID / OOD |\n");
    rp_printf(&md, "|---|---|---|---|---|---|---|---|---|---|\n");
    for (int c = 0; c < nc; c++) {
        Cell *cl = &cells[c];
        rp_printf(&md, "| %s | %s | %d |", rp_task_titles[cl->task], method_name(cl->method), cl->n);
        rp_md_stat(&md, cl->iid);
        rp_md_stat(&md, cl->iid_pooled);
        rp_md_stat(&md, cl->ood);
        rp_md_stat(&md, cl->ood_ordinal);
        md_paper(&md, cl->task, cl->method);
        if (cl->best >= 0)
            rp_printf(&md, " s%d (val %.3f) | %.3f / %.3f |\n", cl->seeds[cl->best], cl->runs[cl->best]->val,
                      cl->runs[cl->best]->iid, cl->runs[cl->best]->ood);
        else rp_printf(&md, " – | – |\n");
    }
    rp_printf(
        &md,
        "\nExact match: an instance counts when its whole output is right; averaged per intent, then over intents. "
        "IID = the train intents on the held-out test split, OOD = the intents never trained on. IID pooled "
        "counts every test example once (ADDMOD's p = 2, 3, 5 have 1-3 test pairs each, so in the mean over "
        "intents one pair moves the mean by 1/22). OOD ordinal leaves out OOD intents that are an unseen "
        "category (1D-ARC's recolor to a colour never trained on, which no method can extrapolate): on 1D-ARC "
        "it is move:k=3 alone; elsewhere it equals OOD. Each run is "
        "evaluated at its best checkpoint, chosen on IID **validation**. The best seed is the one with the highest "
        "IID-validation score — OOD never chooses anything. The paper's numbers are OOD, 10 seeds; its "
        "benchmark details are not public, so they compare in kind, not to the digit.\n\n");
    for (int c = 0; c < nc; c++) {
        const Cell *cl = &cells[c];
        if (!cl->n_held) continue;
        rp_printf(&md,
                  "%s on %s keeps %d of its train intents out of training, to choose among its restarts on them "
                  "(docs/training.md): its IID columns are over the others; on the held ones, IID test exact match "
                  "%.3f ± %.3f over %d seed%s.\n\n",
                  method_name(cl->method), rp_task_titles[cl->task], cl->n_held, cl->held.mean, cl->held.std,
                  cl->held.n, cl->held.n == 1 ? "" : "s");
    }

    /* per seed */
    rp_printf(
        &md,
        "## Every run\n\n| task | method | seed | IID val (best) | best step | IID test | OOD | train s | note |\n");
    rp_printf(&md, "|---|---|---|---|---|---|---|---|---|\n");
    for (int i = 0; i < x->n_main; i++) {
        const PlanItem *it = &x->items[i];
        Cell *cl = NULL;
        for (int c = 0; c < nc; c++)
            if (cells[c].task == it->task && cells[c].method == it->method) cl = &cells[c];
        const RunResult *r = NULL;
        int isbest = 0;
        for (int k = 0; cl && k < cl->n; k++)
            if ((unsigned long)cl->seeds[k] == it->seed) {
                r = cl->runs[k];
                isbest = k == cl->best;
            }
        rp_printf(&md, "| %s | %s | %lu |", rp_task_titles[it->task], method_name(it->method), it->seed);
        if (r)
            rp_printf(&md, " %.3f | %ld | %.3f | %.3f | %.1f | %s%s |\n", r->val, r->best_step, r->iid, r->ood,
                      r->train_s, isbest ? "★ best seed (IID val)" : "",
                      r->error[0] ? " stopped early (see eval.json)" : "");
        else rp_printf(&md, " – | – | – | – | – | %s |\n", s->interrupted ? "not run yet" : "failed or missing");
    }
    rp_printf(&md, "\n");

    /* 1D-ARC per family and per OOD intent */
    int have_arc = 0;
    for (int c = 0; c < nc; c++) have_arc |= cells[c].task == 2 && cells[c].n;
    if (have_arc) {
        rp_printf(&md, "## 1D-ARC mixed: per family (IID test) and per OOD intent, mean ± std over seeds\n\n| family / "
                       "intent | split |");
        for (int c = 0; c < nc; c++)
            if (cells[c].task == 2) rp_printf(&md, " %s |", method_name(cells[c].method));
        rp_printf(&md, "\n|---|---|");
        for (int c = 0; c < nc; c++)
            if (cells[c].task == 2) rp_printf(&md, "---|");
        rp_printf(&md, "\n");
        for (int f = 0; f < ARC_N_FAMILIES; f++) {
            rp_printf(&md, "| %s | IID |", arc_family_name(f));
            for (int c = 0; c < nc; c++) {
                if (cells[c].task != 2) continue;
                double v[1024];
                int k = 0;
                for (int i = 0; i < cells[c].n; i++)
                    k += family_iid(cells[c].runs[i], arc_family_name(f), &v[k]) ? 1 : 0;
                rp_md_stat(&md, rp_stat_of(v, k));
            }
            rp_printf(&md, "\n");
        }
        Task at;
        task_get("arc", &at, NULL);
        for (int q = 0; q < at.n_ood; q++) {
            char nm[32];
            task_intent_format(&at, at.ood[q], nm, sizeof nm);
            rp_printf(&md, "| %s | OOD |", nm);
            for (int c = 0; c < nc; c++) {
                if (cells[c].task != 2) continue;
                double v[1024];
                int k = 0;
                for (int i = 0; i < cells[c].n; i++) k += intent_exact(cells[c].runs[i], nm, 1, &v[k]);
                rp_md_stat(&md, rp_stat_of(v, k));
            }
            rp_printf(&md, "\n");
        }
        rp_printf(&md, "\nThe paper: on Flip only Meta-GNN reaches 0.898 (others 0.12–0.17); on MoveRight the direct "
                       "Transformer gets 0.000 OOD while the meta-learners succeed; a categorical parameter (recolor's "
                       "colour) does not extrapolate to an unseen value.\n\n");

        /* real 1D-ARC */
        rp_printf(&md, "## Real 1D-ARC (external test)\n\n");
        if (!x->real_dir) rp_printf(&md, "Skipped: %s.\n\n", x->real_note);
        else {
            rp_printf(
                &md,
                "Fraction of the real task pairs (train and test pairs of every file of the family, in `%s`) "
                "that the program synthesized for the family's intent solves (exact match), mean ± std over seeds. "
                "The direct method has no program: it runs its own network on (intent, row).\n\n",
                x->real_dir);
            /* the families, in order of first appearance in any run */
            char fams[MAX_REAL][64], ints[MAX_REAL][32];
            int fo[MAX_REAL], fn[MAX_REAL], nf = 0;
            for (int c = 0; c < nc; c++) {
                if (cells[c].task != 2) continue;
                for (int i = 0; i < cells[c].n; i++)
                    for (int k = 0; k < cells[c].runs[i]->n_real; k++) {
                        const RunResult *r = cells[c].runs[i];
                        int f = 0;
                        while (f < nf && strcmp(fams[f], r->real[k].family)) f++;
                        if (f == nf && nf < MAX_REAL) {
                            snprintf(fams[nf], 64, "%s", r->real[k].family);
                            snprintf(ints[nf], 32, "%s", r->real[k].intent);
                            fo[nf] = r->real[k].ood;
                            fn[nf] = r->real[k].n;
                            nf++;
                        }
                    }
            }
            rp_printf(&md, "| real family | intent | intent is | pairs |");
            for (int c = 0; c < nc; c++)
                if (cells[c].task == 2) rp_printf(&md, " %s |", method_name(cells[c].method));
            rp_printf(&md, "\n|---|---|---|---|");
            for (int c = 0; c < nc; c++)
                if (cells[c].task == 2) rp_printf(&md, "---|");
            rp_printf(&md, "\n");
            for (int f = 0; f < nf; f++) {
                rp_printf(&md, "| %s | %s | %s | %d |", fams[f], ints[f], fo[f] ? "OOD" : "trained", fn[f]);
                for (int c = 0; c < nc; c++) {
                    if (cells[c].task != 2) continue;
                    double v[1024];
                    int k = 0, n;
                    for (int i = 0; i < cells[c].n; i++) k += real_exact(cells[c].runs[i], fams[f], &v[k], &n);
                    rp_md_stat(&md, rp_stat_of(v, k));
                }
                rp_printf(&md, "\n");
            }
            if (!nf) rp_printf(&md, "(no run has real 1D-ARC numbers)\n");
            rp_printf(&md, "\n");
        }
    }

    /* cost */
    rp_printf(&md,
              "## Cost: trainable parameters and training time\n\n| task | method | trainable params | steps | B × N | "
              "train s per run | ms per step | eval s per run |\n|---|---|---|---|---|---|---|---|\n");
    for (int c = 0; c < nc; c++) {
        Cell *cl = &cells[c];
        rp_printf(&md, "| %s | %s | %ld | %ld | %d × %d |", rp_task_titles[cl->task], method_name(cl->method),
                  cl->params, cl->steps, cl->B, cl->N);
        rp_md_stat(&md, cl->train);
        if (cl->n && cl->steps) rp_printf(&md, " %.1f |", 1000 * cl->train.mean / cl->steps);
        else rp_printf(&md, " – |");
        rp_md_stat(&md, cl->evals);
        rp_printf(&md, "\n");
    }
    rp_printf(&md,
              "\nTraining time is the wall time of the training loop (IID-validation evaluations and checkpoints "
              "included), summed over resumes, on this machine with %d thread%s%s.\n\n",
              ri->threads, ri->threads == 1 ? "" : "s", o->jobs > 1 ? " while other runs trained beside it" : "");

    rp_studies_md(x, st, &md);
    rp_clock_md(cs, &md);

    /* plots */
    rp_printf(&md, "## Plots\n\n");
    if (o->no_plots) rp_printf(&md, "Not made (--no-plots); the gnuplot scripts and data are in plots/.\n\n");
    else if (!ri->gnuplot)
        rp_printf(&md, "gnuplot is not installed (Debian: `apt-get install gnuplot-nox`), so there are no PNG files; "
                       "the gnuplot scripts and data are in plots/: install gnuplot and run them there.\n\n");
    else {
        for (int t = 0; t < REPRO_N_TASKS; t++) {
            char p[1200];
            snprintf(p, sizeof p, "%s/plots/curves_%s.png", x->out, rp_tasks[t]);
            if (rp_file_exists(p))
                rp_printf(&md, "![training curves, %s](plots/curves_%s.png)\n\n", rp_task_titles[t], rp_tasks[t]);
        }
        char p[1200];
        snprintf(p, sizeof p, "%s/plots/ood.png", x->out);
        if (rp_file_exists(p)) rp_printf(&md, "![OOD exact match per method](plots/ood.png)\n\n");
        if (ri->plot_note[0]) rp_printf(&md, "Note: %s.\n\n", ri->plot_note);
        rp_printf(&md,
                  "Each PNG has its gnuplot script (.gp) and data (.dat) beside it: `cd plots && gnuplot ood.gp`.\n\n");
    }

    /* failures */
    int nfail = 0, nmiss = 0; /* failed: trained, no numbers; missing: not run (yet) */
    Buf bad = {0};
    for (int i = 0; i < x->n; i++) {
        RunResult r;
        rp_load_result(&x->items[i], &r);
        nmiss += !r.present;
        nfail += r.present && !r.ok;
        if (!r.present)
            rp_printf(&bad, "- %s: %s\n", x->items[i].name, s->interrupted ? "not run yet" : "no eval.json");
        else if (r.error[0])
            rp_printf(&bad, "- %s: %s%s\n", x->items[i].name, r.error,
                      r.ok ? " (its best checkpoint was evaluated)" : "");
    }
    if (nfail + nmiss) rp_printf(&md, "## Failed or missing runs\n\n%s\n", bad.s ? bad.s : "");
    free(bad.s);
    rp_printf(&md, "Per-run numbers: runs/NAME/eval.json; every number above: results.json.\n");

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
    cJSON_AddNumberToObject(runs, "missing", nmiss);
    cJSON_AddBoolToObject(j, "interrupted", s->interrupted);
    if (x->real_dir) cJSON_AddStringToObject(j, "real_1d_arc_dir", x->real_dir);
    else cJSON_AddNullToObject(j, "real_1d_arc_dir");
    cJSON *pl = cJSON_AddObjectToObject(j, "plots");
    cJSON_AddBoolToObject(pl, "gnuplot", ri->gnuplot);
    cJSON *files = cJSON_AddArrayToObject(pl, "files");
    for (int t = 0; t <= REPRO_N_TASKS + 1; t++) {
        char rel[64], p[1200];
        if (t < REPRO_N_TASKS) snprintf(rel, sizeof rel, "plots/curves_%s.png", rp_tasks[t]);
        else snprintf(rel, sizeof rel, t == REPRO_N_TASKS ? "plots/ood.png" : "plots/scaling.png");
        snprintf(p, sizeof p, "%s/%s", x->out, rel);
        if (rp_file_exists(p)) cJSON_AddItemToArray(files, cJSON_CreateString(rel));
    }
    cJSON *res = cJSON_AddArrayToObject(j, "results");
    for (int c = 0; c < nc; c++) {
        Cell *cl = &cells[c];
        cJSON *r = cJSON_CreateObject();
        cJSON_AddStringToObject(r, "task", rp_tasks[cl->task]);
        cJSON_AddStringToObject(r, "method", method_id(cl->method));
        cJSON_AddStringToObject(r, "method_name", method_name(cl->method));
        cJSON_AddNumberToObject(r, "n_seeds", cl->n);
        double v[1024];
        cell_values(cl, 0, v);
        cJSON_AddItemToObject(r, "iid", rp_stat_json(cl->iid, v, cl->seeds));
        cell_values(cl, 1, v);
        cJSON_AddItemToObject(r, "ood", rp_stat_json(cl->ood, v, cl->seeds));
        cell_values(cl, 2, v);
        cJSON_AddItemToObject(r, "iid_val", rp_stat_json(cl->val, v, cl->seeds));
        cell_values(cl, 3, v);
        cJSON_AddItemToObject(r, "train_seconds", rp_stat_json(cl->train, v, cl->seeds));
        cell_values(cl, 4, v);
        cJSON_AddItemToObject(r, "eval_seconds", rp_stat_json(cl->evals, v, cl->seeds));
        cell_values(cl, 5, v);
        cJSON_AddItemToObject(r, "iid_pooled", rp_stat_json(cl->iid_pooled, v, cl->seeds));
        cell_values(cl, 6, v);
        cJSON_AddItemToObject(r, "ood_ordinal", rp_stat_json(cl->ood_ordinal, v, cl->seeds));
        if (cl->n_held) {
            cell_values(cl, 7, v);
            cJSON_AddItemToObject(r, "held", rp_stat_json(cl->held, v, cl->seeds));
            cJSON_AddNumberToObject(r, "n_held", cl->n_held);
        }
        if (cl->best >= 0) {
            cJSON *b = cJSON_AddObjectToObject(r, "best_seed");
            cJSON_AddStringToObject(b, "chosen_by", "iid_val");
            cJSON_AddNumberToObject(b, "seed", cl->seeds[cl->best]);
            cJSON_AddNumberToObject(b, "iid_val", cl->runs[cl->best]->val);
            cJSON_AddNumberToObject(b, "iid", cl->runs[cl->best]->iid);
            cJSON_AddNumberToObject(b, "ood", cl->runs[cl->best]->ood);
        } else cJSON_AddNullToObject(r, "best_seed");
        const double *pp = rp_paper_ood[cl->task][cl->method];
        cJSON *po = cJSON_AddObjectToObject(r, "paper_ood");
        cJSON_AddNumberToObject(po, "low", pp[0]);
        cJSON_AddNumberToObject(po, "high", pp[1]);
        cJSON_AddNumberToObject(r, "params", (double)cl->params);
        cJSON_AddNumberToObject(r, "steps", (double)cl->steps);
        cJSON_AddNumberToObject(r, "B", cl->B);
        cJSON_AddNumberToObject(r, "N", cl->N);
        for (int i = 0; i < x->n_main; i++)
            if (x->items[i].task == cl->task && x->items[i].method == cl->method) {
                cJSON_AddStringToObject(r, "config_seed0", x->items[i].cfgtext);
                break;
            }
        cJSON_AddNumberToObject(r, "failed", cl->failed);
        cJSON_AddNumberToObject(r, "missing", cl->missing);
        if (cl->task == 2 && cl->n) {
            cJSON *fa = cJSON_AddArrayToObject(r, "arc_families_iid");
            for (int f = 0; f < ARC_N_FAMILIES; f++) {
                int k = 0, sd[1024];
                for (int i = 0; i < cl->n; i++)
                    if (family_iid(cl->runs[i], arc_family_name(f), &v[k])) sd[k++] = cl->seeds[i];
                cJSON *o2 = rp_stat_json(rp_stat_of(v, k), v, sd);
                cJSON_AddStringToObject(o2, "family", arc_family_name(f));
                cJSON_AddItemToArray(fa, o2);
            }
            cJSON *oa = cJSON_AddArrayToObject(r, "arc_ood_intents");
            Task at;
            task_get("arc", &at, NULL);
            for (int q = 0; q < at.n_ood; q++) {
                char nm[32];
                task_intent_format(&at, at.ood[q], nm, sizeof nm);
                int k = 0, sd[1024];
                for (int i = 0; i < cl->n; i++)
                    if (intent_exact(cl->runs[i], nm, 1, &v[k])) sd[k++] = cl->seeds[i];
                cJSON *o2 = rp_stat_json(rp_stat_of(v, k), v, sd);
                cJSON_AddStringToObject(o2, "intent", nm);
                cJSON_AddItemToArray(oa, o2);
            }
            cJSON *ra = cJSON_AddArrayToObject(r, "real_1d_arc");
            const RunResult *r0 = NULL;
            for (int i = 0; i < cl->n; i++)
                if (cl->runs[i]->n_real) {
                    r0 = cl->runs[i];
                    break;
                }
            for (int q = 0; r0 && q < r0->n_real; q++) {
                int k = 0, sd[1024], n = 0;
                for (int i = 0; i < cl->n; i++)
                    if (real_exact(cl->runs[i], r0->real[q].family, &v[k], &n)) sd[k++] = cl->seeds[i];
                cJSON *o2 = rp_stat_json(rp_stat_of(v, k), v, sd);
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
                for (int i = 0; i < cl->n; i++)
                    if (intent_exact(cl->runs[i], r0->in[q].intent, r0->in[q].ood, &v[k])) sd[k++] = cl->seeds[i];
                cJSON *o2 = rp_stat_json(rp_stat_of(v, k), NULL, sd);
                cJSON_AddStringToObject(o2, "intent", r0->in[q].intent);
                cJSON_AddStringToObject(o2, "split", r0->in[q].ood ? "ood" : "test");
                cJSON_AddItemToArray(ia, o2);
            }
        }
        cJSON_AddItemToArray(res, r);
    }
    rp_studies_json(x, st, j);
    rp_clock_json(cs, j);

    char p1[1200], p2[1200];
    snprintf(p1, sizeof p1, "%s/results.md", x->out);
    snprintf(p2, sizeof p2, "%s/results.json", x->out);
    int rc = rp_write_text(p1, md.s, e);
    if (!rc) rc = json_write(p2, j, e);
    free(md.s);
    cJSON_Delete(j);
    return rc;
}

int rp_report(const Ctx *x, ReproSummary *s, double t0, Err *e) {
    const ReproOptions *o = x->o;
    /* cells in plan order of (task, method) */
    int nc = 0;
    Cell *cells = xcalloc(REPRO_N_TASKS * METHOD_COUNT, sizeof *cells);
    RunResult *rr = xcalloc(x->n + 1, sizeof *rr);
    double total_run = 0;
    for (int i = 0; i < x->n; i++) {
        const PlanItem *it = &x->items[i];
        RunResult *r = &rr[i];
        rp_load_result(it, r);
        total_run += r->train_s + r->eval_s;
        if (it->study != RP_MAIN) continue;
        Cell *cl = NULL;
        for (int c = 0; c < nc; c++)
            if (cells[c].task == it->task && cells[c].method == it->method) cl = &cells[c];
        if (!cl) {
            cl = &cells[nc++];
            cl->task = it->task;
            cl->method = it->method;
            cl->best = -1;
            cl->steps = it->cfg.steps;
            cl->B = it->cfg.B;
            cl->N = it->cfg.N;
        }
        if (!r->present) {
            cl->missing++;
            continue;
        }
        if (!r->ok) {
            cl->failed++;
            continue;
        }
        if (r->params) cl->params = r->params;
        if (cl->n < 1024) {
            cl->seeds[cl->n] = (int)it->seed;
            cl->runs[cl->n] = r;
            cl->n++;
        }
    }
    /* rows in the fixed order task, method */
    for (int a = 1; a < nc; a++)
        for (int b = a; b > 0 && cells[b - 1].task * METHOD_COUNT + cells[b - 1].method >
                                     cells[b].task * METHOD_COUNT + cells[b].method;
             b--) {
            Cell tmp = cells[b];
            cells[b] = cells[b - 1];
            cells[b - 1] = tmp;
        }
    for (int c = 0; c < nc; c++) {
        Cell *cl = &cells[c];
        double v[1024] = {0}; /* zeroed: -O3 cannot see that only v[0..n) is read */
        cell_values(cl, 0, v);
        cl->iid = rp_stat_of(v, cl->n);
        cell_values(cl, 1, v);
        cl->ood = rp_stat_of(v, cl->n);
        cell_values(cl, 2, v);
        cl->val = rp_stat_of(v, cl->n);
        cell_values(cl, 3, v);
        cl->train = rp_stat_of(v, cl->n);
        cell_values(cl, 4, v);
        cl->evals = rp_stat_of(v, cl->n);
        cell_values(cl, 5, v);
        cl->iid_pooled = rp_stat_of(v, cl->n);
        cell_values(cl, 6, v);
        cl->ood_ordinal = rp_stat_of(v, cl->n);
        cell_values(cl, 7, v);
        cl->held = rp_stat_of(v, cl->n);
        cl->n_held = cl->n ? cl->runs[0]->n_held : 0;
        for (int i = 0; i < cl->n; i++) /* best by IID validation; ties: the lower seed */
            if (cl->best < 0 || cl->runs[i]->val > cl->runs[cl->best]->val) cl->best = i;
    }

    ReportInfo ri = {0};
    ri.total_run_s = total_run;
    /* the commit the program was built from (the Makefile's commit.h), not the git folder it runs in:
     * a pinned build run from another checkout must name its own code */
    snprintf(ri.commit, sizeof ri.commit, "%s", NEUROP_COMMIT);
    ri.dirty = NEUROP_DIRTY;
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(ri.date, sizeof ri.date, "%Y-%m-%d %H:%M:%S UTC", &tm);
    ri.nproc = (int)sysconf(_SC_NPROCESSORS_ONLN);
    cpu_describe(ri.cpu, sizeof ri.cpu); /* the CPU and the OpenBLAS kernel: bit-identity holds per both */
#ifdef _OPENMP
    ri.threads = o->jobs > 1 ? 1 : omp_get_max_threads();
#else
    ri.threads = 1;
#endif
    char plots[1000];
    snprintf(plots, sizeof plots, "%s/plots", x->out);
    int rc = rp_mkdir_p(plots, e);
    ri.gnuplot = gnuplot_installed();
    Studies *st = rp_studies_load(x);
    ClockSet *cs = NULL;
    if (!rc) {
        ReproOptions o2 = *o;
        Ctx x2 = *x;
        if (!ri.gnuplot) {
            o2.no_plots = 1;
            x2.o = &o2;
        }
        Buf failed = {0};
        int made = make_plots(&x2, cells, nc, plots, &failed, e);
        int smade = made < 0 ? 0 : rp_studies_plot(&x2, st, plots, !x2.o->no_plots, &failed, e), cmade = 0;
        if (made < 0 || smade < 0) rc = -1;
        else {
            cs = rp_clock_run(&x2, plots, !x2.o->no_plots, &cmade);
            ri.plots_made = made + smade + cmade;
        }
        if (failed.n)
            snprintf(ri.plot_note, sizeof ri.plot_note, "gnuplot failed on %s (its messages are in plots/gnuplot.log)",
                     failed.s);
        free(failed.s);
    }
    ri.wall = rp_now() - t0;
    if (!rc) rc = write_report(x, cells, nc, st, cs, s, &ri, e);
    rp_clock_free(cs);
    s->plots = ri.plots_made;
    rp_studies_free(st);
    free(cells);
    free(rr);
    return rc;
}
