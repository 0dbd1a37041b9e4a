/* The two studies of a reproduction beyond the main table, both on SUMFIRST (a Meta-GNN run costs
 * seconds there), as runs of the same plan and their own report sections:
 *   scaling  the target's hidden width ×1, ×2, ×4, ×8 for Meta-gMLP and Meta-GNN (the paper
 *            claims, without numbers, that Meta-gMLP breaks down as the target grows and Meta-GNN
 *            does not): OOD and IID exact match, |θ|, trainable parameters, training time;
 *   ablation Meta-GNN with one part changed per variant: rounds k = 0, 1, 2, 4 (default 3), no
 *            group tying, no positional encodings, the sinusoidal encodings (docs/defaults.md
 *            promised both encodings would be reported).
 * Every run is the mode's configuration of (sumfirst, method) with only the template or the
 * MetaConfig field changed, so steps, learning rate and the meta-learner's width stay the
 * defaults'. Seeds: min(3, seeds) in full mode, 1 in quick and tiny; tiny keeps four scaling and
 * two ablation runs so the CI check stays fast. */
#include "io/fileio.h"
#include "repro/repro_internal.h"
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define STUDY_TASK 0 /* rp_tasks[0]: sumfirst */
#define STUDY_MAX_SEEDS 3

typedef struct Variant {
    int study;      /* RP_STUDY_SCALE or RP_STUDY_ABLATE */
    const char *id; /* in the run name: scale-ID-sSEED, ablate-ID-sSEED */
    MethodKind method;
    int mult;            /* scaling: the template's hidden widths × mult */
    int rounds, tie, pe; /* ablation: the MetaConfig values; -1 keeps the default's */
    int tiny;            /* also in tiny mode */
    const char *label;   /* ablation: the row of the report */
} Variant;

static const Variant VARIANTS[] = {
    {RP_STUDY_SCALE, "x1-gmlp", METHOD_GMLP, 1, -1, -1, -1, 1, NULL},
    {RP_STUDY_SCALE, "x1-gnn", METHOD_GNN, 1, -1, -1, -1, 1, NULL},
    {RP_STUDY_SCALE, "x2-gmlp", METHOD_GMLP, 2, -1, -1, -1, 1, NULL},
    {RP_STUDY_SCALE, "x2-gnn", METHOD_GNN, 2, -1, -1, -1, 1, NULL},
    {RP_STUDY_SCALE, "x4-gmlp", METHOD_GMLP, 4, -1, -1, -1, 0, NULL},
    {RP_STUDY_SCALE, "x4-gnn", METHOD_GNN, 4, -1, -1, -1, 0, NULL},
    {RP_STUDY_SCALE, "x8-gmlp", METHOD_GMLP, 8, -1, -1, -1, 0, NULL},
    {RP_STUDY_SCALE, "x8-gnn", METHOD_GNN, 8, -1, -1, -1, 0, NULL},
    {RP_STUDY_ABLATE, "default", METHOD_GNN, 1, -1, -1, -1, 0, "default (as in the main table)"},
    {RP_STUDY_ABLATE, "rounds0", METHOD_GNN, 1, 0, -1, -1, 1, "k = 0 rounds (encoders straight into decoders)"},
    {RP_STUDY_ABLATE, "rounds1", METHOD_GNN, 1, 1, -1, -1, 0, "k = 1 round"},
    {RP_STUDY_ABLATE, "rounds2", METHOD_GNN, 1, 2, -1, -1, 0, "k = 2 rounds"},
    {RP_STUDY_ABLATE, "rounds4", METHOD_GNN, 1, 4, -1, -1, 0, "k = 4 rounds"},
    {RP_STUDY_ABLATE, "tie0", METHOD_GNN, 1, -1, 0, -1, 1, "no group tying"},
    {RP_STUDY_ABLATE, "pe0", METHOD_GNN, 1, -1, -1, PE_OFF, 0, "no positional encodings"},
    {RP_STUDY_ABLATE, "pe1", METHOD_GNN, 1, -1, -1, PE_FULL, 0, "sinusoidal encodings (index + sin/cos)"},
    {RP_STUDY_ABLATE, "pe3", METHOD_GNN, 1, -1, -1, PE_ONEHOT, 0, "learned per-index codes (one-hot index)"},
    {RP_STUDY_ABLATE, "pe4", METHOD_GNN, 1, -1, -1, PE_PRODUCT, 0, "learned per-index codes, multiplied across axes"},
};
#define N_VARIANTS ((int)(sizeof VARIANTS / sizeof *VARIANTS))

