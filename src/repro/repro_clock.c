/* The ADDMOD clock analysis in a reproduction: for each weight-generating method, its ADDMOD run
 * with the best IID validation (OOD chooses nothing) is analysed by clock.c; the figures go to
 * plots/clock-METHOD/, the numbers to results.md and results.json. */
#include "analysis/clock.h"
#include "repro/repro_internal.h"
#include <stdlib.h>
#include <string.h>

#define CLOCK_TASK 1 /* rp_tasks[1]: addmod */

typedef struct ClockItem {
    MethodKind method;
    char run[64]; /* the run analysed */
    double val;   /* its IID validation accuracy (why it was chosen) */
    int ok, png;
    char error[sizeof(Err) + 8]; /* an Err message, with "plot: " before it */
    ClockReport rep;
} ClockItem;
struct ClockSet {
    int n;
    ClockItem it[METHOD_COUNT];
};

ClockSet *rp_clock_run(const Ctx *x, const char *plots, int render, int *pngs) {
    ClockSet *cs = xcalloc(1, sizeof *cs);
    *pngs = 0;
    for (int m = METHOD_MLP; m < METHOD_COUNT; m++) {
        const PlanItem *best = NULL;
        double best_val = -1;
        for (int i = 0; i < x->n; i++) { /* plan order is seed order: ties keep the lower seed */
            const PlanItem *it = &x->items[i];
            if (it->study != RP_MAIN || it->task != CLOCK_TASK || (int)it->method != m) continue;
            RunResult r;
            rp_load_result(it, &r);
            if (r.ok && r.val > best_val) {
                best_val = r.val;
                best = it;
            }
        }
        if (!best) continue;
        ClockItem *ci = &cs->it[cs->n++];
        ci->method = (MethodKind)m;
        ci->val = best_val;
        snprintf(ci->run, sizeof ci->run, "%s", best->name);
        Run r;
        Err e = {{0}};
        char dir[1100];
        snprintf(dir, sizeof dir, "%s/clock-%s", plots, method_id((MethodKind)m));
        if (run_open(&r, best->dir, "best", &e)) {
            snprintf(ci->error, sizeof ci->error, "%s", e.msg);
            continue;
        }
        int rc = clock_analyze(&r, CLOCK_PRIME, &ci->rep, &e);
        run_free(&r);
        if (!rc) rc = rp_mkdir_p(dir, &e);
        if (!rc) rc = clock_write_data(&ci->rep, dir, &e);
        if (rc) {
            snprintf(ci->error, sizeof ci->error, "%s", e.msg);
            continue;
        }
        ci->ok = 1;
        int prc = clock_plot(&ci->rep, dir, render, &e);
        if (prc == 0) {
            ci->png = 1;
            (*pngs)++;
        } else if (prc < 0) snprintf(ci->error, sizeof ci->error, "plot: %s", e.msg);
    }
    return cs;
}

void rp_clock_free(ClockSet *cs) { free(cs); }

