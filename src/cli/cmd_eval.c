/* neurop eval RUN: IID and OOD exact match, overall and per intent (and the real 1D-ARC test). */
#include "analysis/realarc.h"
#include "cli/commands.h"
#include "io/fileio.h"
#include "train/train.h"
#include <cJSON.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

static void usage(FILE *f) {
    fprintf(f, "usage: neurop eval RUN [options]\n"
               "  --which best|last  checkpoint to evaluate (default best: chosen on IID validation)\n"
               "  --split test|val   IID split for the train intents (default test)\n"
               "  --real DIR         also the real 1D-ARC files below DIR (arc and arc-demo runs; default: the "
               "data/1d-arc that\n"
               "                     ships with neurop, or $NEUROP_DATA/1d-arc)\n"
               "  --no-real          skip the real 1D-ARC test\n"
               "  --json FILE        write every number as JSON\n");
}

int cmd_eval(int argc, char **argv) {
    static const struct option opts[] = {{"which", required_argument, 0, 'w'},
                                         {"split", required_argument, 0, 's'},
                                         {"real", required_argument, 0, 'r'},
                                         {"no-real", no_argument, 0, 'R'},
                                         {"json", required_argument, 0, 'j'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *which = "best", *json = NULL, *real = NULL;
    Split split = SPLIT_TEST;
    int no_real = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "w:s:r:Rj:h", opts, NULL)) != -1) {
        switch (c) {
        case 'w':
            if (strcmp(optarg, "best") && strcmp(optarg, "last")) {
                fprintf(stderr, "neurop eval: --which is best or last, not '%s'\n", optarg);
                return 2;
            }
            which = optarg;
            break;
        case 's':
            if (!strcmp(optarg, "test")) split = SPLIT_TEST;
            else if (!strcmp(optarg, "val")) split = SPLIT_VAL;
            else {
                fprintf(stderr, "neurop eval: --split is test or val, not '%s'\n", optarg);
                return 2;
            }
            break;
        case 'r': real = optarg; break;
        case 'R': no_real = 1; break;
        case 'j': json = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "neurop eval: want exactly one run folder (see --help)\n");
        return 2;
    }
    const char *dir = argv[optind];
    Err e = {{0}};
    Run run;
    if (run_open(&run, dir, which, &e)) {
        fprintf(stderr, "neurop eval: %s\n", e.msg);
        return 1;
    }
    EvalReport rep;
    run_evaluate(&run, split, 1, &rep);
    printf("%s on %s, seed %lu, %s checkpoint (step %ld)\n", method_name(run.cfg.method), task_label(&run.task),
           run.cfg.seed, which, run.step);
    printf("%-16s %-6s %6s %8s\n", "intent", "split", "n", "exact");
    for (int i = 0; i < rep.n; i++) {
        char nm[64];
        task_intent_format(&run.task, rep.items[i].u, nm, sizeof nm);
        printf("%-16s %-6s %6d %8.4f\n", nm, rep.items[i].held ? "held" : split_name(rep.items[i].split),
               rep.items[i].n, rep.items[i].n ? (double)rep.items[i].correct / rep.items[i].n : 0.0);
    }
    printf("IID (%s, mean over %d intents): %.4f\nIID (%s, pooled over all examples): %.4f\n", split_name(split),
           rep.n_iid, rep.iid, split_name(split), rep.iid_pooled);
    if (rep.n_ood) printf("OOD (mean over %d intents): %.4f\n", rep.n_ood, rep.ood);
    else printf("OOD: none (%s holds no intent out)\n", task_label(&run.task));
    if (rep.n_held)
        printf("held (%s, mean over the %d train intents kept out of training, hold=%d): %.4f\n", split_name(split),
               rep.n_held, run.cfg.hold, rep.held);
    if (rep.n_ood_ordinal && rep.n_ood_ordinal < rep.n_ood)
        printf("OOD (mean over the %d ordinal intents, no unseen category): %.4f\n", rep.n_ood_ordinal,
               rep.ood_ordinal);

    RealReport rr = {0};
    char found[1024];
    int have_real = 0;
    if ((run.task.kind == TASK_ARC || run.task.kind == TASK_ARC_DEMO) && !no_real && !real) {
        if (data_dir("1d-arc", found, sizeof found, &e)) {
            fprintf(stderr, "neurop eval: the real 1D-ARC test: %s; or give --real DIR or --no-real\n", e.msg);
            run_free(&run);
            return 1;
        }
        real = found;
    }
    if ((run.task.kind == TASK_ARC || run.task.kind == TASK_ARC_DEMO) && !no_real) {
        if (run_real_arc(&run, real, &rr, &e)) {
            fprintf(stderr, "neurop eval: %s\n", e.msg);
            run_free(&run);
            return 1;
        }
        have_real = 1;
        if (run.task.kind == TASK_ARC_DEMO)
            printf("\nreal 1D-ARC (%s): test pairs solved by the program synthesized from each task's examples\n",
                   real);
        else printf("\nreal 1D-ARC (%s): pairs solved by the program synthesized for the family's intent\n", real);
        for (int k = 0; k < rr.n; k++) {
            char nm[64];
            task_intent_format(&run.task, rr.fam[k].u, nm, sizeof nm);
            if (run.task.kind == TASK_ARC_DEMO) nm[0] = 0; /* the family is the intent */
            printf("%-18s %-12s %4d %8.4f\n", rr.fam[k].family, nm, rr.fam[k].n,
                   rr.fam[k].n ? (double)rr.fam[k].correct / rr.fam[k].n : 0.0);
        }
    }
    if (json) { /* written atomically, like every file of neurop; cJSON escapes every string */
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "task", task_label(&run.task));
        cJSON_AddStringToObject(o, "method", method_id(run.cfg.method));
        cJSON_AddNumberToObject(o, "seed", (double)run.cfg.seed);
        cJSON_AddStringToObject(o, "checkpoint", which);
        cJSON_AddNumberToObject(o, "step", (double)run.step);
        cJSON_AddStringToObject(o, "iid_split", split_name(split));
        cJSON_AddNumberToObject(o, "iid", rep.iid);
        if (rep.n_ood) cJSON_AddNumberToObject(o, "ood", rep.ood);
        else cJSON_AddNullToObject(o, "ood"); /* the task holds no intent out */
        cJSON_AddNumberToObject(o, "iid_pooled", rep.iid_pooled);
        if (rep.n_ood_ordinal) cJSON_AddNumberToObject(o, "ood_ordinal", rep.ood_ordinal);
        if (rep.n_held) cJSON_AddNumberToObject(o, "held", rep.held);
        cJSON_AddNumberToObject(o, "params", (double)run.m.ps.n);
        cJSON_AddNumberToObject(o, "train_seconds", run.train_seconds);
        cJSON *arr = cJSON_AddArrayToObject(o, "intents");
        for (int i = 0; i < rep.n; i++) {
            char nm[64];
            task_intent_format(&run.task, rep.items[i].u, nm, sizeof nm);
            cJSON *it = cJSON_CreateObject();
            cJSON_AddStringToObject(it, "intent", nm);
            cJSON_AddStringToObject(it, "split", split_name(rep.items[i].split));
            cJSON_AddNumberToObject(it, "n", rep.items[i].n);
            cJSON_AddNumberToObject(it, "correct", rep.items[i].correct);
            if (rep.items[i].held) cJSON_AddTrueToObject(it, "held");
            cJSON_AddItemToArray(arr, it);
        }
        if (have_real) {
            cJSON *ra = cJSON_AddArrayToObject(o, "real_1d_arc");
            for (int k = 0; k < rr.n; k++) {
                cJSON *it = cJSON_CreateObject();
                cJSON_AddStringToObject(it, "family", rr.fam[k].family);
                cJSON_AddNumberToObject(it, "n", rr.fam[k].n);
                cJSON_AddNumberToObject(it, "correct", rr.fam[k].correct);
                cJSON_AddItemToArray(ra, it);
            }
        }
        int rc = json_write(json, o, &e);
        cJSON_Delete(o);
        if (rc) {
            fprintf(stderr, "neurop eval: %s\n", e.msg);
            eval_report_free(&rep);
            run_free(&run);
            return 1;
        }
    }
    eval_report_free(&rep);
    run_free(&run);
    return 0;
}
