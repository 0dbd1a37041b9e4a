/* neurop solve RUN TASK.json|DIR: programs made from a task's examples (an arc-demo run). One
 * task: the predicted test output (and whether it is right). A folder: exact match per family. */
#include "analysis/published.h"
#include "analysis/realarc.h"
#include "cli/commands.h"
#include "io/fileio.h"
#include "program/progfile.h"
#include <cJSON.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static void usage(FILE *f) {
    fprintf(f, "usage: neurop solve RUN TASK.json|DIR [--which best|last] [-o PROGRAM.safetensors] [--json FILE]\n"
               "RUN is an arc-demo or arc-demo-all run (neurop train --task arc-demo). The program is made from the\n"
               "task's three example pairs (one forward pass) and run on its test input.\n"
               "  TASK.json  an ARC task of one-row grids: prints the predicted test output and, when the\n"
               "             file holds it, whether it is right\n"
               "  DIR        every *.json below DIR: test pairs solved per family (the file name without\n"
               "             _<number>.json), whether the run trained the family or held it out, and\n"
               "             the time per task (synthesis and run)\n"
               "  -o FILE    (one task) write the program: `neurop exec FILE`, or PyTorch via safetensors\n"
               "  --json F   (a folder) every number as JSON, written atomically\n");
}

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return 1e3 * t.tv_sec + 1e-6 * t.tv_nsec;
}

/* Makes the program of d (its examples) and runs it on d's test input: pred, θ (theta NULL: not
 * wanted, not copied out), and the time. */
static double solve_one(Run *run, const ArcDemo *d, Examples *ex, float *theta, int *pred) {
    arc_demo_example(&run->task, d, ARC_DEMO_EXAMPLES, ex, 0);
    double t0 = now_ms();
    run_solve_demo(run, ex->demo, ex->tok, theta, pred);
    if (run->task.relabel) { /* the program read the task renamed: its answer and θ in the task's own colours */
        int map[ARC_COLOURS], inv[ARC_COLOURS];
        arc_demo_colours(d, map);
        for (int c = 0; c < ARC_COLOURS; c++) inv[map[c]] = c;
        for (int j = 0; j < d->len; j++) pred[j] = inv[pred[j]];
        if (theta && run->cfg.method != METHOD_DIRECT) template_rename_tokens(&run->tpl, theta, map, ARC_COLOURS);
    }
    return now_ms() - t0;
}

static int right(const ArcDemo *d, const int *pred) {
    return !memcmp(pred, d->out[ARC_DEMO_EXAMPLES], sizeof *pred * (size_t)d->len);
}

static void print_row(const char *label, const int *row, int len) {
    printf("%-10s", label);
    for (int j = 0; j < len; j++) printf(" %d", row[j]);
    putchar('\n');
}

typedef struct {
    char family[64];
    int n, solved, held; /* held: a family the run's task held out of training (test b) */
    double ms;
} FamScore;

