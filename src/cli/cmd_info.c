/* neurop info RUN: what a run is: template, parameter counts, FLOPs per training step. */
#include "cli/commands.h"
#include "engine/cpu.h"
#include "io/fileio.h"
#include "train/train.h"
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cmd_info(int argc, char **argv) {
    static const struct option opts[] = {{"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'h') {
            printf(
                "usage: neurop info RUN\n  template, trainable parameters (per part), |θ|, FLOPs per training step; "
                "this machine's CPU and BLAS kernel\n  (from RUN/last.safetensors, or best.safetensors where only that "
                "is kept)\n");
            return 0;
        }
        fprintf(stderr, "usage: neurop info RUN\n");
        return 2;
    }
    if (optind != argc - 1) {
        fprintf(stderr, "neurop info: want exactly one run folder\n");
        return 2;
    }
    Err e = {{0}};
    Run run;
    /* the last checkpoint (where training stands), or the best where only that was kept */
    char *last = path_join(argv[optind], "last.safetensors"), *best = path_join(argv[optind], "best.safetensors");
    const char *which = !file_exists(last) && file_exists(best) ? "best" : "last";
    free(last);
    free(best);
    if (run_open(&run, argv[optind], which, &e)) {
        fprintf(stderr, "neurop info: %s\n", e.msg);
        return 1;
    }
    char cfg[2048], tpl[TPL_TEXT_MAX];
    config_format(&run.cfg, cfg, sizeof cfg);
    template_format(&run.tpl, tpl, sizeof tpl);
    printf("run        %s (%s.safetensors%s)\nmethod     %s\ntask       %s\ntemplate   %s\n|θ|        %ld target "
           "weights\n",
           argv[optind], which, strcmp(which, "best") ? "" : ": there is no last.safetensors",
           method_name(run.cfg.method), task_label(&run.task), tpl, run.tpl.n_theta);
    printf("trainable  %ld parameters\n", run.m.ps.n);
    /* parameters per part: the name up to its first '.' */
    for (int i = 0; i < run.m.ps.count;) {
        const char *nm = run.m.ps.views[i].name, *dot = strchr(nm, '.');
        size_t len = dot ? (size_t)(dot - nm) : strlen(nm);
        long n = 0;
        int j = i;
        while (j < run.m.ps.count && !strncmp(run.m.ps.views[j].name, nm, len) &&
               (run.m.ps.views[j].name[len] == '.' || run.m.ps.views[j].name[len] == 0))
            n += run.m.ps.views[j++].numel;
        printf("  %-9.*s %ld\n", (int)len, nm, n);
        i = j;
    }
    printf("step       B=%d %s x N=%d %s; %.3g dense-product FLOPs per training step (forward + backward)\n", run.cfg.B,
           run.task.demo_pairs ? "programs (a task's examples each)" : "intents", run.cfg.N,
           run.task.demo_pairs ? "rows" : "examples", run_step_flops(&run));
    if (run.cfg.N_after > 0)
        printf("           N=%d from step %ld on (N_after)\n", run.cfg.N_after, config_choice_step(&run.cfg));
    printf("trained    %ld steps in %.1f s; best IID-validation %.4f at step %ld\nconfig     %s\n", run.step,
           run.train_seconds, run.best_val, run.best_step, cfg);
    char mach[512];
    cpu_describe(mach, sizeof mach);
    printf("trained on %s\nthis       %s (the kernel a run here uses)\n",
           run.machine[0] ? run.machine : "(not recorded)", mach);
    run_free(&run);
    return 0;
}