static const char *pe_text(int pe) {
    return pe == PE_OFF       ? "none"
           : pe == PE_FULL    ? "index + sin/cos"
           : pe == PE_ONEHOT  ? "learned per-index codes"
           : pe == PE_PRODUCT ? "learned codes, product"
                              : "index";
}

/* The template with every hidden layer's width × mult ("mlp 10-16-1 act=relu" ×4 →
 * "mlp 10-64-1 act=relu"); the inputs and outputs stay the task's. */
static int widen(char *tpl, size_t n, int mult, Err *e) {
    if (mult == 1) return 0;
    Template *t = xmalloc(sizeof *t);
    int rc = template_parse(tpl, t, e);
    if (!rc && t->kind != TPL_MLP) rc = err_set(e, "the scaling study needs an MLP target, not '%s'", tpl);
    if (!rc) {
        for (int l = 1; l < t->n_layers; l++) t->widths[l] *= mult;
        char buf[TPL_TEXT_MAX];
        template_format(t, buf, sizeof buf);
        if (strlen(buf) >= n) rc = err_set(e, "template text too long");
        else snprintf(tpl, n, "%s", buf);
    }
    free(t);
    return rc;
}

static int variant_on(const ReproOptions *o, const Variant *v) {
    unsigned mask = o->no_studies ? 0 : o->studies ? o->studies : (1u << REPRO_N_STUDIES) - 1;
    return ((mask >> (v->study - 1)) & 1) && (o->mode != REPRO_TINY || v->tiny);
}

int rp_studies_plan(Ctx *x, Err *e) {
    const ReproOptions *o = x->o;
    x->study_seeds = 0;
    int nv = 0;
    for (int v = 0; v < N_VARIANTS; v++) nv += variant_on(o, &VARIANTS[v]);
    if (!nv) return 0;
    x->study_seeds = o->mode == REPRO_FULL ? (x->seeds < STUDY_MAX_SEEDS ? x->seeds : STUDY_MAX_SEEDS) : 1;
    x->items = xrealloc(x->items, ((size_t)x->n + (size_t)nv * x->study_seeds + 1) * sizeof *x->items);
    /* seeds outermost, as in the main table: a stopped study has every variant at the same seed count */
    for (int s = 0; s < x->study_seeds; s++)
        for (int v = 0; v < N_VARIANTS; v++) {
            const Variant *va = &VARIANTS[v];
            if (!variant_on(o, va)) continue;
            PlanItem *it = &x->items[x->n++];
            memset(it, 0, sizeof *it);
            it->task = STUDY_TASK;
            it->method = va->method;
            it->seed = (unsigned long)s;
            it->study = va->study;
            it->variant = v;
            it->cost_key = REPRO_N_TASKS * METHOD_COUNT + v; /* its own timing, apart from the main table's */
            snprintf(it->name, sizeof it->name, "%s-%s-s%d", va->study == RP_STUDY_SCALE ? "scale" : "ablate", va->id,
                     s);
            snprintf(it->dir, sizeof it->dir, "%s/runs/%s", x->out, it->name);
            TrainConfig *c = &it->cfg;
            if (repro_config(rp_tasks[STUDY_TASK], va->method, o->mode, (unsigned long)s, c, e)) return -1;
            if (widen(c->tpl, sizeof c->tpl, va->mult, e)) return -1;
            if (va->rounds >= 0) c->meta.rounds = va->rounds;
            if (va->tie >= 0) c->meta.tie = va->tie;
            if (va->pe >= 0) c->meta.pe = va->pe;
            config_format(c, it->cfgtext, sizeof it->cfgtext);
        }
    return 0;
}

/* ---- reading the runs back -------------------------------------------------------------- */

typedef struct Row {       /* one variant over its seeds */
    int on;                /* in the plan */
    const PlanItem *first; /* its run of the lowest seed (the configuration shown) */
    long theta;            /* |θ| of its target */
    long params;           /* trainable parameters of the meta-learner */
    int n, seeds[STUDY_MAX_SEEDS];
    double iid[STUDY_MAX_SEEDS], ood[STUDY_MAX_SEEDS], val[STUDY_MAX_SEEDS], train[STUDY_MAX_SEEDS];
    Stat s_iid, s_ood, s_val, s_train;
    int failed, missing;
} Row;

