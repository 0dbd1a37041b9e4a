/* Building the neural graph of a template (see ngraph.h and docs/programs.md).
 *
 * Nodes and edges are appended one group at a time, so every group is a contiguous range and the
 * graph comes out sorted by group. A decoded group is always "one template tensor, in tensor
 * order": its k-th member holds θ[tensor.off + k]. That keeps θ -> slots -> θ trivially
 * bijective and lets a decoder write a whole group as one contiguous block.
 *
 * Positional encodings (NG_PE_DIM = 8): two indices, NG_PE_AXIS = 4 features each, enc(x, n) =
 * (x/n, sin 2πx/n, cos 2πx/n, sin 4πx/n); a larger NG_PE_AXIS adds sin/cos pairs at frequencies
 * f = 2, 4, 8, ... (cycles over the axis), the last odd slot a sine at the next frequency. A node encodes (its index in its group, its head) —
 * the head half is zero outside attention; an edge encodes (row, column) of its weight in its
 * tensor; a LayerNorm gain edge (row = column = channel); a structural edge (dst index, src index). */
#include "program/ngraph.h"
#include "program/spaces.h"
#include <math.h>
#include <stdio.h>
#include <string.h>

typedef struct Builder {
    const Template *t;
    NGraph *g;
    int cap_nodes, cap_edges, cap_ngroups, cap_egroups;
    int pe; /* build node_pe and edge_pe (else NULL) */
} Builder;

static void pe_enc(float *out, int x, int n) {
    const double tau = 6.283185307179586;
    double u = n > 0 ? (double)x / n : 0.0;
    out[0] = (float)u;
    /* frequencies 1, 2, 4, ... cycles over the axis: the k-th pair tells apart ~2^(k+1) indices */
    for (int k = 0; 2 * k + 2 < NG_PE_AXIS; k++) {
        out[2 * k + 1] = (float)sin(tau * (1 << k) * u);
        out[2 * k + 2] = (float)cos(tau * (1 << k) * u);
    }
    if (NG_PE_AXIS % 2 == 0) out[NG_PE_AXIS - 1] = (float)sin(tau * (1 << (NG_PE_AXIS / 2 - 1)) * u);
}

static NGroup *new_group(NGroup **arr, int *n, int *cap, int **seg, const char *name, int tensor, int start) {
    if (*n + 2 > *cap) {
        *cap = *cap ? 2 * *cap : 32;
        *arr = xrealloc(*arr, *cap * sizeof **arr);
        *seg = xrealloc(*seg, (*cap + 1) * sizeof **seg);
    }
    NGroup *gr = &(*arr)[*n];
    memset(gr, 0, sizeof *gr);
    snprintf(gr->name, sizeof gr->name, "%s", name);
    gr->tensor = tensor;
    gr->space = SP_NONE;
    (*seg)[*n] = start;
    (*seg)[++*n] = start;
    return gr;
}

static void grow_nodes(Builder *b, int need) {
    NGraph *g = b->g;
    if (g->n_nodes + need <= b->cap_nodes) return;
    while (g->n_nodes + need > b->cap_nodes) b->cap_nodes = b->cap_nodes ? 2 * b->cap_nodes : 256;
    g->node_group = xrealloc(g->node_group, b->cap_nodes * sizeof *g->node_group);
    g->node_slot = xrealloc(g->node_slot, b->cap_nodes * sizeof *g->node_slot);
    if (b->pe) g->node_pe = xrealloc(g->node_pe, (size_t)b->cap_nodes * NG_PE_DIM * sizeof *g->node_pe);
    g->node_ix = xrealloc(g->node_ix, (size_t)b->cap_nodes * 2 * sizeof *g->node_ix);
}
/* The edge arrays share one block, edge_slot first (what ngraph_free frees): a megabyte at the
 * template's 37,098 weights, in huge pages, where the arrays apart took 260 page faults (huge_alloc,
 * err.h). Moved whole when the edges outgrow it. */
