/* The declared symmetries of a template and random members of them.
 *
 * A symmetry permutes one or more neuron index spaces (spaces.h). It acts on θ through the
 * tensors' axes (which space each axis runs over, from the tensor's name), on nodes through the
 * node groups' spaces (from ngraph.c), and on edges through the wiring (the edge of the same
 * group between the mapped endpoints). The three are derived independently on purpose: the tests
 * check that they agree and that the θ map leaves the executed function unchanged. */
#include "program/ngraph.h"
#include "program/spaces.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { SYM_HIDDEN, SYM_CHANNELS, SYM_HEADS, SYM_QK, SYM_VO, SYM_MLP } SymKind;
typedef struct Sym {
    SymKind kind;
    int layer;
} Sym;

/* Transformer: 0 = residual channels, then per layer heads, qk, vo, mlp. MLP: one per hidden layer. */
static Sym sym_of(const Template *t, int k) {
    NP_ASSERT(k >= 0 && k < ngraph_n_symmetries(t), "symmetry %d of %d", k, ngraph_n_symmetries(t));
    if (t->kind == TPL_MLP) return (Sym){SYM_HIDDEN, k};
    if (k == 0) return (Sym){SYM_CHANNELS, -1};
    return (Sym){(SymKind)(SYM_HEADS + (k - 1) % 4), (k - 1) / 4};
}

int ngraph_n_symmetries(const Template *t) { return t->kind == TPL_MLP ? t->n_layers - 1 : 1 + 4 * t->n_layers; }

const char *ngraph_symmetry_name(const Template *t, int k) {
    static _Thread_local char buf[64];
    Sym s = sym_of(t, k);
    static const char *const what[] = {"",
                                       "residual channels",
                                       "heads (as blocks)",
                                       "q/k coordinates within each head",
                                       "v coordinates with the o columns they feed",
                                       "mlp hidden units"};
    if (s.kind == SYM_HIDDEN) snprintf(buf, sizeof buf, "hidden.%d units", s.layer);
    else if (s.kind == SYM_CHANNELS) snprintf(buf, sizeof buf, "%s", what[s.kind]);
    else snprintf(buf, sizeof buf, "layers.%d %s", s.layer, what[s.kind]);
    return buf;
}

static int n_spaces(const Template *t) { return t->kind == TPL_MLP ? t->n_layers - 1 : 1 + 4 * t->n_layers; }
static int space_size(const Template *t, int s) {
    if (t->kind == TPL_MLP) return t->widths[s + 1];
    return s > 0 && (s - 1) % 4 == 3 ? t->mlp : t->d;
}

/* perm[s] for every space: identity, except those the symmetry permutes (randomly). */
static int **draw_perms(const Template *t, Sym s, Rng *r) {
    int ns = n_spaces(t);
    int **perm = xcalloc(ns, sizeof *perm);
    for (int i = 0; i < ns; i++) {
        int n = space_size(t, i);
        perm[i] = xmalloc(n * sizeof **perm);
        for (int j = 0; j < n; j++) perm[i][j] = j;
    }
    int l = s.layer, H = t->heads, dh = t->heads ? t->d / t->heads : 0;
    switch (s.kind) {
    case SYM_HIDDEN: rng_shuffle_int(r, perm[SP_HID(l)], space_size(t, SP_HID(l))); break;
    case SYM_CHANNELS: rng_shuffle_int(r, perm[SP_CH], t->d); break;
    case SYM_MLP: rng_shuffle_int(r, perm[SP_M(l)], t->mlp); break;
    case SYM_HEADS: { /* whole heads move: coordinate i of head h goes to coordinate i of head σ(h) */
        int *sigma = xmalloc(H * sizeof *sigma);
        for (int h = 0; h < H; h++) sigma[h] = h;
        rng_shuffle_int(r, sigma, H);
        for (int j = 0; j < t->d; j++)
            perm[SP_Q(l)][j] = perm[SP_K(l)][j] = perm[SP_V(l)][j] = sigma[j / dh] * dh + j % dh;
        free(sigma);
        break;
    }
    case SYM_QK:
    case SYM_VO: /* within each head, its own permutation of coordinates */
        for (int h = 0; h < H; h++) {
            int *p = perm[s.kind == SYM_QK ? SP_Q(l) : SP_V(l)] + h * dh;
            for (int i = 0; i < dh; i++) p[i] = h * dh + i;
            rng_shuffle_int(r, p, dh);
            if (s.kind == SYM_QK) memcpy(perm[SP_K(l)] + h * dh, p, dh * sizeof *p);
        }
        break;
    }
    return perm;
}
static void free_perms(const Template *t, int **perm) {
    for (int i = 0; i < n_spaces(t); i++) free(perm[i]);
    free(perm);
}

/* Which space each axis of tensor `name` runs over ([out, in] for weights; [rows, d] for the
 * embeddings). Every tensor of a template must be known here. */