struct Studies {
    Row rows[N_VARIANTS];
    int complete;
};

Studies *rp_studies_load(const Ctx *x) {
    Studies *st = xcalloc(1, sizeof *st);
    RunResult *r = xmalloc(sizeof *r);
    Template *t = xmalloc(sizeof *t);
    for (int i = x->n_main; i < x->n; i++) {
        const PlanItem *it = &x->items[i];
        Row *w = &st->rows[it->variant];
        if (!w->on) {
            w->on = 1;
            w->first = it;
            w->theta = template_parse(it->cfg.tpl, t, NULL) ? 0 : t->n_theta;
        }
        rp_load_result(it, r);
        if (!r->present) {
            w->missing++;
            continue;
        }
        st->complete++;
        if (!r->ok) {
            w->failed++;
            continue;
        }
        if (r->params) w->params = r->params;
        if (w->n == STUDY_MAX_SEEDS) continue;
        w->seeds[w->n] = (int)it->seed;
        w->iid[w->n] = r->iid;
        w->ood[w->n] = r->ood;
        w->val[w->n] = r->val;
        w->train[w->n] = r->train_s;
        w->n++;
    }
    for (int v = 0; v < N_VARIANTS; v++) {
        Row *w = &st->rows[v];
        w->s_iid = rp_stat_of(w->iid, w->n);
        w->s_ood = rp_stat_of(w->ood, w->n);
        w->s_val = rp_stat_of(w->val, w->n);
        w->s_train = rp_stat_of(w->train, w->n);
    }
    free(r);
    free(t);
    return st;
}

void rp_studies_free(Studies *st) { free(st); }

int rp_studies_complete(const Studies *st) { return st->complete; }

/* The scaling rows in the report's order: multipliers ascending, then Meta-gMLP before Meta-GNN. */
static int scale_mults(const Studies *st, int *mults) {
    int n = 0;
    for (int v = 0; v < N_VARIANTS; v++) {
        if (VARIANTS[v].study != RP_STUDY_SCALE || !st->rows[v].on) continue;
        int k = 0;
        while (k < n && mults[k] != VARIANTS[v].mult) k++;
        if (k == n) mults[n++] = VARIANTS[v].mult;
    }
    for (int a = 1; a < n; a++)
        for (int b = a; b > 0 && mults[b - 1] > mults[b]; b--) {
            int t = mults[b];
            mults[b] = mults[b - 1];
            mults[b - 1] = t;
        }
    return n;
}
static const Row *scale_row(const Studies *st, int mult, MethodKind m) {
    for (int v = 0; v < N_VARIANTS; v++)
        if (VARIANTS[v].study == RP_STUDY_SCALE && VARIANTS[v].mult == mult && VARIANTS[v].method == m &&
            st->rows[v].on)
            return &st->rows[v];
    return NULL;
}
static const MethodKind SCALE_METHODS[2] = {METHOD_GMLP, METHOD_GNN};

/* "10-64-1": the target's layer widths. */
static void target_widths(const PlanItem *it, char *buf, size_t n) {
    const char *s = strchr(it->cfg.tpl, ' ');
    snprintf(buf, n, "%s", s ? s + 1 : it->cfg.tpl);
    char *sp = strchr(buf, ' ');
    if (sp) *sp = 0;
}

/* ---- the plot ----------------------------------------------------------------------------- */

