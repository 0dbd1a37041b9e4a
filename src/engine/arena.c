/* Arena: a chain of blocks; reset keeps one block as large as the whole previous step needed,
 * so a training loop reaches a steady state with no malloc at all. */
#include "engine/tensor.h"
#include <string.h>

/* Blocks come from huge_alloc (err.h): a graph's first use of its memory takes one page fault per
 * 2 MiB, not per 4 KiB. On a cold start that was half of `neurop solve`'s time (8,300 faults,
 * 22 ms of system time for a 35 MB graph). */
struct ArenaBlock {
    ArenaBlock *next;
    size_t cap, used;
    char *mem;
};

static ArenaBlock *block_new(size_t cap) {
    ArenaBlock *b = xmalloc(sizeof *b);
    b->next = NULL;
    b->cap = cap;
    b->used = 0;
    b->mem = huge_alloc(cap);
    if (!b->mem) {
        fprintf(stderr, "neurop: out of memory (arena block of %zu bytes)\n", cap);
        exit(2);
    }
    return b;
}

void arena_init(Arena *a, size_t initial) {
    a->head = block_new(initial < 4096 ? 4096 : initial);
    a->used_total = a->peak = 0;
    a->n_spare = 0;
}

void *arena_alloc(Arena *a, size_t bytes) {
    size_t need = (bytes + 63) & ~(size_t)63;
    ArenaBlock *b = a->head;
    if (b->used + need > b->cap) {
        size_t cap = b->cap * 2 > need ? b->cap * 2 : need * 2;
        ArenaBlock *nb = block_new(cap);
        nb->next = b;
        a->head = nb;
        b = nb;
    }
    void *p = b->mem + b->used;
    b->used += need;
    a->used_total += need;
    if (a->used_total > a->peak) a->peak = a->used_total;
    return p;
}

void *arena_calloc(Arena *a, size_t bytes) {
    void *p = arena_alloc(a, bytes);
    memset(p, 0, bytes);
    return p;
}

void arena_reset(Arena *a) {
    if (a->head->next) { /* grew during the step: replace the chain by one block of the peak size */
        size_t cap = a->peak + a->peak / 4;
        arena_free(a);
        a->head = block_new(cap);
    }
    a->head->used = 0;
    a->used_total = 0;
    a->n_spare = 0;
}

void arena_give_back(Arena *a, void *p, size_t bytes) {
    if (!p) return;
    int ours = 0; /* never memory the arena does not hold (a wrapped parameter tensor's) */
    for (ArenaBlock *b = a->head; b && !ours; b = b->next)
        ours = (char *)p >= b->mem && (char *)p + bytes <= b->mem + b->used;
    if (!ours) return;
    int k = a->n_spare;
    if (k == ARENA_SPARES) { /* full: the smallest spare stays unused, if this one is larger */
        k = 0;
        for (int i = 1; i < ARENA_SPARES; i++)
            if (a->spare_bytes[i] < a->spare_bytes[k]) k = i;
        if (a->spare_bytes[k] >= bytes) return;
    } else a->n_spare++;
    a->spare[k] = p;
    a->spare_bytes[k] = bytes;
}

void *arena_reuse(Arena *a, size_t bytes, size_t *got) {
    int best = -1;
    for (int i = 0; i < a->n_spare; i++)
        if (a->spare_bytes[i] >= bytes && a->spare_bytes[i] / 2 <= bytes &&
            (best < 0 || a->spare_bytes[i] < a->spare_bytes[best]))
            best = i;
    if (best < 0) return NULL;
    void *p = a->spare[best];
    *got = a->spare_bytes[best];
    a->spare[best] = a->spare[--a->n_spare];
    a->spare_bytes[best] = a->spare_bytes[a->n_spare];
    return p;
}

void arena_free(Arena *a) {
    for (ArenaBlock *b = a->head, *n; b; b = n) {
        n = b->next;
        free(b->mem);
        free(b);
    }
    a->head = NULL;
}
