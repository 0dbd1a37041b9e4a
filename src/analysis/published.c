/* The published-results CSV: a header line, then family,setting,solved,attempted per line. */
#include "analysis/published.h"
#include "io/fileio.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int published_load(const char *path, Published *p, Err *e) {
    memset(p, 0, sizeof *p);
    unsigned char *buf;
    size_t len;
    if (read_file(path, &buf, &len, e)) return -1;
    char *save = NULL, *line = strtok_r((char *)buf, "\n", &save);
    if (!line || strncmp(line, "family,setting,solved,attempted", 31)) {
        free(buf);
        return err_set(e, "%s: want the header family,setting,solved,attempted", path);
    }
    int cap = 0, ln = 1;
    while ((line = strtok_r(NULL, "\n", &save))) {
        ln++;
        PublishedRow r;
        int used = 0;
        if (sscanf(line, "%63[^,],%47[^,],%d,%d%n", r.family, r.setting, &r.solved, &r.attempted, &used) != 4 ||
            (line[used] && line[used] != '\r') || r.solved < 0 || r.attempted < r.solved) {
            published_free(p);
            free(buf);
            return err_set(e, "%s:%d: want family,setting,solved,attempted with 0 <= solved <= attempted", path, ln);
        }
        if (p->n == cap) p->rows = xrealloc(p->rows, sizeof *p->rows * (size_t)(cap = cap ? 2 * cap : 64));
        p->rows[p->n++] = r;
    }
    free(buf);
    return 0;
}

void published_free(Published *p) {
    free(p->rows);
    memset(p, 0, sizeof *p);
}

const PublishedRow *published_find(const Published *p, const char *family, const char *setting) {
    for (int i = 0; i < p->n; i++)
        if (!strcmp(p->rows[i].family, family) && !strcmp(p->rows[i].setting, setting)) return &p->rows[i];
    return NULL;
}
