/* neurop demo (make run): the whole idea on built-in defaults, in a few minutes on 2 cores.
 * Train Meta-GNN, evaluate it on seen and unseen intents, synthesize the program for an unseen
 * intent into a file, load that file back and run it on a few inputs. */
#include "cli/commands.h"
#include "program/progfile.h"
#include "train/train.h"
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static void usage(FILE *f) {
    fprintf(f, "usage: neurop demo [--task T] [--steps N] [--out DIR] [--seed S]\n"
               "  trains Meta-GNN on T (default sumfirst), prints IID and OOD exact match, synthesizes the\n"
               "  program for an unseen intent into DIR/program.safetensors and runs it on a few inputs.\n"
               "  A finished demo run in DIR is reused; delete DIR to train again.\n");
}

/* Runs the program file on k inputs of its intent drawn from the OOD split and prints them. */
static int show_program(const Run *run, const char *path, Intent u, int k, Err *e) {
    Program p;
    if (program_load(path, &p, e)) return -1;
    const Task *t = &run->task;
    Examples ex;
    int n = task_eval_set(t, u, task_is_ood(t, u) ? SPLIT_OOD : SPLIT_TEST, k, 7, &ex);
    Arena a;
    Graph g;
    arena_init(&a, 1 << 20);
    graph_init(&g, &a);
    g.no_grad = 1;
    Tensor *theta = tensor_wrap(&g, p.theta, NULL, SHAPE(1, (int)p.t.n_theta));
    Tensor *out = p.t.kind == TPL_MLP ? exec_mlp(&g, &p.t, theta, tensor_wrap(&g, ex.x, NULL, SHAPE(1, n, t->in_dim)))
                                      : exec_transformer(&g, &p.t, theta, ex.tok, 1, n);
    int per = task_pred_width(t), right = 0;
    printf("running %s (intent %s) on %d inputs it never saw:\n", path, p.intent, n);
    for (int i = 0; i < n; i++) {
        const float *pr = out->data + (long)i * per;
        int ok = task_correct(t, pr, &ex, i);
        right += ok;
        if (t->kind == TASK_SUMFIRST) {
            printf("  x = ");
            for (int j = 0; j < t->in_dim; j++) printf("%d", (int)ex.x[i * t->in_dim + j]);
            printf("   want %3.0f   program %7.3f  %s\n", ex.y[i], pr[0], ok ? "ok" : "WRONG");
        } else if (t->kind == TASK_ADDMOD) {
            int best = 0;
            for (int c = 1; c < t->n_classes; c++)
                if (pr[c] > pr[best]) best = c;
            printf("  %2d + %2d mod %d   want %2d   program %2d  %s\n", ex.tok[i * 3], ex.tok[i * 3 + 1], u.param,
                   ex.lab[i], best, ok ? "ok" : "WRONG");
        } else {
            printf("  in  ");
            for (int j = 0; j < t->seq_len && ex.lab[i * t->out_len + j] >= 0; j++)
                printf("%d", ex.tok[i * t->seq_len + j]);
            printf("\n  out ");
            for (int j = 0; j < t->seq_len && ex.lab[i * t->out_len + j] >= 0; j++) {
                int best = 0;
                for (int c = 1; c < t->n_classes; c++)
                    if (pr[j * t->n_classes + c] > pr[j * t->n_classes + best]) best = c;
                printf("%d", best);
            }
            printf("  %s\n", ok ? "ok" : "WRONG");
        }
    }
    printf("%d of %d right\n", right, n);
    graph_free(&g);
    arena_free(&a);
    examples_free(&ex);
    program_free(&p);
    return 0;
}

