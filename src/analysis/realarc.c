/* The real 1D-ARC files as an external test of a run trained on the generated 1D-ARC mix. */
#include "analysis/realarc.h"
#include <stdlib.h>
#include <string.h>

/* arc-demo: one row per file, its test pair with the file's examples as the demonstrations. */
static int real_demo(Run *r, const ArcSet *set, RealReport *rep, Err *e) {
    Examples ex[ARCD_N_FAMILIES];
    int cap = set->n / ARC_DEMO_PAIRS + 1;
    for (int f = 0; f < ARCD_N_FAMILIES; f++) {
        examples_alloc(&r->task, cap, &ex[f]);
        rep->fam[f].u = (Intent){f, -1};
        snprintf(rep->fam[f].family, sizeof rep->fam[f].family, "%s", arc_demo_name(f));
    }
    rep->n = ARCD_N_FAMILIES;
    ArcDemo *d = xmalloc(sizeof *d);
    int rc = 0;
    for (int i = 0; i < set->n && !rc;) {
        int first = i;
        if (arc_demo_next(set, &i, r->task.seq_len, d, e)) rc = -1;
        else if (d->family < 0) rc = err_set(e, "%s: not a 1D-ARC family", set->pairs[first].path);
        else arc_demo_example(&r->task, d, ARC_DEMO_EXAMPLES, &ex[d->family], ex[d->family].n);
    }
    free(d);
    for (int f = 0; f < ARCD_N_FAMILIES; f++) {
        if (!rc) {
            rep->fam[f].n = ex[f].n;
            rep->fam[f].correct = run_score(r, rep->fam[f].u, &ex[f]);
        }
        examples_free(&ex[f]);
    }
    return rc;
}

int run_real_arc(Run *r, const char *dir, RealReport *rep, Err *e) {
    memset(rep, 0, sizeof *rep);
    if (r->task.kind == TASK_ARC_DEMO) {
        ArcSet set = {0};
        int rc = arc_load_dir(dir, &set, e) ? -1 : real_demo(r, &set, rep, e);
        arc_set_free(&set);
        return rc;
    }
    if (r->task.kind != TASK_ARC)
        return err_set(e, "the real 1D-ARC test needs a run on arc or arc-demo (this one is %s)", r->task.name);
    ArcSet set = {0};
    if (arc_load_dir(dir, &set, e)) {
        arc_set_free(&set);
        return -1;
    }
    /* one Examples per covered family, in order of first appearance */
    Examples ex[sizeof rep->fam / sizeof *rep->fam];
    for (int i = 0; i < set.n; i++) {
        const ArcPair *p = &set.pairs[i];
        Intent u;
        if (!arc_family_intent(p->family, &u)) continue;
        int k = 0;
        while (k < rep->n && strcmp(rep->fam[k].family, p->family)) k++;
        if (k == rep->n) {
            NP_ASSERT(rep->n < (int)(sizeof rep->fam / sizeof *rep->fam),
                      "arc_family_intent covers more families than RealReport holds");
            rep->n++;
            snprintf(rep->fam[k].family, sizeof rep->fam[k].family, "%s", p->family);
            rep->fam[k].u = u;
            int cnt = 0;
            for (int j = i; j < set.n; j++) cnt += !strcmp(set.pairs[j].family, p->family);
            examples_alloc(&r->task, cnt, &ex[k]);
            ex[k].n = 0;
        }
        if (arc_pair_example(&r->task, p, &ex[k], ex[k].n, e)) {
            for (int j = 0; j < rep->n; j++) examples_free(&ex[j]);
            arc_set_free(&set);
            return -1;
        }
    }
    for (int k = 0; k < rep->n; k++) {
        rep->fam[k].n = ex[k].n;
        rep->fam[k].correct = run_score(r, rep->fam[k].u, &ex[k]);
        examples_free(&ex[k]);
    }
    arc_set_free(&set);
    return 0;
}