static int solve_dir(Run *run, const ArcSet *set, const char *json, Err *e) {
    FamScore *fs = xcalloc((size_t)set->n + 1, sizeof *fs);
    int nf = 0, skipped = 0;
    ArcDemo *d = xmalloc(sizeof *d);
    Examples ex;
    examples_alloc(&run->task, 1, &ex);
    int *pred = xmalloc(run->task.seq_len * sizeof(int));
    for (int i = 0; i < set->n;) {
        const char *family = set->pairs[i].family;
        Err te = {{0}};
        if (arc_demo_next(set, &i, run->task.seq_len, d, &te)) {
            fprintf(stderr, "neurop solve: skipped %s\n", te.msg);
            skipped++;
            continue;
        }
        int f = 0;
        while (f < nf && strcmp(fs[f].family, family)) f++;
        if (f == nf) {
            snprintf(fs[nf].family, sizeof fs->family, "%s", family);
            fs[nf++].held = d->family >= 0 && task_is_ood(&run->task, (Intent){d->family, -1});
        }
        fs[f].ms += solve_one(run, d, &ex, NULL, pred);
        fs[f].solved += right(d, pred);
        fs[f].n++;
    }
    int n = 0, solved = 0, pub_s[2] = {0}, pub_n[2] = {0};
    double ms = 0;
    /* beside the published results on the same families, when they ship (data/published) */
    static const char *const settings[2] = {"GPT-4 direct-grid", "GPT-4 object-based"};
    Published pub = {0};
    char pdir[1024], ppath[1100];
    Err pe;
    int have_pub = !data_dir("published", pdir, sizeof pdir, &pe) &&
                   snprintf(ppath, sizeof ppath, "%s/llm4arc-1d-arc.csv", pdir) > 0 &&
                   !published_load(ppath, &pub, &pe);
    printf("%-18s %-8s %6s %7s %8s %9s%s\n", "family", "training", "tasks", "solved", "exact", "ms/task",
           have_pub ? "   GPT-4   GPT-4 objects (LLM4ARC)" : "");
    int part_n[2] = {0}, part_s[2] = {0}; /* trained, held out */
    for (int f = 0; f < nf; f++) {
        printf("%-18s %-8s %6d %7d %8.4f %9.2f", fs[f].family, fs[f].held ? "held out" : "trained", fs[f].n,
               fs[f].solved, (double)fs[f].solved / fs[f].n, fs[f].ms / fs[f].n);
        part_n[fs[f].held] += fs[f].n;
        part_s[fs[f].held] += fs[f].solved;
        for (int k = 0; k < 2 && have_pub; k++) {
            const PublishedRow *row = published_find(&pub, fs[f].family, settings[k]);
            if (row) {
                printf(" %7.4f", (double)row->solved / row->attempted);
                pub_s[k] += row->solved;
                pub_n[k] += row->attempted;
            } else printf(" %7s", "-");
        }
        putchar('\n');
        n += fs[f].n;
        solved += fs[f].solved;
        ms += fs[f].ms;
    }
    printf("%-18s %-8s %6d %7d %8.4f %9.2f", "all", "", n, solved, n ? (double)solved / n : 0, n ? ms / n : 0);
    for (int k = 0; k < 2 && have_pub; k++)
        if (pub_n[k]) printf(" %7.4f", (double)pub_s[k] / pub_n[k]);
    putchar('\n');
    /* test (a), families seen in training, and test (b), families held out, when both are here */
    for (int h = 0; h < 2 && part_n[0] && part_n[1]; h++)
        printf("%-18s %-8s %6d %7d %8.4f\n", h ? "held out" : "trained", "", part_n[h], part_s[h],
               (double)part_s[h] / part_n[h]);
    if (skipped) printf("%d task files skipped (above)\n", skipped);
    int rc = 0;
    if (json) {
        cJSON *o = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(o, "families");
        cJSON_AddStringToObject(o, "method", method_id(run->cfg.method));
        cJSON_AddNumberToObject(o, "seed", (double)run->cfg.seed);
        cJSON_AddNumberToObject(o, "step", (double)run->step);
        cJSON_AddNumberToObject(o, "tasks", n);
        cJSON_AddNumberToObject(o, "solved", solved);
        cJSON_AddNumberToObject(o, "skipped", skipped);
        cJSON_AddNumberToObject(o, "ms_per_task", n ? ms / n : 0);
        cJSON_AddStringToObject(o, "task", task_label(&run->task));
        cJSON_AddNumberToObject(o, "trained_tasks", part_n[0]);
        cJSON_AddNumberToObject(o, "trained_solved", part_s[0]);
        for (int f = 0; f < nf; f++) {
            cJSON *it = cJSON_CreateObject();
            cJSON_AddStringToObject(it, "family", fs[f].family);
            cJSON_AddBoolToObject(it, "trained", !fs[f].held);
            cJSON_AddNumberToObject(it, "tasks", fs[f].n);
            cJSON_AddNumberToObject(it, "solved", fs[f].solved);
            cJSON_AddNumberToObject(it, "ms_per_task", fs[f].ms / fs[f].n);
            for (int k = 0; k < 2 && have_pub; k++) { /* the published solved/attempted, when listed */
                const PublishedRow *row = published_find(&pub, fs[f].family, settings[k]);
                if (!row) continue;
                cJSON *pr = cJSON_AddObjectToObject(it, settings[k]);
                cJSON_AddNumberToObject(pr, "solved", row->solved);
                cJSON_AddNumberToObject(pr, "attempted", row->attempted);
            }
            cJSON_AddItemToArray(arr, it);
        }
        rc = json_write(json, o, e);
        cJSON_Delete(o);
    }
    published_free(&pub);
    free(pred);
    examples_free(&ex);
    free(d);
    free(fs);
    return rc;
}

