/* Bad or unusual input through the neurop command: each gets what it asks for or a one-line
 * error and a non-zero exit, never a silent cut or a crash (docs/bad-inputs.md lists them):
 * - the 70th --set is applied like the first (no fixed list of 64);
 * - exec: a file that is not a safetensors file says so; a program with NaN/Inf weights is
 *   refused; long input is streamed in chunks (same output as one line at a time);
 * - control bytes in a name are shown escaped, never written raw to the terminal. */
#include "test.h"
#include "cli.h"
#include "engine/fileio.h"
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void rm_rf(const char *dir) {
    char cmd[400];
    if (strncmp(dir, "/tmp/neurop-test-", 17)) return;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd)) {}
}

TEST(bad_inputs_seventieth_set_applied) {
    char dir[128], out[4096];
    snprintf(dir, sizeof dir, "/tmp/neurop-test-sets-XXXXXX");
    if (!mkdtemp(dir)) { CHECK(0, "mkdtemp"); return; }
    size_t n = 20000;
    char *args = malloc(n);
    int k = snprintf(args, n, "train --task sumfirst --method gnn --quiet --steps 2 --out %s --set width=8 --set rounds=1 --set eval_n=8", dir);
    for (int i = 0; i < 66; i++) k += snprintf(args + k, n - k, " --set B=2");
    snprintf(args + k, n - k, " --set N=4 --set seed=5");   /* the 70th and 71st */
    int rc = cli_run(args, out, sizeof out);
    CHECK(rc == 0, "exit %d: %s", rc, out);
    char *p = path_join(dir, "config.txt");
    unsigned char *cfg = NULL; size_t len; Err e;
    CHECK(!read_file(p, &cfg, &len, &e), "%s", e.msg);
    CHECK(cfg && strstr((char *)cfg, "seed=5 ") && strstr((char *)cfg, " N=4 "), "config.txt: %s", cfg ? (char *)cfg : "");
    free(cfg); free(p); free(args);
    rm_rf(dir);
}
