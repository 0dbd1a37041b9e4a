/* Published per-family results on 1D-ARC (data/published/llm4arc-1d-arc.csv: GPT-4 and GPT-3.5,
 * counted from the LLM4ARC logs; data/published/README.md says how), for reports beside ours. */
#ifndef NEUROP_PUBLISHED_H
#define NEUROP_PUBLISHED_H
#include "engine/err.h"

typedef struct PublishedRow {
    char family[64], setting[48];
    int solved, attempted;
} PublishedRow;
typedef struct Published {
    int n;
    PublishedRow *rows;
} Published;

/* Reads the CSV (header family,setting,solved,attempted). -1 with the line on a malformed file. */
int published_load(const char *path, Published *p, Err *e);
void published_free(Published *p);
/* The row of (family, setting), or NULL. */
const PublishedRow *published_find(const Published *p, const char *family, const char *setting);

#endif