static int solve_file(Run *run, const ArcSet *set, const char *out, Err *e) {
    ArcDemo *d = xmalloc(sizeof *d);
    int i = 0, rc = arc_demo_next(set, &i, run->task.seq_len, d, e);
    if (rc) {
        free(d);
        return -1;
    }
    Examples ex;
    examples_alloc(&run->task, 1, &ex);
    float *theta = out ? xmalloc(run->tpl.n_theta * sizeof(float)) : NULL; /* -o: the program to write */
    int *pred = xmalloc(run->task.seq_len * sizeof(int));
    double ms = solve_one(run, d, &ex, theta, pred);
    print_row("test in", d->in[ARC_DEMO_EXAMPLES], d->len);
    print_row("predicted", pred, d->len);
    print_row("expected", d->out[ARC_DEMO_EXAMPLES], d->len);
    if (run->cfg.method == METHOD_DIRECT)
        printf("%s: read in context with the 3 examples in %.2f ms (direct makes no program)\n",
               right(d, pred) ? "right" : "wrong", ms);
    else
        printf("%s: %ld weights made from the 3 examples and run in %.2f ms\n", right(d, pred) ? "right" : "wrong",
               run->tpl.n_theta, ms);
    if (out) {
        rc = program_save(out, &run->tpl, theta, set->pairs[0].family, e);
        if (!rc) printf("wrote %s\n", out);
    }
    free(pred);
    free(theta);
    examples_free(&ex);
    free(d);
    return rc;
}

int cmd_solve(int argc, char **argv) {
    static const struct option opts[] = {{"which", required_argument, 0, 'w'},
                                         {"out", required_argument, 0, 'o'},
                                         {"json", required_argument, 0, 'j'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *which = "best", *out = NULL, *json = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:w:h", opts, NULL)) != -1) {
        switch (c) {
        case 'w':
            if (strcmp(optarg, "best") && strcmp(optarg, "last")) {
                fprintf(stderr, "neurop solve: --which is best or last, not '%s'\n", optarg);
                return 2;
            }
            which = optarg;
            break;
        case 'o': out = optarg; break;
        case 'j': json = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind != argc - 2) {
        fprintf(stderr, "neurop solve: want RUN and TASK.json or DIR (see --help)\n");
        return 2;
    }
    const char *path = argv[optind + 1];
    struct stat st;
    if (stat(path, &st)) {
        fprintf(stderr, "neurop solve: %s: no such file or folder\n", path);
        return 2;
    }
    int is_dir = S_ISDIR(st.st_mode);
    if ((is_dir && out) || (!is_dir && json)) {
        fprintf(stderr, "neurop solve: %s goes with %s\n", is_dir ? "-o" : "--json", is_dir ? "one task" : "a folder");
        return 2;
    }
    Err e = {{0}};
    Run run;
    if (run_open(&run, argv[optind], which, &e)) {
        fprintf(stderr, "neurop solve: %s\n", e.msg);
        return 1;
    }
    if (out && run.cfg.method == METHOD_DIRECT) {
        fprintf(stderr, "neurop solve: %s is the direct baseline, which makes no program to write (-o)\n",
                argv[optind]);
        run_free(&run);
        return 1;
    }
    if (!run.task.demo_pairs) {
        fprintf(stderr, "neurop solve: %s is a run on %s; solve needs an arc-demo run (neurop train --task arc-demo)\n",
                argv[optind], run.task.name);
        run_free(&run);
        return 1;
    }
    ArcSet set = {0};
    int rc = is_dir ? arc_load_dir(path, &set, &e) : arc_load_file(path, &set, &e);
    if (!rc && !set.n) rc = err_set(&e, "%s: no ARC task files", path);
    if (!rc) rc = is_dir ? solve_dir(&run, &set, json, &e) : solve_file(&run, &set, out, &e);
    if (rc) fprintf(stderr, "neurop solve: %s\n", e.msg);
    arc_set_free(&set);
    run_free(&run);
    return rc ? 1 : 0;
}
