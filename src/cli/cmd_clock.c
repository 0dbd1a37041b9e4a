/* neurop clock RUN [--out DIR]: the ADDMOD "clock" analysis of the embeddings a run generates
 * (src/analysis/clock.h, docs/clock.md). */
#include "analysis/clock.h"
#include "cli/commands.h"
#include "io/fileio.h"
#include <cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static void usage(FILE *f) {
    fprintf(f,
            "usage: neurop clock RUN [--out DIR] [--prime P] [--which best|last]\n"
            "  For an addmod run of a weight-generating method (mlp, gmlp, gnn): PCA of the token embedding\n"
            "  generated for prime P (default 83, never seen in training): variance in PC1/PC2, the dominant\n"
            "  frequency k, whether tokens ordered by a*k mod P go round a circle; and across all 25 primes,\n"
            "  PC1 of the flattened embeddings fitted by A*cos(w/p + phi), also with an offset + c.\n"
            "  --out DIR     write clock.json, clock_embed.dat, clock_pc1.dat, clock.gp and clock.png (gnuplot) there\n"
            "  --prime P     the prime whose embedding is analysed (default 83)\n"
            "  --which W     checkpoint: best (default, chosen on IID validation) or last\n");
}

static int mkdir_p(const char *dir, Err *e) {
    char p[1024];
    if (strlen(dir) >= sizeof p) return err_set(e, "%s: path too long", dir);
    snprintf(p, sizeof p, "%s", dir);
    for (char *s = p + 1;; s++) {
        if (*s != '/' && *s) continue;
        char c = *s;
        *s = 0;
        if (mkdir(p, 0755) && errno != EEXIST) return err_set(e, "cannot create %s: %s", p, strerror(errno));
        struct stat st;
        if (stat(p, &st) || !S_ISDIR(st.st_mode)) return err_set(e, "%s exists and is not a folder", p);
        *s = c;
        if (!c) return 0;
    }
}

