/* Where the data that ships in the repository's data/ folder is found. It is looked up beside the
 * executable rather than only in the working directory, so `build/neurop eval ...` run from
 * anywhere in a clone finds the real 1D-ARC files; NEUROP_DATA overrides both (an installed
 * binary, data kept elsewhere). */
#include "tasks/task.h"
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int is_dir(const char *path) {
    struct stat st;
    return !stat(path, &st) && S_ISDIR(st.st_mode);
}

int data_dir(const char *name, char *buf, size_t len, Err *e) {
    const char *env = getenv("NEUROP_DATA");
    if (env && *env) {
        snprintf(buf, len, "%s/%s", env, name);
        if (is_dir(buf)) return 0;
        return err_set(e, "NEUROP_DATA=%s has no folder %s", env, name);
    }
    /* /proc/self/exe is the executable with symlinks resolved: <root>/build/neurop -> <root>/data. */
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = 0;
        char *file = strrchr(exe, '/');
        if (file) *file = 0;
        char *bin = file ? strrchr(exe, '/') : NULL;
        if (bin) {
            *bin = 0;
            snprintf(buf, len, "%s/data/%s", exe, name);
            if (is_dir(buf)) return 0;
        }
    }
    snprintf(buf, len, "data/%s", name);
    if (is_dir(buf)) return 0;
    return err_set(e,
                   "data/%s was found neither beside the executable's folder nor in the working directory "
                   "(set NEUROP_DATA to the folder that holds %s)",
                   name, name);
}
