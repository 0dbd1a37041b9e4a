#include "io/fileio.h"
#include <cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* The directory holding path ("." for a bare name), so its entry update can be fsynced. */
static char *dir_of(const char *path) {
    const char *slash = strrchr(path, '/');
    if (!slash) {
        char *d = xmalloc(2);
        strcpy(d, ".");
        return d;
    }
    size_t n = slash == path ? 1 : (size_t)(slash - path); /* "/x" lives in "/" */
    char *d = xmalloc(n + 1);
    memcpy(d, path, n);
    d[n] = '\0';
    return d;
}

/* Makes the rename itself durable. Some filesystems cannot fsync a directory (EINVAL); the
 * rename is then as durable as that filesystem allows, which is not an error of ours. */
static int fsync_dir(const char *path, Err *e) {
    char *dir = dir_of(path);
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = 0;
    if (fd < 0) {
        rc = err_set(e, "%s: written, but cannot open directory %s to sync it: %s", path, dir, strerror(errno));
    } else {
        if (fsync(fd) != 0 && errno != EINVAL && errno != ENOTSUP)
            rc = err_set(e, "%s: written, but syncing directory %s failed: %s", path, dir, strerror(errno));
        close(fd);
    }
    free(dir);
    return rc;
}

/* Writes, flushes and syncs the temporary file and closes it (always, even on failure). */
static int fill_tmp(const char *path, const char *tmp, int fd, int (*write_fn)(FILE *f, void *ctx, Err *e), void *ctx,
                    Err *e) {
    FILE *f = fdopen(fd, "wb");
    if (!f) {
        int saved = errno;
        close(fd);
        return err_set(e, "%s: cannot open temporary file %s: %s", path, tmp, strerror(saved));
    }
    if (write_fn(f, ctx, e) != 0) {
        fclose(f);
        return -1;
    }
    /* A write error seen only at flush/close time (ENOSPC, EIO, quota) must fail the write too. */
    if (fflush(f) != 0 || ferror(f)) {
        int saved = errno;
        fclose(f);
        return err_set(e, "%s: writing failed: %s", path, strerror(saved));
    }
    if (fsync(fileno(f)) != 0) {
        int saved = errno;
        fclose(f);
        return err_set(e, "%s: fsync failed: %s", path, strerror(saved));
    }
    if (fclose(f) != 0) return err_set(e, "%s: closing failed: %s", path, strerror(errno));
    return 0;
}

/* A target that exists and is not a regular file (/dev/null, a pipe, a terminal) is written in
 * place: renaming a temporary file over it would replace the device itself (as root, `-o /dev/null`
 * turned /dev/null into an empty regular file for the whole machine). */
static int write_in_place(const char *path, int (*write_fn)(FILE *f, void *ctx, Err *e), void *ctx, Err *e) {
    FILE *f = fopen(path, "wb");
    if (!f) return err_set(e, "%s: cannot open: %s", path, strerror(errno));
    if (write_fn(f, ctx, e) != 0) {
        fclose(f);
        return -1;
    }
    if (fflush(f) != 0 || ferror(f)) {
        int saved = errno;
        fclose(f);
        return err_set(e, "%s: writing failed: %s", path, strerror(saved));
    }
    return fclose(f) != 0 ? err_set(e, "%s: closing failed: %s", path, strerror(errno)) : 0;
}

int atomic_write(const char *path, int (*write_fn)(FILE *f, void *ctx, Err *e), void *ctx, Err *e) {
    struct stat st;
    if (!stat(path, &st) && !S_ISREG(st.st_mode)) {
        if (S_ISDIR(st.st_mode)) return err_set(e, "%s: is a directory", path);
        return write_in_place(path, write_fn, ctx, e);
    }
    size_t n = strlen(path) + 32;
    char *tmp = xmalloc(n);
    snprintf(tmp, n, "%s.tmp.%ld", path, (long)getpid());
    /* O_TRUNC rather than O_EXCL: a leftover temp file can only be from a dead process of ours
     * with the same pid, and its contents are garbage either way. */
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0) {
        int saved = errno;
        free(tmp);
        return err_set(e, "%s: cannot create temporary file: %s", path, strerror(saved));
    }
    if (fill_tmp(path, tmp, fd, write_fn, ctx, e) != 0) {
        unlink(tmp);
        free(tmp);
        return -1;
    }
    if (rename(tmp, path) != 0) {
        int saved = errno;
        unlink(tmp);
        free(tmp);
        return err_set(e, "%s: cannot rename temporary file into place: %s", path, strerror(saved));
    }
    free(tmp);
    return fsync_dir(path, e);
}

