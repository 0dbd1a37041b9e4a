/* neurop train: fit one method on one task. */
#include "cli/commands.h"
#include "train/train.h"
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void usage(FILE *f) {
    fprintf(f,
            "usage: neurop train --task T --method M [options]\n"
            "  --task T        sumfirst | addmod | arc | PATH.jsonl (your own task: docs/tasks.md)\n"
            "  --method M      direct | mlp | gmlp | gnn\n"
            "  --seed S        seed of the initialization and the data stream (default 0)\n"
            "  --steps N       optimizer steps (default: per task and method, see docs/defaults.md)\n"
            "  --out DIR       run folder (default runs/TASK-METHOD-sSEED)\n"
            "  --resume        continue the run in DIR from its last checkpoint\n"
            "  --set KEY=VAL   override any setting (repeatable): width rounds mixer tie pe B N lr wd ...\n"
            "  --quiet         no progress output\n"
            "Ctrl-C saves a checkpoint and stops; --resume continues exactly where it stopped.\n");
}

int cmd_train(int argc, char **argv) {
    static const struct option opts[] = {
        {"task", required_argument, 0, 't'}, {"method", required_argument, 0, 'm'}, {"seed", required_argument, 0, 's'},
        {"steps", required_argument, 0, 'n'}, {"out", required_argument, 0, 'o'}, {"resume", no_argument, 0, 'r'},
        {"set", required_argument, 0, 'S'}, {"quiet", no_argument, 0, 'q'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    const char *task = NULL, *method = NULL, *seed = NULL, *steps = NULL, *out = NULL;
    const char *sets[64];
    int nsets = 0, resume = 0, quiet = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "t:m:s:n:o:rS:qh", opts, NULL)) != -1) {
        switch (c) {
        case 't': task = optarg; break;
        case 'm': method = optarg; break;
        case 's': seed = optarg; break;
        case 'n': steps = optarg; break;
        case 'o': out = optarg; break;
        case 'r': resume = 1; break;
        case 'S': if (nsets < 64) sets[nsets++] = optarg; break;
        case 'q': quiet = 1; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc) { fprintf(stderr, "neurop train: unexpected argument '%s'\n", argv[optind]); return 2; }
    Err e = {{0}};
    TrainConfig cfg;
    Run run;
    char dir[512], kv[300];
    if (resume && out && !task) {   /* resuming needs only the folder: its checkpoint holds the config */
        TrainOptions o = {.dir = out, .resume = 1, .verbose = !quiet};
        memset(&run, 0, sizeof run);
        if (steps) { run.cfg.steps = strtol(steps, NULL, 10); }
        int rc = run_train(&run, &o, &e);
        if (rc < 0) { fprintf(stderr, "neurop train: %s\n", e.msg); run_free(&run); return 1; }
        run_free(&run);
        return rc == 1 ? 130 : 0;
    }
    if (!task || !method) { fprintf(stderr, "neurop train: --task and --method are required (see --help)\n"); return 2; }
    MethodKind mk;
    if (method_parse(method, &mk, &e) || config_defaults(task, mk, &cfg, &e)) { fprintf(stderr, "neurop train: %s\n", e.msg); return 2; }
    if (seed) { snprintf(kv, sizeof kv, "seed=%s", seed); if (config_set(&cfg, kv, &e)) goto bad; }
    if (steps) {
        snprintf(kv, sizeof kv, "steps=%s", steps);
        if (config_set(&cfg, kv, &e)) goto bad;
        config_set_steps(&cfg, cfg.steps, 10);
    }
    for (int i = 0; i < nsets; i++) if (config_set(&cfg, sets[i], &e)) goto bad;
    if (run_init(&run, &cfg, &e)) goto bad;
    if (out) snprintf(dir, sizeof dir, "%s", out);
    else snprintf(dir, sizeof dir, "runs/%s-%s-s%lu", run.task.name, method_id(cfg.method), cfg.seed);
    if (!out) mkdir("runs", 0755);   /* default folders live under runs/ */
    TrainOptions o = {.dir = dir, .resume = resume, .verbose = !quiet};
    int rc = run_train(&run, &o, &e);
    if (rc < 0) { fprintf(stderr, "neurop train: %s\n", e.msg); run_free(&run); return 1; }
    if (!quiet) fprintf(stderr, "%s: best IID-validation accuracy %.4f at step %ld; run folder %s\n",
                        rc == 1 ? "interrupted" : "done", run.best_val, run.best_step, dir);
    run_free(&run);
    return rc == 1 ? 130 : 0;
bad:
    fprintf(stderr, "neurop train: %s\n", e.msg);
    return 2;
}
