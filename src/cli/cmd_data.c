/* neurop data: print samples of a task so a user sees what it is. Without colour the output is
 * what `neurop exec` reads: one input per line (ADDMOD with '=' as id 100, 1D-ARC rows padded to
 * the template's length), everything else after a '#'. 1D-ARC rows are drawn as coloured cells
 * (ARC palette, 24-bit ANSI background colours) on a terminal instead. */
#include "cli/commands.h"
#include "tasks/task.h"
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_N 10000

static void usage(FILE *f) {
    fprintf(f,
            "usage: neurop data TASK [--split train|val|test|ood] [--intent I] [--n N] [--seed S]\n"
            "                        [--color auto|always|never]\n"
            "Prints N samples (default 4) of TASK (sumfirst, addmod, arc, arc-demo, or a task file PATH.jsonl)\n"
            "per intent: one input per line as `neurop exec` reads it, the expected output after a '#'\n"
            "(uncoloured; 1D-ARC inputs are padded with background to the template's 33 cells, '.' marks\n"
            "output cells not scored). arc-demo: N tasks, each its three examples and its test pair.\n"
            "  --split S    train (default), val, test (IID splits, train intents) or ood (OOD intents)\n"
            "  --intent I   one intent: sumfirst n=4, addmod p=83, arc move:k=3, recolor:c=5, flip, fill,\n"
            "               hollow, mirror, denoise; arc-demo a family, 1d_move_dp or move_dp; without\n"
            "               --split an OOD intent shows its ood split.\n"
            "               Without --intent: every intent of the split (train intents, or OOD ones for ood).\n"
            "  --n N        samples per intent (1..%d)\n"
            "  --seed S     random seed (default 1); same seed, same samples\n"
            "  --color C    colour 1D-ARC cells: auto (on a terminal, unless NO_COLOR is set), always, never\n",
            MAX_N);
}

/* ARC palette (colours 0..9: black, blue, red, green, yellow, grey, magenta, orange, sky, maroon). */
static const unsigned char palette[ARC_COLOURS][3] = {{0, 0, 0},       {0, 116, 217},   {255, 65, 54},  {46, 204, 64},
                                                      {255, 220, 0},   {170, 170, 170}, {240, 18, 190}, {255, 133, 27},
                                                      {127, 219, 255}, {135, 12, 37}};

/* A coloured 1D-ARC row (a terminal only: exec cannot read it). */
static void print_colour_row(const char *label, const int *cells, int len) {
    printf("# %-4s", label);
    for (int j = 0; j < len; j++) {
        const unsigned char *c = palette[cells[j]];
        printf("\x1b[48;2;%d;%d;%dm  \x1b[0m", c[0], c[1], c[2]);
    }
    putchar('\n');
}

static void print_example(const Task *t, Intent u, const Examples *ex, int i, int colour) {
    switch (t->kind) {
    case TASK_SUMFIRST: {
        const float *x = ex->x + (size_t)i * t->in_dim;
        for (int j = 0; j < t->in_dim; j++) printf("%s%d", j ? " " : "", (int)x[j]);
        printf("    # y = %d\n", (int)ex->y[i]);
        break;
    }
    case TASK_ADDMOD: {
        const int *tok = ex->tok + (size_t)i * t->seq_len;
        printf("%2d %2d %d    # (%d + %d) mod %d = %d\n", tok[0], tok[1], tok[2], tok[0], tok[1], u.param, ex->lab[i]);
        break;
    }
    case TASK_FILE: /* a task file's example, as numbers */
        printf("    input");
        for (int j = 0; j < (t->in_dim > 0 ? t->in_dim : t->seq_len); j++)
            printf(" %g", t->in_dim > 0 ? ex->x[(size_t)i * t->in_dim + j] : ex->tok[(size_t)i * t->seq_len + j]);
        printf("   output");
        for (int j = 0; j < t->out_len; j++)
            printf(" %g", t->in_dim > 0 ? ex->y[(size_t)i * t->out_len + j] : ex->lab[(size_t)i * t->out_len + j]);
        putchar('\n');
        break;
    case TASK_ARC_DEMO: { /* the rows of one task: its examples, then its test pair */
        const int *tok = ex->tok + (size_t)i * t->seq_len, *lab = ex->lab + (size_t)i * t->out_len;
        int len = 0;
        while (len < t->out_len && lab[len] >= 0) len++;
        char what[32];
        snprintf(what, sizeof what, i < 3 ? "example %d" : "test", i + 1);
        if (colour) {
            printf("# %s\n", what);
            print_colour_row("in", tok, len);
            print_colour_row("out", lab, len);
        } else {
            printf("  ");
            for (int j = 0; j < len; j++) printf("%s%d", j ? " " : "", tok[j]);
            printf("    # %s in, %d cells\n# ", what, len);
            for (int j = 0; j < len; j++) printf("%s%d", j ? " " : "", lab[j]);
            printf("    # out\n");
        }
        break;
    }
    case TASK_ARC: {
        const int *tok = ex->tok + (size_t)i * t->seq_len, *lab = ex->lab + (size_t)i * t->out_len;
        int len = 0;
        while (len < t->out_len && lab[len] >= 0) len++; /* labels are -1 beyond the row */
        if (colour) {
            print_colour_row("in", tok, len);
            print_colour_row("out", lab, len);
        } else {
            /* The input as the network reads it, then the labels aligned under it after "# ". */
            printf("  ");
            for (int j = 0; j < t->seq_len; j++) printf("%s%d", j ? " " : "", tok[j]);
            printf("    # in: %d cells, padded\n# ", len);
            for (int j = 0; j < t->out_len; j++) printf(j < len ? "%s%d" : "%s.", j ? " " : "", lab[j]);
            printf("    # out\n");
        }
        if (i + 1 < ex->n) putchar('\n');
        break;
    }
    }
}

