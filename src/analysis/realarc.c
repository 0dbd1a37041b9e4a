/* The real 1D-ARC files as an external test of a run trained on the generated 1D-ARC mix. */
#include "analysis/realarc.h"
#include <string.h>

int run_real_arc(Run *r, const char *dir, RealReport *rep, Err *e) {
    memset(rep, 0, sizeof *rep);
    if (r->task.kind != TASK_ARC)
        return err_set(e, "the real 1D-ARC test needs a run on the arc task (this one is %s)", r->task.name);
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