static void grow_edges(Builder *b, long need) {
    NGraph *g = b->g;
    if (g->n_edges + need <= b->cap_edges) return;
    while (g->n_edges + need > b->cap_edges) b->cap_edges = b->cap_edges ? 2 * b->cap_edges : 1024;
    size_t n = (size_t)b->cap_edges, pe = b->pe ? NG_PE_DIM : 0;
    char *block = xhuge_alloc(n * (sizeof(long) + (5 + pe) * sizeof(int)));
    long *slot = (long *)(void *)block;
    int *ix = (int *)(slot + n), *group = ix + 2 * n, *src = group + n, *dst = src + n;
    float *epe = pe ? (float *)(dst + n) : NULL;
    size_t m = (size_t)g->n_edges;
    if (m) {
        memcpy(slot, g->edge_slot, m * sizeof *slot);
        memcpy(ix, g->edge_ix, 2 * m * sizeof *ix);
        memcpy(group, g->edge_group, m * sizeof *group);
        memcpy(src, g->src, m * sizeof *src);
        memcpy(dst, g->dst, m * sizeof *dst);
        if (pe) memcpy(epe, g->edge_pe, m * pe * sizeof *epe);
    }
    free(g->edge_slot);
    g->edge_slot = slot;
    g->edge_ix = ix;
    g->edge_group = group;
    g->src = src;
    g->dst = dst;
    g->edge_pe = epe;
}

/* n nodes of one group; bias is the tensor holding their slots (NULL: none); heads > 0 for
 * attention nodes (index h*dh + i). Returns the first node's index. */
static int add_nodes(Builder *b, const char *name, int n, const char *bias, int space, int heads) {
    NGraph *g = b->g;
    int ti = bias ? template_find(b->t, bias) : -1;
    NP_ASSERT(!bias || (ti >= 0 && b->t->tensors[ti].numel == n), "ngraph: bias '%s' for %d nodes", bias, n);
    int first = g->n_nodes;
    NGroup *gr = new_group(&g->node_groups, &g->n_node_groups, &b->cap_ngroups, &g->node_seg, name, ti, first);
    gr->space = space;
    grow_nodes(b, n);
    for (int i = 0; i < n; i++) {
        int v = g->n_nodes++;
        g->node_group[v] = g->n_node_groups - 1;
        g->node_slot[v] = ti >= 0 ? b->t->tensors[ti].off + i : -1;
        g->node_ix[2 * v] = i;
        g->node_ix[2 * v + 1] = heads > 0 ? i / (n / heads) : 0;
        if (!b->pe) continue;
        float *pe = g->node_pe + (size_t)v * NG_PE_DIM;
        pe_enc(pe, i, n);
        if (heads > 0) pe_enc(pe + NG_PE_AXIS, i / (n / heads), heads);
        else memset(pe + NG_PE_AXIS, 0, NG_PE_AXIS * sizeof *pe);
    }
    g->node_seg[g->n_node_groups] = g->n_nodes;
    return first;
}

/* pe_row, pe_col: pe_enc(row, nrow) and pe_enc(col, ncol), computed once per index by the caller
 * (a matrix's edges share them; sin and cos per edge were 40% of opening a run). */
static void push_edge(Builder *b, int src, int dst, long slot, int row, int col, const float *pe_row,
                      const float *pe_col) {
    NGraph *g = b->g;
    int e = g->n_edges++;
    g->edge_group[e] = g->n_edge_groups - 1;
    g->src[e] = src;
    g->dst[e] = dst;
    g->edge_slot[e] = slot;
    g->edge_ix[2 * e] = row;
    g->edge_ix[2 * e + 1] = col;
    if (!b->pe) return;
    memcpy(g->edge_pe + (size_t)e * NG_PE_DIM, pe_row, NG_PE_AXIS * sizeof *pe_row);
    memcpy(g->edge_pe + (size_t)e * NG_PE_DIM + NG_PE_AXIS, pe_col, NG_PE_AXIS * sizeof *pe_col);
}

/* pe_enc(i, n) for i < n: [n, NG_PE_AXIS], caller frees; NULL when the graph has no encodings */
static float *pe_table(const Builder *b, int n) {
    if (!b->pe) return NULL;
    float *t = xmalloc((size_t)(n > 0 ? n : 1) * NG_PE_AXIS * sizeof *t);
    for (int i = 0; i < n; i++) pe_enc(t + (size_t)i * NG_PE_AXIS, i, n);
    return t;
}

static void open_edge_group(Builder *b, const char *name, int tensor, int structural, long n) {
    NGraph *g = b->g;
    NGroup *gr = new_group(&g->edge_groups, &g->n_edge_groups, &b->cap_egroups, &g->edge_seg, name, tensor, g->n_edges);
    gr->structural = structural;
    grow_edges(b, n);
}
static void close_edge_group(Builder *b) { b->g->edge_seg[b->g->n_edge_groups] = b->g->n_edges; }

/* The edges of weight tensor `name` in tensor order (so edge k holds θ[off + k]).
 * A Linear weight [out, in] reads node src0 + col and feeds dst0 + row; an embedding [rows, d]
 * (rows_are_src) reads src0 + row (the token or position) and feeds dst0 + col (the channel). */
