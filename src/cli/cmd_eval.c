/* neurop eval RUN: IID and OOD exact match, overall and per intent (and the real 1D-ARC test). */
#include "cli/commands.h"
#include "train/train.h"
#include <getopt.h>
#include <stdio.h>
#include <string.h>

static void usage(FILE *f) {
    fprintf(f,
            "usage: neurop eval RUN [options]\n"
            "  --which best|last  checkpoint to evaluate (default best: chosen on IID validation)\n"
            "  --split test|val   IID split for the train intents (default test)\n"
            "  --real DIR         also the real 1D-ARC files below DIR (arc runs; default: the data/1d-arc that\n"
            "                     ships with neurop, or $NEUROP_DATA/1d-arc)\n"
            "  --no-real          skip the real 1D-ARC test\n"
            "  --json FILE        write every number as JSON\n");
}

static void json_escape(FILE *f, const char *s) {
    fputc('"', f);
    for (; *s; s++) { if (*s == '"' || *s == '\\') fputc('\\', f); fputc(*s, f); }
    fputc('"', f);
}

int cmd_eval(int argc, char **argv) {
    static const struct option opts[] = {{"which", required_argument, 0, 'w'}, {"split", required_argument, 0, 's'},
                                         {"real", required_argument, 0, 'r'}, {"no-real", no_argument, 0, 'R'},
                                         {"json", required_argument, 0, 'j'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    const char *which = "best", *json = NULL, *real = NULL;
    Split split = SPLIT_TEST;
    int no_real = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "w:s:r:Rj:h", opts, NULL)) != -1) {
        switch (c) {
        case 'w':
            if (strcmp(optarg, "best") && strcmp(optarg, "last")) { fprintf(stderr, "neurop eval: --which is best or last, not '%s'\n", optarg); return 2; }
            which = optarg; break;
        case 's':
            if (!strcmp(optarg, "test")) split = SPLIT_TEST;
            else if (!strcmp(optarg, "val")) split = SPLIT_VAL;
            else { fprintf(stderr, "neurop eval: --split is test or val, not '%s'\n", optarg); return 2; }
            break;
        case 'r': real = optarg; break;
        case 'R': no_real = 1; break;
        case 'j': json = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind != argc - 1) { fprintf(stderr, "neurop eval: want exactly one run folder (see --help)\n"); return 2; }
    const char *dir = argv[optind];
    Err e = {{0}};
    Run run;
    if (run_open(&run, dir, which, &e)) { fprintf(stderr, "neurop eval: %s\n", e.msg); return 1; }
    EvalReport rep;
    run_evaluate(&run, split, 1, &rep);
    printf("%s on %s, seed %lu, %s checkpoint (step %ld)\n", method_name(run.cfg.method), run.task.name, run.cfg.seed, which, run.step);
    printf("%-16s %-6s %6s %8s\n", "intent", "split", "n", "exact");
    for (int i = 0; i < rep.n; i++) {
        char nm[64];
        task_intent_format(&run.task, rep.items[i].u, nm, sizeof nm);
        printf("%-16s %-6s %6d %8.4f\n", nm, split_name(rep.items[i].split), rep.items[i].n,
               rep.items[i].n ? (double)rep.items[i].correct / rep.items[i].n : 0.0);
    }
    printf("IID (%s, mean over %d intents): %.4f\nOOD (mean over %d intents): %.4f\n", split_name(split), rep.n_iid, rep.iid, rep.n_ood, rep.ood);

    RealReport rr = {0};
    char found[1024];
    int have_real = 0;
    if (run.task.kind == TASK_ARC && !no_real && !real) {
        if (data_dir("1d-arc", found, sizeof found, &e)) {
            fprintf(stderr, "neurop eval: the real 1D-ARC test: %s; or give --real DIR or --no-real\n", e.msg);
            run_free(&run);
            return 1;
        }
        real = found;
    }
    if (run.task.kind == TASK_ARC && !no_real) {
        if (run_real_arc(&run, real, &rr, &e)) { fprintf(stderr, "neurop eval: %s\n", e.msg); run_free(&run); return 1; }
        have_real = 1;
        printf("\nreal 1D-ARC (%s): pairs solved by the program synthesized for the family's intent\n", real);
        for (int k = 0; k < rr.n; k++) {
            char nm[64];
            task_intent_format(&run.task, rr.fam[k].u, nm, sizeof nm);
            printf("%-18s %-12s %4d %8.4f\n", rr.fam[k].family, nm, rr.fam[k].n, rr.fam[k].n ? (double)rr.fam[k].correct / rr.fam[k].n : 0.0);
        }
    }
    if (json) {
        FILE *f = fopen(json, "w");
        if (!f) { fprintf(stderr, "neurop eval: cannot write %s\n", json); run_free(&run); return 1; }
        fprintf(f, "{\"task\": \"%s\", \"method\": \"%s\", \"seed\": %lu, \"checkpoint\": \"%s\", \"step\": %ld, \"iid_split\": \"%s\",\n",
                run.task.name, method_id(run.cfg.method), run.cfg.seed, which, run.step, split_name(split));
        fprintf(f, " \"iid\": %.6f, \"ood\": %.6f, \"params\": %ld, \"train_seconds\": %.2f,\n \"intents\": [", rep.iid, rep.ood, run.m.ps.n, run.train_seconds);
        for (int i = 0; i < rep.n; i++) {
            char nm[64];
            task_intent_format(&run.task, rep.items[i].u, nm, sizeof nm);
            fprintf(f, "%s\n  {\"intent\": ", i ? "," : "");
            json_escape(f, nm);
            fprintf(f, ", \"split\": \"%s\", \"n\": %d, \"correct\": %d}", split_name(rep.items[i].split), rep.items[i].n, rep.items[i].correct);
        }
        fprintf(f, "]");
        if (have_real) {
            fprintf(f, ",\n \"real_1d_arc\": [");
            for (int k = 0; k < rr.n; k++)
                fprintf(f, "%s\n  {\"family\": \"%s\", \"n\": %d, \"correct\": %d}", k ? "," : "", rr.fam[k].family, rr.fam[k].n, rr.fam[k].correct);
            fprintf(f, "]");
        }
        fprintf(f, "}\n");
        if (fclose(f)) { fprintf(stderr, "neurop eval: write error on %s\n", json); run_free(&run); return 1; }
    }
    run_free(&run);
    return 0;
}