void rp_clock_md(const ClockSet *cs, Buf *md) {
    rp_printf(md, "## ADDMOD clock (p = %d, unseen)\n\n", CLOCK_PRIME);
    if (!cs || !cs->n) {
        rp_printf(md, "No ADDMOD run of a weight-generating method in this plan.\n\n");
        return;
    }
    rp_printf(md,
              "For each method, its ADDMOD run with the best IID validation is analysed (docs/clock.md): PCA of the "
              "generated token embedding of p = %d, the dominant frequency k with tokens ordered by a·k mod p, and the "
              "closed form PC1(p) = A·cos(ω/p + φ) fitted across all 25 primes (paper: 23.43·cos(5.672/p + 3.631), "
              "R² > 0.94; the paper's method is Meta-GNN).\n\n",
              CLOCK_PRIME);
    rp_printf(
        md,
        "| method | run (IID val) | top-2 variance | k (power share) | circularity | winding | largest gap | clock? | "
        "PC1 fit A, ω, φ | R² | with offset c: R² |\n|---|---|---|---|---|---|---|---|---|---|---|\n");
    for (int i = 0; i < cs->n; i++) {
        const ClockItem *ci = &cs->it[i];
        rp_printf(md, "| %s | %s (%.3f) |", method_name(ci->method), ci->run, ci->val);
        if (!ci->ok) {
            rp_printf(md, " failed: %s ||||||||||\n", ci->error);
            continue;
        }
        const ClockPlane *pl = &ci->rep.plane;
        const ClockFit *f = &ci->rep.fit, *fc = &ci->rep.fit_c;
        rp_printf(md, " %.3f | %d (%.2f) | %.2f | %d | %.3f | %s | %.2f, %.3f, %.3f | %.3f | %.3f |\n", pl->var_top2,
                  pl->k, pl->k_power, pl->circularity, pl->winding, pl->max_gap, clock_is_clock(pl) ? "yes" : "no",
                  f->A, f->omega, f->phi, f->r2, fc->r2);
    }
    rp_printf(md, "\nA clock means circularity ≥ 0.9, one turn, and no gap over 3/p of a turn (an arc is not a clock). "
                  "Plots: plots/clock-METHOD/clock.png.\n\n");
    /* the unseen primes' programs: the modulus each computes says whether it follows p or snaps
     * to a train prime (docs/clock.md) */
    rp_printf(md, "What the same runs' programs for the unseen primes compute, on all p² pairs: the modulus m whose "
                  "(a + b) mod m agrees with most answers, that share, exact match at p, and the clock frequency k of "
                  "the program's own embedding (k = (p − 1)/2 is the family of runs that interpolate between train "
                  "primes; docs/clock.md).");
    const ClockItem *first = NULL;
    for (int i = 0; i < cs->n && !first; i++)
        if (cs->it[i].ok) first = &cs->it[i];
    if (!first || !first->rep.n_off) {
        rp_printf(md, "\n\n");
        return;
    }
    int q0 = first->rep.off_q[0], q1 = first->rep.off_q[first->rep.n_off - 1];
    rp_printf(md,
              " The last column: the programs for the odd composite moduli from %d to %d, which no run trains, "
              "validates or is tested on, scored mod themselves (mean exact): the same question as the unseen "
              "primes', asked without them.\n\n| method |",
              q0, q1);
    int cols = 0;
    for (int k = 0; k < first->rep.n_primes; k++)
        if (first->rep.ood[k]) {
            rp_printf(md, " p = %d |", first->rep.primes[k]);
            cols++;
        }
    rp_printf(md, " odd composites %d..%d |\n|---|", q0, q1);
    for (int k = 0; k <= cols; k++) rp_printf(md, "---|");
    rp_printf(md, "\n");
    for (int i = 0; i < cs->n; i++) {
        const ClockItem *ci = &cs->it[i];
        if (!ci->ok) continue;
        rp_printf(md, "| %s |", method_name(ci->method));
        for (int k = 0; k < ci->rep.n_primes; k++)
            if (ci->rep.ood[k])
                rp_printf(md, " mod %d (%.3f), exact %.3f, k %d |", ci->rep.mod[k], ci->rep.mod_agree[k],
                          ci->rep.acc[k], ci->rep.freq[k]);
        rp_printf(md, " %.3f |\n", ci->rep.off_mean);
    }
    rp_printf(md, "\n");
}

void rp_clock_json(const ClockSet *cs, cJSON *j) {
    cJSON *arr = cJSON_AddArrayToObject(j, "clock");
    for (int i = 0; cs && i < cs->n; i++) {
        const ClockItem *ci = &cs->it[i];
        cJSON *o = cJSON_CreateObject();
        if (!ci->ok) cJSON_AddStringToObject(o, "method", method_id(ci->method)); /* else clock_to_json adds it */
        cJSON_AddStringToObject(o, "run", ci->run);
        cJSON_AddNumberToObject(o, "best_val", ci->val);
        if (ci->ok) clock_to_json(&ci->rep, o);
        else cJSON_AddStringToObject(o, "error", ci->error);
        cJSON_AddItemToArray(arr, o);
    }
}