static void add_weight_edges(Builder *b, const char *name, int src0, int dst0, int rows_are_src) {
    int ti = template_find(b->t, name);
    NP_ASSERT(ti >= 0 && b->t->tensors[ti].ndim == 2, "ngraph: no weight '%s'", name);
    const TplTensor *tt = &b->t->tensors[ti];
    int R = tt->shape[0], C = tt->shape[1];
    open_edge_group(b, name, ti, 0, tt->numel);
    float *pr = pe_table(b, R), *pc = pe_table(b, C);
    for (int r = 0; r < R; r++)
        for (int c = 0; c < C; c++)
            push_edge(b, rows_are_src ? src0 + r : src0 + c, rows_are_src ? dst0 + c : dst0 + r,
                      tt->off + (long)r * C + c, r, c, pr ? pr + (size_t)r * NG_PE_AXIS : NULL,
                      pc ? pc + (size_t)c * NG_PE_AXIS : NULL);
    free(pr);
    free(pc);
    close_edge_group(b);
}

/* src0 + i -> dst0 + i for i < n: a LayerNorm gain (slots of tensor `gain`) or, with gain NULL,
 * structural wiring named `name`. */
static void add_diag_edges(Builder *b, const char *name, const char *gain, int src0, int dst0, int n) {
    int ti = gain ? template_find(b->t, gain) : -1;
    NP_ASSERT(!gain || (ti >= 0 && b->t->tensors[ti].numel == n), "ngraph: gain '%s'", gain);
    open_edge_group(b, gain ? gain : name, ti, !gain, n);
    float *pe = pe_table(b, n);
    for (int i = 0; i < n; i++) {
        const float *p = pe ? pe + (size_t)i * NG_PE_AXIS : NULL;
        push_edge(b, src0 + i, dst0 + i, ti >= 0 ? b->t->tensors[ti].off + i : -1, i, i, p, p);
    }
    free(pe);
    close_edge_group(b);
}

static void build_mlp(Builder *b) {
    const Template *t = b->t;
    char name[64], bias[64];
    int prev = add_nodes(b, "input", t->widths[0], NULL, SP_NONE, 0);
    for (int l = 0; l < t->n_layers; l++) {
        int last = l == t->n_layers - 1;
        snprintf(name, sizeof name, last ? "output" : "hidden.%d", l);
        snprintf(bias, sizeof bias, "layers.%d.bias", l);
        int cur = add_nodes(b, name, t->widths[l + 1], bias, last ? SP_NONE : SP_HID(l), 0);
        snprintf(name, sizeof name, "layers.%d.weight", l);
        add_weight_edges(b, name, prev, cur, 0);
        prev = cur;
    }
}

/* A LayerNorm on stream nodes x: its nodes (bias slots) and gain edges. Returns the LN nodes,
 * or x itself without prenorm (there is no LayerNorm then). */
static int add_norm(Builder *b, const char *prefix, int x) {
    if (!b->t->prenorm) return x;
    char w[72], bias[72]; /* a prefix (up to 63 chars) + ".weight" */
    snprintf(w, sizeof w, "%s.weight", prefix);
    snprintf(bias, sizeof bias, "%s.bias", prefix);
    int ln = add_nodes(b, prefix, b->t->d, bias, SP_CH, 0);
    add_diag_edges(b, NULL, w, x, ln, b->t->d);
    return ln;
}

/* Linear layer "prefix" whose output neurons are the new group `nodes`: nodes + weight edges. */
static int add_linear(Builder *b, const char *nodes, const char *prefix, int src0, int n, int space, int heads) {
    char w[72], bias[72]; /* a prefix (up to 63 chars) + ".weight" */
    snprintf(w, sizeof w, "%s.weight", prefix);
    snprintf(bias, sizeof bias, "%s.bias", prefix);
    int first = add_nodes(b, nodes, n, bias, space, heads);
    add_weight_edges(b, w, src0, first, 0);
    return first;
}

/* x_out = x_in + branch: new stream nodes with the skip and the branch as structural edges. */
static int add_residual(Builder *b, const char *name, int x_in, int branch) {
    char e[80];
    int x = add_nodes(b, name, b->t->d, NULL, SP_CH, 0);
    snprintf(e, sizeof e, "%s.skip", name);
    add_diag_edges(b, e, NULL, x_in, x, b->t->d);
    snprintf(e, sizeof e, "%s.add", name);
    add_diag_edges(b, e, NULL, branch, x, b->t->d);
    return x;
}

