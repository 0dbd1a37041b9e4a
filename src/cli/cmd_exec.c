/* neurop exec PROGRAM [--input FILE] [--logits]: runs a program file on inputs, one example per
 * line (numbers for an MLP, token ids for a Transformer), and prints one output line each. */
#include "cli/commands.h"
#include "program/progfile.h"
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void exec_usage(FILE *f) {
    fprintf(f, "usage: neurop exec PROGRAM [--input FILE] [--logits]\n\n"
               "Runs the program file PROGRAM (.safetensors) on the examples in FILE (default: stdin),\n"
               "one per line; text after a # is a comment, blank lines are skipped (`neurop data`\n"
               "prints its samples in this form).\n"
               "  MLP:          a line holds the input numbers (blank- or comma-separated); prints the outputs\n"
               "  Transformer:  a line holds len token ids; prints the argmax class (readout=last) or one\n"
               "                class per position (readout=all)\n"
               "  --logits      also print the logits, after a '|' (positions separated by ' | ')\n"
               "  --input FILE  read the examples from FILE instead of stdin\n");
}

/* Examples are read, run and printed EXEC_CHUNK at a time: memory stays bounded by the chunk,
 * not by the input (300,000 ADDMOD lines held in one graph took 1.9 GB). */
#define EXEC_CHUNK 1024

typedef struct Reader {
    FILE *in;
    char *line;
    size_t cap;
    long lineno, examples;
} Reader;

/* Up to max examples into x, `width` floats per line. Returns the count (0 at the end of the
 * input), or -1 with a message. */
static int read_chunk(Reader *rd, int width, int max, float *x, Err *e) {
    int n = 0;
    while (n < max && getline(&rd->line, &rd->cap, rd->in) != -1) {
        rd->lineno++;
        char *s = rd->line + strspn(rd->line, " \t\r\n"), *hash = strchr(s, '#');
        if (hash) *hash = 0; /* a comment: neurop data puts the expected output there */
        if (!*s || !s[strspn(s, " \t\r\n")]) continue;
        int k = 0;
        for (char *save = NULL, *tok = strtok_r(s, " \t\r\n,", &save); tok;
             tok = strtok_r(NULL, " \t\r\n,", &save), k++) {
            char *end;
            errno = 0;
            float v = strtof(tok, &end);
            if (*end || errno) return err_set(e, "input line %ld: '%.40s' is not a number", rd->lineno, tok);
            if (k < width) x[(size_t)n * width + k] = v;
        }
        if (k != width) return err_set(e, "input line %ld: %d values, the program wants %d", rd->lineno, k, width);
        n++;
    }
    if (ferror(rd->in)) return err_set(e, "reading the input failed");
    rd->examples += n;
    return n;
}

/* Token ids must be whole numbers in [0, vocab). first: the number of examples before x. */
static int check_tokens(const Template *t, const float *x, int n, long first, int *tok, Err *e) {
    for (long i = 0; i < (long)n * t->len; i++) {
        if (!(x[i] >= 0 && x[i] < t->vocab) || x[i] != (float)(int)x[i]) /* range first: the cast needs it */
            return err_set(e, "input example %ld: token %g is not an id in [0, %d)", first + i / t->len + 1, x[i],
                           t->vocab);
        tok[i] = (int)x[i];
    }
    return 0;
}

static void print_row(const float *v, int n, const char *sep) {
    for (int i = 0; i < n; i++) printf("%s%.6g", i ? sep : "", v[i]);
}

/* One output line per example. */
static void print_outputs(const Template *t, const float *y, int n, int logits) {
    if (t->kind == TPL_MLP) {
        int w = t->widths[t->n_layers];
        for (int i = 0; i < n; i++) {
            print_row(y + (long)i * w, w, " ");
            putchar('\n');
        }
        return;
    }
    int C = t->classes, P = t->readout_last ? 1 : t->len;
    for (int i = 0; i < n; i++) {
        const float *yi = y + (long)i * P * C;
        for (int p = 0; p < P; p++) printf("%s%d", p ? " " : "", logits_argmax(yi + (long)p * C, C));
        for (int p = 0; logits && p < P; p++) {
            printf(" | ");
            print_row(yi + (long)p * C, C, " ");
        }
        putchar('\n');
    }
}

static int run_program(const Program *p, FILE *in, int logits, Err *e) {
    const Template *t = &p->t;
    int width = t->kind == TPL_MLP ? t->widths[0] : t->len;
    float *x = xmalloc((size_t)EXEC_CHUNK * width * sizeof *x);
    int *tok = t->kind == TPL_MLP ? NULL : xmalloc((size_t)EXEC_CHUNK * t->len * sizeof *tok);
    Reader rd = {.in = in};
    Arena a;
    Graph g;
    arena_init(&a, 1 << 20);
    graph_init(&g, &a);
    g.no_grad = 1;
    int n, rc = 0;
    while ((n = read_chunk(&rd, width, EXEC_CHUNK, x, e)) > 0) {
        if (tok && check_tokens(t, x, n, rd.examples - n, tok, e)) {
            rc = -1;
            break;
        }
        Tensor *th = tensor_wrap(&g, p->theta, NULL, SHAPE(1, (int)t->n_theta));
        Tensor *y = tok ? exec_transformer(&g, t, th, tok, 1, n)
                        : exec_mlp(&g, t, th, tensor_wrap(&g, x, NULL, SHAPE(1, n, width)));
        print_outputs(t, y->data, n, logits);
        graph_reset(&g);
    }
    if (n < 0) rc = -1;
    fflush(stdout);
    graph_free(&g);
    arena_free(&a);
    free(rd.line);
    free(x);
    free(tok);
    return rc;
}

int cmd_exec(int argc, char **argv) {
    static const struct option opts[] = {{"input", required_argument, 0, 'i'},
                                         {"logits", no_argument, 0, 'l'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *input = NULL;
    int logits = 0, c;
    while ((c = getopt_long(argc, argv, "hi:", opts, NULL)) != -1) {
        if (c == 'i') input = optarg;
        else if (c == 'l') logits = 1;
        else if (c == 'h') {
            exec_usage(stdout);
            return 0;
        } else {
            exec_usage(stderr);
            return 2;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "neurop exec: want exactly one PROGRAM file (try neurop exec --help)\n");
        return 2;
    }
    Program p;
    Err e;
    if (program_load(argv[optind], &p, &e)) {
        fprintf(stderr, "neurop exec: %s\n", e.msg);
        return 1;
    }
    FILE *in = input ? fopen(input, "r") : stdin;
    int rc = 0;
    if (!in) {
        fprintf(stderr, "neurop exec: %s: %s\n", input, strerror(errno));
        rc = 1;
    } else if (run_program(&p, in, logits, &e)) {
        fprintf(stderr, "neurop exec: %s\n", e.msg);
        rc = 1;
    }
    if (in && in != stdin) fclose(in);
    program_free(&p);
    return rc;
}