int rp_studies_plot(const Ctx *x, const Studies *st, const char *plots, int run, Buf *failed, Err *e) {
    int mults[N_VARIANTS], nm = scale_mults(st, mults);
    Buf dat = {0}, seeds = {0}, gp = {0}, ood_plot = {0}, time_plot = {0};
    rp_printf(&dat,
              "# neurop reproduce: scaling study on SUMFIRST (%s mode), one block per method.\n"
              "# columns: width multiplier, x (jittered), OOD mean, OOD std, train s mean, min, max, seeds, |theta|, "
              "trainable params\n",
              repro_mode_name(x->o->mode));
    rp_printf(&seeds, "# neurop reproduce: scaling study, every run, one block per method.\n"
                      "# columns: x (jittered), OOD exact match, seed, train s\n");
    int block = 0;
    for (int k = 0; k < 2; k++) {
        MethodKind m = SCALE_METHODS[k];
        int any = 0;
        for (int q = 0; q < nm; q++) {
            const Row *w = scale_row(st, mults[q], m);
            any |= w && w->n;
        }
        if (!any) continue;           /* gnuplot refuses a plot of an empty block */
        double jit = k ? 1.04 : 0.96; /* both methods' bars side by side on the log axis */
        rp_printf(&dat, "%s# block %d: %s\n", block ? "\n\n" : "", block, method_name(m));
        rp_printf(&seeds, "%s# block %d: %s\n", block ? "\n\n" : "", block, method_name(m));
        for (int q = 0; q < nm; q++) {
            const Row *w = scale_row(st, mults[q], m);
            if (!w || !w->n) continue;
            rp_printf(&dat, "%d %.4f %.6f %.6f %.6g %.6g %.6g %d %ld %ld\n", mults[q], mults[q] * jit, w->s_ood.mean,
                      w->s_ood.std, w->s_train.mean, w->s_train.min, w->s_train.max, w->n, w->theta, w->params);
            for (int i = 0; i < w->n; i++)
                rp_printf(&seeds, "%.4f %.6f %d %.6g\n", mults[q] * jit * (1 + 0.015 * (i - (w->n - 1) / 2.0)),
                          w->ood[i], w->seeds[i], w->train[i]);
        }
        const char *col = k ? "#d62728" : "#1f77b4";
        rp_printf(&ood_plot,
                  "%s\"scaling.dat\" index %d using 2:3:4 with yerrorlines lw 2 pt 5 lc rgb \"%s\" title \"%s (mean ± "
                  "std)\", \\\n"
                  "     \"scaling_seeds.dat\" index %d using 1:2 with points pt 7 ps 0.6 lc rgb \"%s\" title \"seeds\"",
                  block ? ", \\\n     " : "", block, col, method_name(m), block, col);
        rp_printf(&time_plot,
                  "%s\"scaling.dat\" index %d using 2:5:6:7 with yerrorlines lw 2 pt 5 lc rgb \"%s\" title \"%s\"",
                  block ? ", \\\n     " : "", block, col, method_name(m));
        block++;
    }
    int made = 0, rc = 0;
    if (block) {
        Buf tics = {0};
        for (int q = 0; q < nm; q++) rp_printf(&tics, "%s\"×%d\" %d", q ? ", " : "", mults[q], mults[q]);
        rp_printf(&gp, "# neurop reproduce: scaling study. Re-plot: cd into this folder, gnuplot scaling.gp\n");
        rp_printf(&gp, gnuplot_png_terminal, 1200, 460, 1200, 460);
        rp_printf(
            &gp,
            "set output \"scaling.png\"\n"
            "set multiplot layout 1,2 title \"SUMFIRST-n: the target's hidden width × m (%s mode, %d seed%s; bars: ± "
            "std, min-max)\"\n"
            "set grid\nset logscale x 2\nset xrange [%g:%g]\nset xtics (%s)\nset xlabel \"width multiplier m of the "
            "target (hidden units × m)\"\n"
            "set key top right\nset ylabel \"OOD exact match\"\nset yrange [-0.02:1.05]\nplot %s\n"
            "set ylabel \"training time per run (s)\"\nset autoscale y\nset logscale y\nplot %s\nunset multiplot\n",
            repro_mode_name(x->o->mode), x->study_seeds, x->study_seeds == 1 ? "" : "s", mults[0] * 0.7,
            mults[nm - 1] * 1.4, tics.s, ood_plot.s, time_plot.s);
        free(tics.s);
        char p1[1200], p2[1200], p3[1200];
        snprintf(p1, sizeof p1, "%s/scaling.dat", plots);
        snprintf(p2, sizeof p2, "%s/scaling_seeds.dat", plots);
        snprintf(p3, sizeof p3, "%s/scaling.gp", plots);
        if (rp_write_text(p1, dat.s, e) || rp_write_text(p2, seeds.s, e) || rp_write_text(p3, gp.s, e)) rc = -1;
        else if (run) {
            snprintf(p1, sizeof p1, "%s/scaling.png", plots);
            unlink(p1);
            if (gnuplot_run(plots, "scaling.gp", NULL) == 0 && file_exists(p1)) made = 1;
            else rp_printf(failed, "%sscaling.gp", failed->n ? ", " : "");
        }
    }
    free(dat.s);
    free(seeds.s);
    free(gp.s);
    free(ood_plot.s);
    free(time_plot.s);
    return rc < 0 ? -1 : made;
}