int cmd_clock(int argc, char **argv) {
    static const struct option opts[] = {{"out", required_argument, 0, 'o'},
                                         {"prime", required_argument, 0, 'p'},
                                         {"which", required_argument, 0, 'w'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *out = NULL, *which = "best", *prime = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:p:w:h", opts, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case 'p': prime = optarg; break;
        case 'w':
            if (strcmp(optarg, "best") && strcmp(optarg, "last")) {
                fprintf(stderr, "neurop clock: --which is best or last, not '%s'\n", optarg);
                return 2;
            }
            which = optarg;
            break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "neurop clock: want exactly one run folder (see --help)\n");
        return 2;
    }
    const char *dir = argv[optind];
    Err e = {{0}};
    Run run;
    if (run_open(&run, dir, which, &e)) {
        fprintf(stderr, "neurop clock: %s\n", e.msg);
        return 1;
    }
    int p = CLOCK_PRIME;
    if (prime) {
        Intent u;
        if (run.task.kind != TASK_ADDMOD) {
            fprintf(stderr, "neurop clock: --prime is for addmod runs; this run's task is %s\n", run.task.name);
            run_free(&run);
            return 2;
        }
        if (task_intent_parse(&run.task, prime, &u, &e)) {
            fprintf(stderr, "neurop clock: %s\n", e.msg);
            run_free(&run);
            return 2;
        }
        p = u.param;
    }
    static ClockReport rep; /* a few kB: off the stack */
    if (clock_analyze(&run, p, &rep, &e)) {
        fprintf(stderr, "neurop clock: %s\n", e.msg);
        run_free(&run);
        return 1;
    }
    const char *method = method_name(run.cfg.method);
    run_free(&run);

    const ClockPlane *pl = &rep.plane;
    const ClockFit *f = &rep.fit, *fc = &rep.fit_c;
    printf("clock analysis of %s (%s, %s checkpoint, step %ld)\n", dir, method, which, rep.step);
    printf("p = %d%s: PC1 %.1f%%, PC2 %.1f%% of the variance of its %d token embeddings (top two %.1f%%, d = %d)\n",
           pl->p, rep.plane_ood ? " (never seen in training)" : "", 100 * pl->var_pc1, 100 * pl->var_pc2, pl->p,
           100 * pl->var_top2, pl->d);
    printf("  dominant frequency k = %d (%.1f%% of the plane's power); tokens ordered by a*k mod %d: %.0f%% of the "
           "steps turn the\n"
           "  same way, %d full turn%s, largest gap %.3f of a turn (evenly spaced: %.3f), radius std/mean %.2f: %s\n",
           pl->k, 100 * pl->k_power, pl->p, 100 * pl->circularity, pl->winding, pl->winding == 1 ? "" : "s",
           pl->max_gap, 1.0 / pl->p, pl->radius_cv, clock_is_clock(pl) ? "a clock" : "not a clock");
    printf("across %d primes: PC1 of the flattened embed.weight (%d x %d values each) holds %.1f%% of the variance\n",
           rep.n_primes, rep.flat_rows, rep.d, 100 * rep.pc1_var);
    const ClockFit *fs[2] = {f, fc};
    for (int i = 0; i < 2; i++) {
        char off[64] = "";
        if (i) snprintf(off, sizeof off, " %+.4g", fs[i]->c);
        printf("  PC1(p) = %.4g*cos(%.4g/p + %.4f)%-12s R2 = %.4f%s\n", fs[i]->A, fs[i]->omega, fs[i]->phi, off,
               fs[i]->r2, fs[i]->span < 1 ? "  (the cosine spans under 1 rad of phase: only a line in 1/p)" : "");
    }
    printf("  paper:   23.43*cos(5.672/p + 3.6310)             R2 > 0.94\n");
    /* which modulus each program computes: an unseen prime's either follows p or snaps to a
     * nearby train prime (docs/clock.md) */
    printf("the modulus each prime's program computes (on all p^2 pairs; * = OOD, h = held out of training;\n"
           "margin: median of the correct logit minus the best other; size: mean square of its weight matrices):\n");
    for (int i = 0; i < rep.n_primes; i++) {
        int p = rep.primes[i], m = rep.mod[i];
        printf("  p = %2d%s exact %.3f  margin %6.2f  size %.3f  clock k = %2d (%.2f)  computes mod %d", p,
               rep.ood[i]    ? "*"
               : rep.held[i] ? "h"
                             : " ",
               rep.acc[i], rep.margin[i], rep.size[i], rep.freq[i], rep.freq_power[i], m);
        if (m != p) printf(" (%.3f of the pairs)%s", rep.mod_agree[i], m >= 2 * p - 1 ? ": never wraps" : "");
        printf("\n");
    }
    /* programs for moduli no run sees: whether they follow q says what the OOD primes would */
    printf("between the train primes, the odd composite moduli (no run trains, validates or is tested on them):\n"
           "  mean exact %.3f over %d moduli;",
           rep.off_mean, rep.n_off);
    for (int j = 0; j < rep.n_off; j++) {
        printf("%s %d %.2f", j % 8 ? "," : "\n ", rep.off_q[j], rep.off_acc[j]);
        if (rep.off_mod[j] != rep.off_q[j]) printf(" (mod %d)", rep.off_mod[j]);
    }
    printf("\n");
    if (!out) return 0;

    if (mkdir_p(out, &e) || clock_write_data(&rep, out, &e)) {
        fprintf(stderr, "neurop clock: %s\n", e.msg);
        return 1;
    }
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "format", "neurop-clock-1");
    cJSON_AddStringToObject(j, "run", dir);
    cJSON_AddStringToObject(j, "checkpoint", which);
    clock_to_json(&rep, j);
    char path[1200];
    snprintf(path, sizeof path, "%s/clock.json", out);
    int rc = json_write(path, j, &e);
    cJSON_Delete(j);
    if (rc) {
        fprintf(stderr, "neurop clock: %s\n", e.msg);
        return 1;
    }
    int pr = clock_plot(&rep, out, 1, &e);
    if (pr < 0) {
        fprintf(stderr, "neurop clock: %s\n", e.msg);
        return 1;
    }
    printf("wrote %s/clock.json, clock_embed.dat, clock_pc1.dat, clock.gp%s\n", out,
           pr == 0 ? ", clock.png" : " (gnuplot is not installed: no clock.png; run `gnuplot clock.gp` there later)");
    return 0;
}
