/* README.md's "Using it" block runs verbatim, in order, from an empty folder, and neurop data of
 * every task pipes into neurop exec (tests/readme.sh does it; this test gives it the neurop that
 * sits beside this test binary and counts it with the others). Run from the repository root. */
#include "test.h"
#include "engine/err.h"
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

TEST(readme_using_it_runs_verbatim) {
    char dir[4096], cmd[4200];
    ssize_t n = readlink("/proc/self/exe", dir, sizeof dir - 1);
    NP_ASSERT(n > 0, "readlink /proc/self/exe");
    dir[n] = 0;
    *strrchr(dir, '/') = 0;
    snprintf(cmd, sizeof cmd, "tests/readme.sh '%s'", dir);
    fflush(stdout);
    int rc = system(cmd);
    CHECK(rc == 0, "%s failed (status %d; its messages are above)", cmd, rc);
}
