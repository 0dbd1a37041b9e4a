/* neurop synth RUN --intent I -o PROGRAM: one forward pass of the meta-learner writes a program. */
#include "cli/commands.h"
#include "program/progfile.h"
#include "train/train.h"
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static void usage(FILE *f) {
    fprintf(f, "usage: neurop synth RUN --intent I -o PROGRAM.safetensors [--which best|last]\n"
               "  --intent I   e.g. n=4 (sumfirst), p=83 (addmod), move:k=3 or flip (arc)\n"
               "  -o FILE      the program: the template's tensors, with template and intent in __metadata__\n"
               "The program runs with `neurop exec FILE`, or in PyTorch via safetensors.\n");
}

int cmd_synth(int argc, char **argv) {
    static const struct option opts[] = {{"intent", required_argument, 0, 'i'},
                                         {"out", required_argument, 0, 'o'},
                                         {"which", required_argument, 0, 'w'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *intent = NULL, *out = NULL, *which = "best";
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "i:o:w:h", opts, NULL)) != -1) {
        switch (c) {
        case 'i': intent = optarg; break;
        case 'o': out = optarg; break;
        case 'w':
            if (strcmp(optarg, "best") && strcmp(optarg, "last")) {
                fprintf(stderr, "neurop synth: --which is best or last, not '%s'\n", optarg);
                return 2;
            }
            which = optarg;
            break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind != argc - 1 || !intent || !out) {
        fprintf(stderr, "neurop synth: want RUN, --intent and -o (see --help)\n");
        return 2;
    }
    Err e = {{0}};
    Run run;
    if (run_open(&run, argv[optind], which, &e)) {
        fprintf(stderr, "neurop synth: %s\n", e.msg);
        return 1;
    }
    if (run.cfg.method == METHOD_DIRECT) {
        fprintf(stderr, "neurop synth: this run is the direct baseline, which generates no weights\n");
        run_free(&run);
        return 1;
    }
    if (run.task.demo_pairs) {
        fprintf(stderr,
                "neurop synth: an %s run makes a program from a task's examples, not from an intent: use "
                "neurop solve RUN TASK.json -o PROGRAM\n",
                run.task.name);
        run_free(&run);
        return 1;
    }
    /* -o may overwrite a program, never anything else (a checkpoint given by mistake) */
    struct stat st;
    Program old;
    Err oe;
    if (!stat(out, &st) && S_ISREG(st.st_mode)) { /* a device (/dev/null) or a pipe is no file to protect */
        if (program_load(out, &old, &oe)) {
            fprintf(stderr,
                    "neurop synth: %s exists and is not a neurop program; not overwriting it (remove it, or choose "
                    "another -o)\n",
                    out);
            run_free(&run);
            return 1;
        }
        program_free(&old);
    }
    Intent u;
    if (task_intent_parse(&run.task, intent, &u, &e)) {
        fprintf(stderr, "neurop synth: %s\n", e.msg);
        run_free(&run);
        return 2;
    }
    float *theta = xmalloc(run.tpl.n_theta * sizeof(float));
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    run_synth(&run, u, theta);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    char canon[256];
    task_intent_format(&run.task, u, canon, sizeof canon);
    int rc = program_save(out, &run.tpl, theta, canon, &e);
    if (rc) fprintf(stderr, "neurop synth: %s\n", e.msg);
    else
        printf("synthesized %s for intent %s%s: %ld weights in %.2f ms (one forward pass of %s); wrote %s\n",
               run.tpl.kind == TPL_MLP ? "an MLP" : "a Transformer", canon,
               task_is_ood(&run.task, u) ? " (never seen in training)" : "", run.tpl.n_theta,
               1e3 * ((t1.tv_sec - t0.tv_sec) + 1e-9 * (t1.tv_nsec - t0.tv_nsec)), method_name(run.cfg.method), out);
    free(theta);
    run_free(&run);
    return rc ? 1 : 0;
}
