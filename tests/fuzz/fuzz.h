/* Shared by the libFuzzer harnesses (make fuzz). The file parsers take a path, so a harness
 * writes its input to a private temporary file first. */
#ifndef NEUROP_FUZZ_H
#define NEUROP_FUZZ_H
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The input as a file: its path (one per process, reused). */
static inline const char *fuzz_file(const uint8_t *data, size_t size, const char *suffix) {
    static char path[128];
    if (!path[0]) snprintf(path, sizeof path, "/tmp/neurop-fuzz-%ld%s", (long)getpid(), suffix);
    FILE *f = fopen(path, "wb");
    if (!f) abort();
    if (size && fwrite(data, 1, size, f) != size) abort();
    fclose(f);
    return path;
}

/* The input as a NUL-terminated string (the caller frees it). */
static inline char *fuzz_text(const uint8_t *data, size_t size) {
    char *s = malloc(size + 1);
    if (!s) abort();
    memcpy(s, data, size);
    s[size] = 0;
    return s;
}

/* A message must be one line: the CLI prints it as such. */
static inline void fuzz_check_message(const char *msg) {
    if (!msg[0] || strchr(msg, '\n')) abort();
}

#endif
