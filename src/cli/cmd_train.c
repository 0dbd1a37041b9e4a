/* neurop train: fit one method on one task. */
#include "cli/commands.h"
#include "train/dist.h"
#include "train/train.h"
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void usage(FILE *f) {
    fprintf(f, "usage: neurop train --task T --method M [options]\n"
               "  --task T        sumfirst | addmod | arc | arc-demo | arc-demo-all | PATH.jsonl (your own task: "
               "docs/tasks.md)\n"
               "  --method M      direct | mlp | gmlp | gnn\n"
               "  --seed S        seed of the initialization and the data stream (default 0)\n"
               "  --steps N       optimizer steps (default: per task and method, see docs/defaults.md)\n"
               "  --out DIR       run folder (default runs/TASK-METHOD-sSEED)\n"
               "  --resume        continue the run in DIR from its last checkpoint (--steps N extends it to N)\n"
               "  --force         delete the run DIR holds and start over (without it, a used DIR is refused)\n"
               "  --set KEY=VAL   override any setting (repeatable): width rounds mixer tie pe B N lr wd ...\n"
               "  --quiet         no progress output\n"
               "Ctrl-C saves a checkpoint and stops; --resume continues exactly where it stopped.\n");
}

/* "key=value" in a fresh buffer (a fixed one would cut a long value into another valid one). */
static int set_kv(TrainConfig *c, const char *key, const char *v, Err *e) {
    size_t n = strlen(key) + strlen(v) + 2;
    char *kv = xmalloc(n);
    snprintf(kv, n, "%s=%s", key, v);
    int rc = config_set(c, kv, e);
    free(kv);
    return rc;
}

int cmd_train(int argc, char **argv) {
    static const struct option opts[] = {{"task", required_argument, 0, 't'},
                                         {"method", required_argument, 0, 'm'},
                                         {"seed", required_argument, 0, 's'},
                                         {"steps", required_argument, 0, 'n'},
                                         {"out", required_argument, 0, 'o'},
                                         {"resume", no_argument, 0, 'r'},
                                         {"force", no_argument, 0, 'f'},
                                         {"set", required_argument, 0, 'S'},
                                         {"quiet", no_argument, 0, 'q'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *task = NULL, *method = NULL, *seed = NULL, *steps = NULL, *out = NULL;
    const char **sets = xcalloc(argc, sizeof *sets); /* every --set, however many */
    int nsets = 0, resume = 0, force = 0, quiet = 0, c, rc = 2;
    char *dir = NULL;
    Err e = {{0}};
    TrainConfig cfg;
    Run run;
    memset(&run, 0, sizeof run);
    optind = 1;
    while ((c = getopt_long(argc, argv, "t:m:s:n:o:rfS:qh", opts, NULL)) != -1) {
        switch (c) {
        case 't': task = optarg; break;
        case 'm': method = optarg; break;
        case 's': seed = optarg; break;
        case 'n': steps = optarg; break;
        case 'o': out = optarg; break;
        case 'r': resume = 1; break;
        case 'f': force = 1; break;
        case 'S': sets[nsets++] = optarg; break;
        case 'q': quiet = 1; break;
        case 'h':
            usage(stdout);
            free(sets);
            return 0;
        default:
            usage(stderr);
            free(sets);
            return 2;
        }
    }
    if (dist_rank() > 0) quiet = 1; /* under mpirun rank 0 speaks for the job */
    if (optind < argc) {
        fprintf(stderr, "neurop train: unexpected argument '%s'\n", argv[optind]);
        free(sets);
        return 2;
    }
    if (resume && force) {
        fprintf(stderr, "neurop train: --resume continues a run and --force starts it over: give one\n");
        free(sets);
        return 2;
    }
    long want_steps = 0; /* --steps as given (0: not given) */
    if (steps) {
        TrainConfig tmp;
        memset(&tmp, 0, sizeof tmp);
        if (set_kv(&tmp, "steps", steps, &e)) goto bad;
        want_steps = tmp.steps;
    }
    if (resume && out && !task && !method && !seed && !nsets) {
        /* resuming needs only the folder: its checkpoint holds the config */
        dir = xmalloc(strlen(out) + 1);
        strcpy(dir, out);
    } else {
        if (!task || !method) {
            fprintf(stderr, "neurop train: --task and --method are required (see --help)\n");
            free(sets);
            return 2;
        }
        MethodKind mk;
        if (method_parse(method, &mk, &e) || config_defaults(task, mk, &cfg, &e)) goto bad;
        if (seed && set_kv(&cfg, "seed", seed, &e)) goto bad;
        if (steps) config_set_steps(&cfg, want_steps, 10);
        for (int i = 0; i < nsets; i++)
            if (config_set(&cfg, sets[i], &e)) goto bad;
        if (run_init(&run, &cfg, &e)) goto bad; /* with --resume: the run the folder must hold */
        if (out) {
            dir = xmalloc(strlen(out) + 1);
            strcpy(dir, out);
        } else {                 /* the task's name, not cfg.task: for a task file that is its path */
            mkdir("runs", 0755); /* default folders live under runs/ */
            size_t n = strlen(task_label(&run.task)) + 64;
            dir = xmalloc(n);
            snprintf(dir, n, "runs/%s-%s-s%lu", task_label(&run.task), method_id(cfg.method), cfg.seed);
        }
    }
    TrainOptions o = {.dir = dir, .resume = resume, .force = force, .steps = want_steps, .verbose = !quiet};
    int trc = run_train(&run, &o, &e);
    if (trc < 0) {
        fprintf(stderr, "neurop train: %s\n", e.msg);
        rc = 1;
    } else if (trc == 1) {
        rc = 130;
        if (!quiet) {
            if (run.best_step < 0) fprintf(stderr, "interrupted at step %ld, before the first evaluation", run.step);
            else
                fprintf(stderr, "interrupted at step %ld: best IID-validation accuracy %.4f at step %ld", run.step,
                        run.best_val, run.best_step);
            fprintf(stderr, "; `neurop train --resume --out %s` continues\n", dir);
        }
        /* every rank stopped at the same step (the stop is agreed in the step's reduction), and a
         * rank's exit code 130 aborts the job (main.c): wait here until rank 0 has saved and said so */
        dist_barrier();
    } else {
        rc = 0;
        if (!quiet)
            fprintf(stderr, "done: best IID-validation accuracy %.4f at step %ld; run folder %s\n", run.best_val,
                    run.best_step, dir);
    }
    run_free(&run);
    free(dir);
    free(sets);
    return rc;
bad:
    fprintf(stderr, "neurop train: %s\n", e.msg);
    run_free(&run);
    free(dir);
    free(sets);
    return 2;
}