/* ---- results.md --------------------------------------------------------------------------- */

static void md_mean(Buf *b, Stat s, int decimals) {
    if (!s.n) rp_printf(b, " – |");
    else rp_printf(b, " %.*f |", decimals, s.mean);
}

void rp_studies_md(const Ctx *x, const Studies *st, Buf *md) {
    int mults[N_VARIANTS], nm = scale_mults(st, mults);
    const char *mode = repro_mode_name(x->o->mode);
    TrainConfig base; /* what the variants change: the mode's Meta-GNN on SUMFIRST */
    if (repro_config(rp_tasks[STUDY_TASK], METHOD_GNN, x->o->mode, 0, &base, NULL)) memset(&base, 0, sizeof base);
    if (nm) {
        rp_printf(md, "## Scaling study: the target's width (SUMFIRST-n)\n\n");
        rp_printf(
            md,
            "How it was made: the SUMFIRST target `%s` with its hidden layer ×m (the `template=` setting), Meta-gMLP "
            "and "
            "Meta-GNN otherwise at their %s-mode configuration of the main table (same steps, learning rate and "
            "meta-learner width), %d seed%s each (runs/scale-xM-METHOD-sSEED); OOD mean ± std over seeds. The paper "
            "claims, without numbers, that Meta-gMLP breaks down as the target grows and Meta-GNN does not.\n\n",
            base.tpl, mode, x->study_seeds, x->study_seeds == 1 ? "" : "s");
        rp_printf(md, "| width | target | θ size |");
        for (int k = 0; k < 2; k++) {
            const char *n = method_name(SCALE_METHODS[k]);
            rp_printf(md, " %s OOD | %s IID | %s params | %s train s |", n, n, n, n);
        }
        rp_printf(md, "\n|---|---|---|---|---|---|---|---|---|---|---|\n");
        for (int q = 0; q < nm; q++) {
            const Row *any = scale_row(st, mults[q], METHOD_GMLP);
            if (!any) any = scale_row(st, mults[q], METHOD_GNN);
            char w[sizeof any->first->cfg.tpl];
            target_widths(any->first, w, sizeof w);
            rp_printf(md, "| ×%d | %s | %ld |", mults[q], w, any->theta);
            for (int k = 0; k < 2; k++) {
                const Row *r = scale_row(st, mults[q], SCALE_METHODS[k]);
                if (!r) {
                    rp_printf(md, " – | – | – | – |");
                    continue;
                }
                rp_md_stat(md, r->s_ood);
                md_mean(md, r->s_iid, 3);
                if (r->params) rp_printf(md, " %ld |", r->params);
                else rp_printf(md, " – |");
                md_mean(md, r->s_train, 2);
            }
            rp_printf(md, "\n");
        }
        char p[1200];
        snprintf(p, sizeof p, "%s/plots/scaling.png", x->out);
        rp_printf(
            md, "\nIID: the mean over seeds of the train intents' test split. Params: the meta-learner's trainable "
                "parameters (Meta-gMLP's mixer reads every slot's embedding, so it grows with θ; Meta-GNN's group-tied "
                "weights do not). Train s: the training loop's wall time per run, mean over seeds.\n\n");
        if (file_exists(p)) rp_printf(md, "![scaling study](plots/scaling.png)\n\n");
    }
    int any_ablate = 0;
    for (int v = 0; v < N_VARIANTS; v++) any_ablate |= VARIANTS[v].study == RP_STUDY_ABLATE && st->rows[v].on;
    if (any_ablate) {
        rp_printf(md, "## Ablation of Meta-GNN (SUMFIRST-n)\n\n");
        rp_printf(
            md,
            "How it was made: Meta-GNN on SUMFIRST at its %s-mode configuration of the main table (rounds k = %d, %s, "
            "positional encodings: %s), one part changed per row (the `rounds=`, `tie=`, `pe=` settings), %d seed%s "
            "each "
            "(runs/ablate-VARIANT-sSEED); exact match mean ± std over seeds. No group tying: one set of encoder, "
            "message and decoder weights for all nodes and one for all edges, instead of one per group.\n\n",
            mode, base.meta.rounds, base.meta.tie ? "group tying" : "no group tying", pe_text(base.meta.pe),
            x->study_seeds, x->study_seeds == 1 ? "" : "s");
        rp_printf(md, "| variant | rounds k | group tying | positional encodings | seeds | IID (test) | OOD | "
                      "trainable params | train s |\n"
                      "|---|---|---|---|---|---|---|---|---|\n");
        for (int v = 0; v < N_VARIANTS; v++) {
            const Row *r = &st->rows[v];
            if (VARIANTS[v].study != RP_STUDY_ABLATE || !r->on) continue;
            const MetaConfig *mc = &r->first->cfg.meta;
            rp_printf(md, "| %s | %d | %s | %s | %d |", VARIANTS[v].label, mc->rounds, mc->tie ? "yes" : "no",
                      pe_text(mc->pe), r->n);
            rp_md_stat(md, r->s_iid);
            rp_md_stat(md, r->s_ood);
            if (r->params) rp_printf(md, " %ld |", r->params);
            else rp_printf(md, " – |");
            rp_md_stat(md, r->s_train);
            rp_printf(md, "\n");
        }
        rp_printf(md, "\n");
    }
}

