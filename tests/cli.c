/* See cli.h. */
#include "cli.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

const char *cli_bin(void) {
    static char bin[4096];
    if (bin[0]) return bin;
    ssize_t n = readlink("/proc/self/exe", bin, sizeof bin - 16);
    if (n <= 0) {
        strcpy(bin, "build/neurop");
        return bin;
    }
    bin[n] = 0;
    char *slash = strrchr(bin, '/');
    strcpy(slash ? slash + 1 : bin, "neurop");
    return bin;
}

int cli_run(const char *args, char *out, size_t n) {
    size_t len = strlen(cli_bin()) + strlen(args) + 32;
    char *cmd = malloc(len);
    snprintf(cmd, len, "'%s' %s 2>&1", cli_bin(), args);
    FILE *p = popen(cmd, "r");
    free(cmd);
    if (!p) return -1;
    size_t got = 0, r;
    char sink[4096];
    while ((r = fread(got + 1 < n ? out + got : sink, 1, got + 1 < n ? n - 1 - got : sizeof sink, p)) > 0)
        if (got + 1 < n) got += r;
    if (n) out[got] = 0;
    int st = pclose(p);
    if (st == -1) return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