static void mlp_axes(const Template *t, const char *name, int sp[2]) {
    int l;
    char rest[32];
    NP_ASSERT(sscanf(name, "layers.%d.%31s", &l, rest) == 2, "symmetry: unknown tensor '%s'", name);
    sp[0] = l < t->n_layers - 1 ? SP_HID(l) : SP_NONE;
    sp[1] = !strcmp(rest, "weight") && l > 0 ? SP_HID(l - 1) : SP_NONE;
}
static void transformer_axes(const char *name, int sp[2]) {
    static const struct {
        const char *suffix;
        int a0, a1;
    } tab[] = {
        /* a: 0 CH, 1 Q, 2 K, 3 V, 4 M, -1 none */
        {"ln1.weight", 0, -1},    {"ln1.bias", 0, -1},     {"ln2.weight", 0, -1},    {"ln2.bias", 0, -1},
        {"attn.q.weight", 1, 0},  {"attn.q.bias", 1, -1},  {"attn.k.weight", 2, 0},  {"attn.k.bias", 2, -1},
        {"attn.v.weight", 3, 0},  {"attn.v.bias", 3, -1},  {"attn.o.weight", 0, 3},  {"attn.o.bias", 0, -1},
        {"mlp.fc1.weight", 4, 0}, {"mlp.fc1.bias", 4, -1}, {"mlp.fc2.weight", 0, 4}, {"mlp.fc2.bias", 0, -1},
    };
    int l;
    char rest[48];
    sp[0] = sp[1] = SP_NONE;
    if (!strcmp(name, "embed.weight") || !strcmp(name, "pos.weight") || !strcmp(name, "window.weight") ||
        !strcmp(name, "unembed.weight")) {
        sp[1] = SP_CH;
        return;
    }
    if (!strcmp(name, "ln_f.weight") || !strcmp(name, "ln_f.bias")) {
        sp[0] = SP_CH;
        return;
    }
    if (!strcmp(name, "unembed.bias")) return;
    NP_ASSERT(sscanf(name, "layers.%d.%47s", &l, rest) == 2, "symmetry: unknown tensor '%s'", name);
    for (size_t i = 0; i < sizeof tab / sizeof *tab; i++)
        if (!strcmp(rest, tab[i].suffix)) {
            int a[2] = {tab[i].a0, tab[i].a1};
            for (int k = 0; k < 2; k++) sp[k] = a[k] < 0 ? SP_NONE : a[k] == 0 ? SP_CH : 4 * l + a[k];
            return;
        }
    NP_ASSERT(0, "symmetry: unknown tensor '%s'", name);
}

static int apply(int **perm, int space, int x) { return space == SP_NONE ? x : perm[space][x]; }

static void theta_map(const Template *t, int **perm, long *theta_perm) {
    for (int i = 0; i < t->n_tensors; i++) {
        const TplTensor *tt = &t->tensors[i];
        int sp[2];
        if (t->kind == TPL_MLP) mlp_axes(t, tt->name, sp);
        else transformer_axes(tt->name, sp);
        int R = tt->shape[0], C = tt->ndim == 2 ? tt->shape[1] : 1;
        for (int a = 0; a < R; a++)
            for (int b = 0; b < C; b++)
                theta_perm[tt->off + (long)a * C + b] =
                    tt->off + (long)apply(perm, sp[0], a) * C + (tt->ndim == 2 ? apply(perm, sp[1], b) : 0);
    }
}

static void node_map(const NGraph *g, int **perm, int *node_perm) {
    for (int k = 0; k < g->n_node_groups; k++)
        for (int v = g->node_seg[k]; v < g->node_seg[k + 1]; v++)
            node_perm[v] = g->node_seg[k] + apply(perm, g->node_groups[k].space, v - g->node_seg[k]);
}

typedef struct EdgeKey {
    int group, src, dst, edge;
} EdgeKey;
static int cmp_key(const void *pa, const void *pb) {
    const EdgeKey *a = pa, *b = pb;
    if (a->group != b->group) return a->group < b->group ? -1 : 1;
    if (a->src != b->src) return a->src < b->src ? -1 : 1;
    return a->dst < b->dst ? -1 : a->dst > b->dst;
}

/* Edge e goes to the edge of its group between the mapped endpoints (-1 if there is none). */
static void edge_map(const NGraph *g, const int *node_perm, int *edge_perm) {
    EdgeKey *keys = xmalloc((size_t)g->n_edges * sizeof *keys);
    for (int e = 0; e < g->n_edges; e++) keys[e] = (EdgeKey){g->edge_group[e], g->src[e], g->dst[e], e};
    qsort(keys, g->n_edges, sizeof *keys, cmp_key);
    for (int e = 0; e < g->n_edges; e++) {
        EdgeKey k = {g->edge_group[e], node_perm[g->src[e]], node_perm[g->dst[e]], -1};
        const EdgeKey *hit = bsearch(&k, keys, g->n_edges, sizeof *keys, cmp_key);
        edge_perm[e] = hit ? hit->edge : -1;
    }
    free(keys);
}

void ngraph_symmetry_sample(const Template *t, const NGraph *g, int k, Rng *r, int *node_perm, int *edge_perm,
                            long *theta_perm) {
    int **perm = draw_perms(t, sym_of(t, k), r);
    if (theta_perm) theta_map(t, perm, theta_perm);
    if (node_perm || edge_perm) {
        int *np = node_perm ? node_perm : xmalloc((size_t)g->n_nodes * sizeof *np);
        node_map(g, perm, np);
        if (edge_perm) edge_map(g, np, edge_perm);
        if (!node_perm) free(np);
    }
    free_perms(t, perm);
}
