/* Running gnuplot in a child process (see gnuplot.h). */
#include "io/gnuplot.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int gnuplot_installed(void) {
    const char *path = getenv("PATH");
    if (!path) path = "/usr/bin:/bin";
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *save = NULL, *d = strtok_r(buf, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
        char p[4200];
        snprintf(p, sizeof p, "%s/gnuplot", *d ? d : ".");
        if (access(p, X_OK) == 0) return 1;
    }
    return 0;
}

int gnuplot_run(const char *dir, const char *script, const char *setting) {
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        if (chdir(dir)) _exit(126);
        FILE *lf = freopen("gnuplot.log", "a", stderr);
        if (lf) dup2(fileno(stderr), 1);
        if (setting) execlp("gnuplot", "gnuplot", "-e", setting, script, (char *)NULL);
        else execlp("gnuplot", "gnuplot", script, (char *)NULL);
        _exit(127);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR) return -1;
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

const char *const gnuplot_png_terminal = "if (strstrt(GPVAL_TERMINALS, \"pngcairo\") > 0) {\n"
                                         "    set terminal pngcairo size %d,%d noenhanced font \",10\"\n"
                                         "} else {\n"
                                         "    set terminal png size %d,%d noenhanced\n"
                                         "}\n";
