/* neurop: synthesize programs as neural network weights. Dispatches to one command. */
#include "cli/commands.h"
#include "engine/cpu.h"
#include "train/dist.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const struct {
    const char *name;
    int (*fn)(int, char **);
    const char *help;
} commands[] = {
    {"train", cmd_train, "train a method (direct, mlp, gmlp, gnn) on a task"},
    {"eval", cmd_eval, "IID and OOD exact match of a run, per intent"},
    {"synth", cmd_synth, "synthesize the program for an intent (one forward pass) into a file"},
    {"solve", cmd_solve, "an ARC task (or a folder of them): the program made from its examples, run on its test"},
    {"clock", cmd_clock, "ADDMOD clock: PCA of the embeddings an addmod run generates; PC1 across primes vs 1/p"},
    {"info", cmd_info, "a run's template, parameter counts and FLOPs per step"},
    {"demo", cmd_demo, "the main job (make run): train Meta-GNN, evaluate, synthesize an unseen program, run it"},
    {"data", cmd_data, "print samples of a task (SUMFIRST, ADDMOD, 1D-ARC)"},
    {"graph", cmd_graph, "the neural graph of a template: groups, counts, symmetries (--dot, --json)"},
    {"exec", cmd_exec, "run a program file on inputs from a file or stdin"},
    {"reproduce", cmd_reproduce,
     "train and evaluate every method on every task over seeds; write results/ (--quick, --tiny)"},
};

static void usage(FILE *f) {
    fprintf(f, "usage: neurop COMMAND [options]   (neurop COMMAND --help for its options)\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].help);
}

static int dispatch(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        if (!strcmp(argv[1], commands[i].name)) return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "neurop: unknown command '%s' (try neurop --help)\n", argv[1]);
    return 2;
}

/* Before the initializers of the statically linked libgomp and OpenBLAS (priority constructors run
 * first), so that they start with neurop's environment and neurop need not restart (engine/cpu.h). */
__attribute__((constructor(101))) static void early_env(void) { cpu_early_env(); }

int main(int argc, char **argv) {
    cpu_setup(argv);         /* OpenMP wait policy, the BLAS kernel for this CPU, flush-to-zero (engine/cpu.h) */
    dist_init(&argc, &argv); /* under mpirun: this process is one rank of the job (train/dist.h) */
    int rc = dispatch(argc, argv);
    /* a rank that stops with an error may leave others waiting on it: stop the job, never hang */
    if (rc) dist_abort(rc);
    dist_finalize();
    return 0;
}