/* ---- results.json ------------------------------------------------------------------------- */

static cJSON *row_json(const Variant *va, const Row *r) {
    cJSON *o = cJSON_CreateObject();
    char nm[64];
    snprintf(nm, sizeof nm, "%s-%s", va->study == RP_STUDY_SCALE ? "scale" : "ablate", va->id);
    cJSON_AddStringToObject(o, "name", nm);
    cJSON_AddStringToObject(o, "method", method_id(va->method));
    cJSON_AddStringToObject(o, "method_name", method_name(va->method));
    cJSON_AddNumberToObject(o, "n_seeds", r->n);
    cJSON_AddNumberToObject(o, "params", (double)r->params);
    cJSON_AddNumberToObject(o, "theta_size", (double)r->theta);
    cJSON_AddItemToObject(o, "iid", rp_stat_json(r->s_iid, r->iid, r->seeds));
    cJSON_AddItemToObject(o, "ood", rp_stat_json(r->s_ood, r->ood, r->seeds));
    cJSON_AddItemToObject(o, "iid_val", rp_stat_json(r->s_val, r->val, r->seeds));
    cJSON_AddItemToObject(o, "train_seconds", rp_stat_json(r->s_train, r->train, r->seeds));
    cJSON_AddNumberToObject(o, "steps", (double)r->first->cfg.steps);
    cJSON_AddStringToObject(o, "config_seed0", r->first->cfgtext);
    cJSON_AddNumberToObject(o, "failed", r->failed);
    cJSON_AddNumberToObject(o, "missing", r->missing);
    return o;
}

void rp_studies_json(const Ctx *x, const Studies *st, cJSON *j) {
    cJSON_AddNumberToObject(j, "study_seeds", x->study_seeds);
    cJSON *sc = cJSON_AddArrayToObject(j, "scaling"), *ab = cJSON_AddArrayToObject(j, "ablation");
    int mults[N_VARIANTS], nm = scale_mults(st, mults);
    for (int q = 0; q < nm; q++)
        for (int k = 0; k < 2; k++)
            for (int v = 0; v < N_VARIANTS; v++) {
                const Variant *va = &VARIANTS[v];
                if (va->study != RP_STUDY_SCALE || va->mult != mults[q] || va->method != SCALE_METHODS[k] ||
                    !st->rows[v].on)
                    continue;
                cJSON *o = row_json(va, &st->rows[v]);
                cJSON_AddNumberToObject(o, "multiplier", va->mult);
                cJSON_AddStringToObject(o, "template", st->rows[v].first->cfg.tpl);
                cJSON_AddItemToArray(sc, o);
            }
    for (int v = 0; v < N_VARIANTS; v++) {
        const Variant *va = &VARIANTS[v];
        if (va->study != RP_STUDY_ABLATE || !st->rows[v].on) continue;
        const MetaConfig *mc = &st->rows[v].first->cfg.meta;
        cJSON *o = row_json(va, &st->rows[v]);
        cJSON_AddStringToObject(o, "variant", va->id);
        cJSON_AddStringToObject(o, "label", va->label);
        cJSON_AddNumberToObject(o, "rounds", mc->rounds);
        cJSON_AddBoolToObject(o, "tie", mc->tie);
        cJSON_AddNumberToObject(o, "pe", mc->pe);
        cJSON_AddStringToObject(o, "pe_name", pe_text(mc->pe));
        cJSON_AddItemToArray(ab, o);
    }
}
