/* neurop reproduce: every method on every task over S seeds, trained, evaluated, summarized. */
#include "cli/commands.h"
#include "repro/reproduce.h"
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f) {
    fprintf(f, "usage: neurop reproduce [options]\n"
               "Trains and evaluates the four methods (direct, Meta-MLP, Meta-gMLP, Meta-GNN) on the three tasks\n"
               "(SUMFIRST-n, ADDMOD-p, 1D-ARC mixed) over S seeds and writes OUT/results.md, OUT/results.json,\n"
               "OUT/plots/ and one run folder per run (OUT/runs/TASK-METHOD-sSEED). Then two studies on SUMFIRST:\n"
               "the target's width x1..x8 for Meta-gMLP and Meta-GNN, and an ablation of Meta-GNN's parts\n"
               "(OUT/runs/scale-*, OUT/runs/ablate-*). Run it again after a stop: finished runs are skipped,\n"
               "a half-trained one resumes from its checkpoint.\n"
               "  --quick          reduced: 3 seeds, fewer steps and smaller batches (minutes; docs/reproduce.md)\n"
               "  --tiny           CI check: 1 seed, 20 steps per run; only checks that every file is produced\n"
               "  --seeds N        seeds 0..N-1 (default: full 10, quick 3, tiny 1)\n"
               "  --tasks LIST     comma-separated: sumfirst,addmod,arc (default all)\n"
               "  --methods LIST   comma-separated: direct,mlp,gmlp,gnn (default all)\n"
               "                   (--tasks and --methods choose the main table's runs, not the studies')\n"
               "  --studies LIST   comma-separated: scale,ablate (default both; seeds: min(3, N) in full mode,\n"
               "                   1 in quick and tiny)\n"
               "  --no-studies     the main table only\n"
               "  --out DIR        output folder (default results)\n"
               "  --jobs N         runs trained at once, in N worker processes of one OpenMP thread each\n"
               "                   (default 1: in this process, with OMP_NUM_THREADS threads)\n"
               "  --real DIR       the real 1D-ARC files (default data/1d-arc, or $NEUROP_DATA/1d-arc)\n"
               "  --no-real        skip the real 1D-ARC test\n"
               "  --no-plots       write the gnuplot scripts and data but do not run gnuplot\n"
               "  --verbose        also the trainer's log lines\n"
               "  --quiet          no progress output\n"
               "Ctrl-C stops after saving the current run's checkpoint and writes a partial report.\n");
}

int cmd_reproduce(int argc, char **argv) {
    static const struct option opts[] = {{"quick", no_argument, 0, 'q'},         {"tiny", no_argument, 0, 't'},
                                         {"seeds", required_argument, 0, 's'},   {"tasks", required_argument, 0, 'T'},
                                         {"methods", required_argument, 0, 'M'}, {"out", required_argument, 0, 'o'},
                                         {"jobs", required_argument, 0, 'j'},    {"real", required_argument, 0, 'r'},
                                         {"no-real", no_argument, 0, 'R'},       {"no-plots", no_argument, 0, 'P'},
                                         {"verbose", no_argument, 0, 'v'},       {"quiet", no_argument, 0, 'Q'},
                                         {"studies", required_argument, 0, 'S'}, {"no-studies", no_argument, 0, 'N'},
                                         {"help", no_argument, 0, 'h'},          {0, 0, 0, 0}};
    ReproOptions o = {.mode = REPRO_FULL, .jobs = 1, .verbose = 1};
    Err e = {{0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "qts:T:M:S:No:j:r:RPvQh", opts, NULL)) != -1) {
        char *end;
        switch (c) {
        case 'q': o.mode = REPRO_QUICK; break;
        case 't': o.mode = REPRO_TINY; break;
        case 's':
            o.seeds = (int)strtol(optarg, &end, 10);
            if (!*optarg || *end || o.seeds < 1 || o.seeds > 1000) {
                fprintf(stderr, "neurop reproduce: --seeds wants 1..1000, not '%s'\n", optarg);
                return 2;
            }
            break;
        case 'T':
            if (repro_parse_tasks(optarg, &o.tasks, &e)) goto bad;
            break;
        case 'M':
            if (repro_parse_methods(optarg, &o.methods, &e)) goto bad;
            break;
        case 'S':
            if (repro_parse_studies(optarg, &o.studies, &e)) goto bad;
            break;
        case 'N': o.no_studies = 1; break;
        case 'o': o.out = optarg; break;
        case 'j':
            o.jobs = (int)strtol(optarg, &end, 10);
            if (!*optarg || *end || o.jobs < 1 || o.jobs > 64) {
                fprintf(stderr, "neurop reproduce: --jobs wants 1..64, not '%s'\n", optarg);
                return 2;
            }
            break;
        case 'r': o.real_dir = optarg; break;
        case 'R': o.no_real = 1; break;
        case 'P': o.no_plots = 1; break;
        case 'v': o.verbose = 2; break;
        case 'Q': o.verbose = 0; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "neurop reproduce: unexpected argument '%s' (see --help)\n", argv[optind]);
        return 2;
    }
    char cmd[1024] = "neurop";
    for (int i = 0; i < argc; i++) {
        size_t n = strlen(cmd);
        snprintf(cmd + n, sizeof cmd - n, " %s", argv[i]);
    }
    o.command = cmd;
    ReproSummary s;
    int rc = reproduce(&o, &s, &e);
    if (rc < 0) {
        fprintf(stderr, "neurop reproduce: %s\n", e.msg);
        return 1;
    }
    if (s.failed)
        fprintf(stderr, "neurop reproduce: %d run%s stopped with an error (listed in results.md)\n", s.failed,
                s.failed == 1 ? "" : "s");
    return rc == 1 ? 130 : 0;
bad:
    fprintf(stderr, "neurop reproduce: %s\n", e.msg);
    return 2;
}