static void show_intent(const Task *t, Intent u, Split s, uint64_t seed, int n, int colour) {
    char name[64];
    task_intent_format(t, u, name, sizeof name);
    printf("# %s %s  (%s intent, split %s)\n", t->name, name, task_is_ood(t, u) ? "OOD" : "train", split_name(s));
    Rng base, r;
    rng_seed(&base, seed);
    /* One stream per intent, so an intent's samples do not depend on which others are listed. */
    r = rng_fork(&base, (uint64_t)(u.family * 1000 + u.param + 1));
    Examples ex;
    if (t->demo_pairs) { /* n tasks, each its examples and its test pair */
        examples_alloc(t, t->demo_pairs + 1, &ex);
        for (int k = 0; k < n; k++) {
            printf("%s# task %d\n", k ? "\n" : "", k + 1);
            task_sample(t, u, s, &r, t->demo_pairs + 1, &ex);
            for (int i = 0; i < ex.n; i++) print_example(t, u, &ex, i, colour);
        }
        examples_free(&ex);
        return;
    }
    examples_alloc(t, n, &ex);
    task_sample(t, u, s, &r, n, &ex);
    for (int i = 0; i < n; i++) print_example(t, u, &ex, i, colour);
    examples_free(&ex);
}

static int parse_split(const char *s, Split *out) {
    for (Split k = SPLIT_TRAIN; k <= SPLIT_OOD; k++)
        if (!strcmp(s, split_name(k))) {
            *out = k;
            return 0;
        }
    return -1;
}

int cmd_data(int argc, char **argv) {
    static const struct option opts[] = {{"split", required_argument, 0, 's'},
                                         {"intent", required_argument, 0, 'i'},
                                         {"n", required_argument, 0, 'n'},
                                         {"seed", required_argument, 0, 'S'},
                                         {"color", required_argument, 0, 'c'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *split_arg = NULL, *intent_arg = NULL, *colour_arg = "auto";
    int n = 4, c;
    uint64_t seed = 1;
    char *end;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 's': split_arg = optarg; break;
        case 'i': intent_arg = optarg; break;
        case 'n':
            n = (int)strtol(optarg, &end, 10);
            if (*end || !*optarg || n < 1 || n > MAX_N) {
                fprintf(stderr, "neurop data: --n wants 1..%d, got '%s'\n", MAX_N, optarg);
                return 2;
            }
            break;
        case 'S':
            seed = strtoull(optarg, &end, 10);
            if (*end || !*optarg || optarg[0] == '-') {
                fprintf(stderr, "neurop data: --seed wants a non-negative integer, got '%s'\n", optarg);
                return 2;
            }
            break;
        case 'c': colour_arg = optarg; break;
        case 'h': usage(stdout); return 0;
        default:
            fprintf(stderr, "neurop data: unknown or incomplete option '%s' (try neurop data --help)\n",
                    argv[optind - 1]);
            return 2;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "neurop data: %s (try neurop data --help)\n",
                optind >= argc ? "missing TASK (sumfirst, addmod, arc, arc-demo)" : "more than one TASK given");
        return 2;
    }
    Err e;
    Task t;
    if (task_get(argv[optind], &t, &e)) {
        fprintf(stderr, "neurop data: %s\n", e.msg);
        return 2;
    }

    int colour;
    if (!strcmp(colour_arg, "always")) colour = 1;
    else if (!strcmp(colour_arg, "never")) colour = 0;
    else if (!strcmp(colour_arg, "auto")) colour = isatty(STDOUT_FILENO) && !getenv("NO_COLOR");
    else {
        fprintf(stderr, "neurop data: --color wants auto, always or never, got '%s'\n", colour_arg);
        return 2;
    }

    Split s = SPLIT_TRAIN;
    if (split_arg && parse_split(split_arg, &s)) {
        fprintf(stderr, "neurop data: --split wants train, val, test or ood, got '%s'\n", split_arg);
        return 2;
    }
    if (intent_arg) {
        Intent u;
        if (task_intent_parse(&t, intent_arg, &u, &e)) {
            fprintf(stderr, "neurop data: %s\n", e.msg);
            return 2;
        }
        int ood = task_is_ood(&t, u);
        if (!split_arg) s = ood ? SPLIT_OOD : SPLIT_TRAIN;
        if (ood != (s == SPLIT_OOD)) {
            fprintf(stderr, "neurop data: intent '%s' is %s, so its only split is %s\n", intent_arg,
                    ood ? "an OOD intent" : "a train intent", ood ? "ood" : "train, val or test");
            return 2;
        }
        show_intent(&t, u, s, seed, n, colour);
        return 0;
    }
    const Intent *list = s == SPLIT_OOD ? t.ood : t.train;
    int count = s == SPLIT_OOD ? t.n_ood : t.n_train;
    for (int k = 0; k < count; k++) {
        if (k) putchar('\n');
        show_intent(&t, list[k], s, seed, n, colour);
    }
    return 0;
}