static int build_block(Builder *b, int l, int x) {
    const Template *t = b->t;
    int d = t->d, H = t->heads, qkv[3];
    char p[64], n[64];
    snprintf(p, sizeof p, "layers.%d.ln1", l);
    int h = add_norm(b, p, x);
    for (int k = 0; k < 3; k++) {
        snprintf(p, sizeof p, "layers.%d.attn.%c", l, "qkv"[k]);
        qkv[k] = add_linear(b, p, p, h, d, k == 0 ? SP_Q(l) : k == 1 ? SP_K(l) : SP_V(l), H);
    }
    /* q_{h,i} and k_{h,i} meet in the dot product: wire them so message passing sees the pairing */
    snprintf(p, sizeof p, "layers.%d.attn.qk", l);
    add_diag_edges(b, p, NULL, qkv[0], qkv[1], d);
    snprintf(p, sizeof p, "layers.%d.attn.o", l);
    int o = add_linear(b, p, p, qkv[2], d, SP_CH, 0);
    snprintf(n, sizeof n, "layers.%d.res_attn", l);
    x = add_residual(b, n, x, o);
    snprintf(p, sizeof p, "layers.%d.ln2", l);
    h = add_norm(b, p, x);
    snprintf(p, sizeof p, "layers.%d.mlp.fc1", l);
    int u = add_linear(b, p, p, h, t->mlp, SP_M(l), 0);
    snprintf(p, sizeof p, "layers.%d.mlp.fc2", l);
    int f = add_linear(b, p, p, u, d, SP_CH, 0);
    snprintf(n, sizeof n, "layers.%d.res_mlp", l);
    return add_residual(b, n, x, f);
}

static void build_transformer(Builder *b) {
    const Template *t = b->t;
    int tok = add_nodes(b, "input.token", t->vocab, NULL, SP_NONE, 0);
    int pos = add_nodes(b, "input.pos", t->len, NULL, SP_NONE, 0);
    /* a window's (offset, token) pairs: input nodes like the tokens, one per row of its table */
    int win = t->window ? add_nodes(b, "input.window", 2 * t->window * t->vocab, NULL, SP_NONE, 0) : -1;
    int x = add_nodes(b, "res.0", t->d, NULL, SP_CH, 0);
    add_weight_edges(b, "embed.weight", tok, x, 1);
    add_weight_edges(b, "pos.weight", pos, x, 1);
    if (t->window) add_weight_edges(b, "window.weight", win, x, 1);
    for (int l = 0; l < t->n_layers; l++) x = build_block(b, l, x);
    x = add_norm(b, "ln_f", x);
    add_linear(b, "output", "unembed", x, t->classes, SP_NONE, 0);
}

int ngraph_build(const Template *t, NGraph *g, int with_pe, Err *e) {
    memset(g, 0, sizeof *g);
    if (t->n_tensors == 0) return err_set(e, "ngraph: empty template");
    Builder b = {.t = t, .g = g, .pe = with_pe};
    /* every weight is an edge (every other θ slot a node): room for them at once, not by doubling
     * and copying (half of opening an arc-demo run's neural graph); structural edges may add one */
    grow_edges(&b, t->n_theta);
    if (t->kind == TPL_MLP) build_mlp(&b);
    else build_transformer(&b);
    g->n_theta = t->n_theta;
    return 0;
}

void ngraph_free(NGraph *g) {
    free(g->node_groups);
    free(g->edge_groups);
    free(g->node_seg);
    free(g->edge_seg);
    free(g->node_group);
    free(g->node_slot);
    free(g->edge_slot); /* and the other edge arrays: grow_edges */
    free(g->node_pe);
    free(g->node_ix);
    memset(g, 0, sizeof *g);
}

void ngraph_theta_rows(const NGraph *g, int *rows) {
    for (long i = 0; i < g->n_theta; i++) rows[i] = -1;
    for (int v = 0; v < g->n_nodes; v++)
        if (g->node_slot[v] >= 0) rows[g->node_slot[v]] = v;
    for (int k = 0; k < g->n_edges; k++)
        if (g->edge_slot[k] >= 0) rows[g->edge_slot[k]] = g->n_nodes + k;
}

int ngraph_find_group(const NGraph *g, int edges, const char *name) {
    int n = edges ? g->n_edge_groups : g->n_node_groups;
    const NGroup *gr = edges ? g->edge_groups : g->node_groups;
    for (int i = 0; i < n; i++)
        if (!strcmp(gr[i].name, name)) return i;
    return -1;
}