int cmd_demo(int argc, char **argv) {
    static const struct option opts[] = {{"task", required_argument, 0, 't'}, {"steps", required_argument, 0, 'n'},
                                         {"out", required_argument, 0, 'o'},  {"seed", required_argument, 0, 's'},
                                         {"help", no_argument, 0, 'h'},       {0, 0, 0, 0}};
    const char *task = "sumfirst", *steps = NULL, *out = NULL, *seed = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "t:n:o:s:h", opts, NULL)) != -1) {
        switch (c) {
        case 't': task = optarg; break;
        case 'n': steps = optarg; break;
        case 'o': out = optarg; break;
        case 's': seed = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "neurop demo: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    Err e = {{0}};
    TrainConfig cfg;
    char dir[512], kv[64];
    if (strstr(task, "demo")) {
        fprintf(stderr, "neurop demo: the demo synthesizes from intents; for arc-demo train with neurop train --task "
                        "arc-demo and solve tasks with neurop solve\n");
        return 2;
    }
    if (strstr(task, ".jsonl")) {
        fprintf(stderr,
                "neurop demo: the demo is for the built-in tasks; train a task file with neurop train --task %s\n",
                task);
        return 2;
    }
    if (config_defaults(task, METHOD_GNN, &cfg, &e)) {
        fprintf(stderr, "neurop demo: %s\n", e.msg);
        return 2;
    }
    if (seed) {
        snprintf(kv, sizeof kv, "seed=%s", seed);
        if (config_set(&cfg, kv, &e)) {
            fprintf(stderr, "neurop demo: %s\n", e.msg);
            return 2;
        }
    }
    if (steps) {
        snprintf(kv, sizeof kv, "steps=%s", steps);
        if (config_set(&cfg, kv, &e)) {
            fprintf(stderr, "neurop demo: %s\n", e.msg);
            return 2;
        }
        config_set_steps(&cfg, cfg.steps, 10);
    }
    if (out && strlen(out) >= sizeof dir) {
        fprintf(stderr, "neurop demo: --out has %zu characters, at most %zu\n", strlen(out), sizeof dir - 1);
        return 2;
    }
    if (out) snprintf(dir, sizeof dir, "%s", out);
    else {
        mkdir("runs", 0755);
        snprintf(dir, sizeof dir, "runs/demo-%.64s", cfg.task);
    }

    Run run;
    if (run_init(&run, &cfg, &e)) {
        fprintf(stderr, "neurop demo: %s\n", e.msg);
        return 1;
    }
    printf("== neurop demo: Meta-GNN on %s ==\n", run.task.name);
    printf("A hypernetwork reads an intent and writes every weight of %s with %ld weights in one forward pass.\n",
           run.tpl.kind == TPL_MLP ? "an MLP" : "a Transformer", run.tpl.n_theta);
    printf("It trains on %d intents; %d intents are held out and only used for the OOD test.\n\n", run.task.n_train,
           run.task.n_ood);

    char last[600];
    snprintf(last, sizeof last, "%s/last.safetensors", dir);
    struct stat st;
    int resume = !stat(last, &st);
    if (resume) { /* finished: reuse; stopped half way: continue */
        Run prev;
        if (run_open(&prev, dir, "last", &e)) {
            fprintf(stderr, "neurop demo: %s (delete %s to start over)\n", e.msg, dir);
            run_free(&run);
            return 1;
        }
        int done = prev.step >= cfg.steps;
        run_free(&prev);
        if (done) printf("%s holds a finished demo run: reusing it (delete the folder to train again)\n", dir);
        resume = done ? 2 : 1;
    }
    if (resume != 2) {
        printf("training %s for %ld steps (%d intents x %d examples per step) into %s ...\n", method_name(cfg.method),
               cfg.steps, cfg.B, cfg.N, dir);
        /* no checkpoint there: nothing of a run to continue, so starting over loses nothing */
        TrainOptions o = {.dir = dir, .resume = resume, .force = !resume, .steps = cfg.steps, .verbose = 1};
        int rc = run_train(&run, &o, &e);
        if (rc < 0) {
            fprintf(stderr, "neurop demo: %s\n", e.msg);
            run_free(&run);
            return 1;
        }
        if (rc == 1) {
            printf("interrupted; `make run` continues where it stopped\n");
            run_free(&run);
            return 130;
        }
    }
    run_free(&run);

    if (run_open(&run, dir, "best", &e)) {
        fprintf(stderr, "neurop demo: %s\n", e.msg);
        return 1;
    }
    EvalReport rep;
    run_evaluate(&run, SPLIT_TEST, 1, &rep);
    printf("\nexact match (checkpoint chosen on IID validation, step %ld):\n", run.step);
    for (int i = 0; i < rep.n; i++) {
        if (rep.items[i].split != SPLIT_OOD) continue;
        char nm[64];
        task_intent_format(&run.task, rep.items[i].u, nm, sizeof nm);
        printf("  unseen intent %-10s %.3f\n", nm, rep.items[i].n ? (double)rep.items[i].correct / rep.items[i].n : 0);
    }
    printf("  IID (seen intents, new inputs): %.3f\n  OOD (unseen intents):           %.3f\n\n", rep.iid, rep.ood);
    eval_report_free(&rep);

    Intent u = run.task.ood[run.task.n_ood - 1];
    char prog[600], nm[64];
    snprintf(prog, sizeof prog, "%s/program.safetensors", dir);
    task_intent_format(&run.task, u, nm, sizeof nm);
    float *theta = xmalloc(run.tpl.n_theta * sizeof(float));
    run_synth(&run, u, theta);
    int rc = program_save(prog, &run.tpl, theta, nm, &e);
    free(theta);
    if (!rc) {
        printf("synthesized the program for the unseen intent %s into %s\n", nm, prog);
        rc = show_program(&run, prog, u, 8, &e);
    }
    if (rc) fprintf(stderr, "neurop demo: %s\n", e.msg);
    else printf("\nnext: neurop exec %s   |   neurop eval %s   |   neurop info %s\n", prog, dir, dir);
    run_free(&run);
    return rc ? 1 : 0;
}
