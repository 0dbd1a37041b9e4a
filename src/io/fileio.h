/* Whole-file I/O with the guarantees checkpoints need: a file is either completely the old one
 * or completely the new one, never a half-written mix, even if the process dies mid-write. */
#ifndef NEUROP_FILEIO_H
#define NEUROP_FILEIO_H
#include "engine/err.h"
#include <stddef.h>
#include <stdio.h>

/* Largest file read_file accepts; a bigger one is almost certainly the wrong path. */
#define READ_FILE_MAX ((size_t)1 << 30)

/* Writes path atomically: write_fn fills a temporary file path.tmp.<pid> in the same directory,
 * which is then flushed, fsynced, closed, renamed over path, and the directory fsynced.
 * write_fn returns 0, or -1 with a message in e. On any failure the temporary file is removed,
 * an existing file at path is left untouched, and -1 is returned with a message naming the path.
 * (If only the final directory fsync fails, path already holds the new contents.) */
int atomic_write(const char *path, int (*write_fn)(FILE *f, void *ctx, Err *e), void *ctx, Err *e);
/* j, formatted, and a newline, written atomically. */
struct cJSON;
int json_write(const char *path, const struct cJSON *j, Err *e);

/* Reads a whole regular file (at most READ_FILE_MAX bytes) into a fresh buffer that the caller
 * frees. *len is the size; the buffer has one extra NUL byte after the data, so text files can
 * be used as C strings. Returns 0, or -1 with a message naming the path. */
int read_file(const char *path, unsigned char **buf, size_t *len, Err *e);

/* dir + "/" + file in a fresh buffer the caller frees (no fixed-size path buffers: a long
 * folder name is never cut short). */
char *path_join(const char *dir, const char *file);

/* Whether path is a regular file (a checkpoint, a report) that can be opened. */
int file_exists(const char *path);

/* Takes an exclusive advisory lock (flock) on dir/lock and writes this process's pid into it, so
 * that a second process asking for the same folder is refused with the holder's pid. Returns
 * the file descriptor to pass to dir_unlock (the lock also ends when the process dies), or -1
 * with a message. */
int dir_lock(const char *dir, Err *e);
void dir_unlock(int fd);

#endif