int read_file(const char *path, unsigned char **buf, size_t *len, Err *e) {
    *buf = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return err_set(e, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0) {
        int saved = errno;
        fclose(f);
        return err_set(e, "%s: cannot stat: %s", path, strerror(saved));
    }
    if (!S_ISREG(st.st_mode)) {
        fclose(f);
        return err_set(e, "%s: not a regular file", path);
    }
    if ((unsigned long long)st.st_size > READ_FILE_MAX) {
        fclose(f);
        return err_set(e, "%s: file is %lld bytes, larger than the %zu-byte limit", path, (long long)st.st_size,
                       READ_FILE_MAX);
    }
    size_t n = (size_t)st.st_size;
    unsigned char *b = malloc(n + 1);
    if (!b) {
        fclose(f);
        return err_set(e, "%s: out of memory reading %zu bytes", path, n);
    }
    size_t got = fread(b, 1, n, f);
    /* A file that changed size while we read it is as suspect as a short read. */
    int more = got == n && fgetc(f) != EOF;
    int bad = ferror(f);
    int saved = errno;
    fclose(f);
    if (bad || got != n || more) {
        free(b);
        if (bad) return err_set(e, "%s: read error: %s", path, strerror(saved));
        return err_set(e, "%s: file changed size while being read", path);
    }
    b[n] = '\0';
    *buf = b;
    *len = n;
    return 0;
}

char *path_join(const char *dir, const char *file) {
    size_t n = strlen(dir) + strlen(file) + 2;
    char *p = xmalloc(n);
    snprintf(p, n, "%s/%s", dir, file);
    return p;
}

int file_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int dir_lock(const char *dir, Err *e) {
    char *path = path_join(dir, "lock");
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (fd < 0) {
        int saved = errno;
        err_set(e, "%s: cannot open: %s", path, strerror(saved));
        free(path);
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int saved = errno;
        char pid[32] = "";
        ssize_t n = pread(fd, pid, sizeof pid - 1, 0);
        pid[n > 0 ? n : 0] = 0;
        pid[strcspn(pid, "\n")] = 0;
        if (saved == EWOULDBLOCK)
            err_set(e, "%s is in use by another process (pid %s); wait for it to end, or use another folder", dir,
                    *pid ? pid : "?");
        else err_set(e, "%s: cannot lock: %s", path, strerror(saved));
        close(fd);
        free(path);
        return -1;
    }
    char pid[32];
    int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)n, 0) != n) {
        int saved = errno;
        err_set(e, "%s: cannot write: %s", path, strerror(saved));
        close(fd);
        free(path);
        return -1;
    }
    free(path);
    return fd;
}

/* The lock file stays: removing it races with a process that opened it just before and would
 * then hold a lock on a file no longer in the folder, while a third locks a new one. */
void dir_unlock(int fd) {
    if (fd >= 0) close(fd);
}

static int write_json_text(FILE *f, void *ctx, Err *e) {
    char *s = cJSON_Print((const cJSON *)ctx);
    if (!s) return err_set(e, "cannot format JSON");
    int rc = fputs(s, f) < 0 || fputc('\n', f) == EOF ? err_set(e, "write failed") : 0;
    cJSON_free(s);
    return rc;
}

int json_write(const char *path, const cJSON *j, Err *e) { return atomic_write(path, write_json_text, (void *)j, e); }
