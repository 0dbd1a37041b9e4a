/* ADDMOD-p: tokens [a, b, '='] with 0 <= a, b < p, label (a + b) mod p read at the last position.
 * Each train prime's p² pairs are split once, by the prime alone (the same in every run): a
 * pseudo-random permutation of the pair indices ranks them, the first ~10% are val, the next
 * ~10% test, the rest train. The permutation is a keyed Feistel network with cycle-walking, so
 * the split of one pair is computed directly, with no table and no shared state. OOD primes
 * (23, 53, 83) have no train pairs: every pair is OOD test. */
#include "tasks/internal.h"
#include <stdlib.h>

#define ADDMOD_EQ 100 /* the '=' token */

/* Held-out pairs per split: round(10% of p²), at least one so every prime has a val/test set. */
static int n_hold(int p) {
    int n = (p * p + 5) / 10;
    return n < 1 ? 1 : n;
}

/* One pass of a 4-round balanced Feistel network on 2h-bit values: a bijection of [0, 4^h). */
static uint32_t feistel(uint32_t x, int h, uint64_t key) {
    uint32_t mask = (1u << h) - 1, l = x >> h, r = x & mask;
    for (int round = 0; round < 4; round++) {
        uint32_t f = (uint32_t)task_hash_mix(key + (uint64_t)round, r) & mask;
        uint32_t t = l ^ f;
        l = r;
        r = t;
    }
    return (l << h) | r;
}

/* Rank of pair index i in the fixed permutation of [0, p²): cycle-walking keeps the bijection
 * on the smaller domain. */
static int pair_rank(int p, int i) {
    int n = p * p, h = 1;
    while ((1 << (2 * h)) < n) h++;
    uint64_t key = task_hash_mix(0x4144444d4f44ULL /* "ADDMOD" */, (uint64_t)p);
    uint32_t x = (uint32_t)i;
    do x = feistel(x, h, key);
    while (x >= (uint32_t)n);
    return (int)x;
}

Split addmod_split_of(int p, int a, int b) {
    int rank = pair_rank(p, a * p + b), h = n_hold(p);
    return rank < h ? SPLIT_VAL : rank < 2 * h ? SPLIT_TEST : SPLIT_TRAIN;
}

long addmod_train_size(int p) { return (long)p * p - 2L * n_hold(p); }

static void write_pair(int p, int a, int b, int *tok, int *lab) {
    tok[0] = a;
    tok[1] = b;
    tok[2] = ADDMOD_EQ;
    lab[0] = (a + b) % p;
}

void addmod_draw(Intent u, Split s, Rng *r, int *tok, int *lab) {
    int p = u.param, a, b;
    do {
        a = rng_int(r, p);
        b = rng_int(r, p);
    } while (s != SPLIT_OOD && addmod_split_of(p, a, b) != s);
    write_pair(p, a, b, tok, lab);
}

int addmod_eval_set(const Task *t, Intent u, Split s, int max_n, uint64_t seed, Examples *ex) {
    int p = u.param, m = 0, *idx = xmalloc(sizeof *idx * (size_t)(p * p));
    for (int i = 0; i < p * p; i++)
        if (s == SPLIT_OOD || addmod_split_of(p, i / p, i % p) == s) idx[m++] = i;
    if (m > max_n) {
        /* A seeded subset; the full split is the default when max_n is large enough. */
        Rng r;
        rng_seed(&r, task_hash_mix(seed, task_hash_mix((uint64_t)p, (uint64_t)s)));
        rng_shuffle_int(&r, idx, m);
        m = max_n;
    }
    examples_alloc(t, m, ex);
    for (int k = 0; k < m; k++)
        write_pair(p, idx[k] / p, idx[k] % p, ex->tok + (size_t)k * t->seq_len, ex->lab + (size_t)k * t->out_len);
    ex->n = m;
    free(idx);
    return m;
}
