/* Neural graphs: every θ scalar is exactly one slot, groups are contiguous and tied to their
 * tensors, the sizes of the benchmark templates' graphs, and the declared symmetries agreeing
 * with the graph's wiring. */
#include "test.h"
#include "program/ngraph.h"
#include <stdlib.h>
#include <string.h>

static const char *const GRAPH_TEMPLATES[] = {
    "mlp 10-16-1 act=relu",
    "mlp 4-6-5-2 act=tanh",
    "transformer vocab=101 len=3 d=16 heads=2 mlp=48 classes=100",
    "transformer vocab=9 len=4 d=8 heads=2 mlp=10 classes=6 layers=1 prenorm=0",
    "transformer vocab=7 len=5 d=12 heads=3 mlp=9 classes=5 layers=2 prenorm=1 readout=all",
    "transformer vocab=7 len=3 d=8 heads=4 mlp=6 classes=4 layers=2 prenorm=0",
};
#define N_GT (int)(sizeof GRAPH_TEMPLATES / sizeof *GRAPH_TEMPLATES)

static int build(TestCtx *t_, const char *text, Template *t, NGraph *g) {
    Err e = {{0}};
    if (template_parse(text, t, &e) || ngraph_build(t, g, 1, &e)) {
        CHECK(0, "%s: %s", text, e.msg);
        return -1;
    }
    return 0;
}

TEST(program_graph_slots_cover_theta_once) {
    for (int k = 0; k < N_GT; k++) {
        Template t;
        NGraph g;
        if (build(t_, GRAPH_TEMPLATES[k], &t, &g)) continue;
        long decoded = 0;
        int *count = xcalloc(t.n_theta, sizeof *count);
        for (int v = 0; v < g.n_nodes; v++)
            if (g.node_slot[v] >= 0) {
                decoded++;
                count[g.node_slot[v]]++;
            }
        for (int e = 0; e < g.n_edges; e++)
            if (g.edge_slot[e] >= 0) {
                decoded++;
                count[g.edge_slot[e]]++;
            }
        CHECK(decoded == t.n_theta && g.n_theta == t.n_theta, "%s: %ld decoded slots, |θ| = %ld", GRAPH_TEMPLATES[k],
              decoded, t.n_theta);
        long bad = 0;
        for (long i = 0; i < t.n_theta; i++) bad += count[i] != 1;
        CHECK(bad == 0, "%s: %ld θ indices not held by exactly one slot", GRAPH_TEMPLATES[k], bad);
        /* θ -> slot values -> θ, bit-exact, through ngraph_theta_rows */
        float *theta = xmalloc(t.n_theta * sizeof *theta),
              *vals = xmalloc((g.n_nodes + (size_t)g.n_edges) * sizeof *vals);
        int *rows = xmalloc(t.n_theta * sizeof *rows);
        Rng r;
        rng_seed(&r, k);
        for (long i = 0; i < t.n_theta; i++) theta[i] = rng_normal(&r);
        for (int v = 0; v < g.n_nodes; v++) vals[v] = g.node_slot[v] >= 0 ? theta[g.node_slot[v]] : NAN;
        for (int e = 0; e < g.n_edges; e++) vals[g.n_nodes + e] = g.edge_slot[e] >= 0 ? theta[g.edge_slot[e]] : NAN;
        ngraph_theta_rows(&g, rows);
        long diff = 0;
        for (long i = 0; i < t.n_theta; i++)
            diff += rows[i] < 0 || memcmp(&vals[rows[i]], &theta[i], sizeof(float)) != 0;
        CHECK(diff == 0, "%s: %ld θ scalars differ after θ -> slots -> θ", GRAPH_TEMPLATES[k], diff);
        free(count);
        free(theta);
        free(vals);
        free(rows);
        ngraph_free(&g);
    }
}

/* Without encodings (what a Meta-GNN with learned codes builds) the graph is the same graph:
 * every group, edge, slot and index as with them, and no encodings. */
TEST(program_graph_without_encodings_is_the_same_graph) {
    for (int k = 0; k < N_GT; k++) {
        Template t;
        NGraph a, b;
        Err e = {{0}};
        if (build(t_, GRAPH_TEMPLATES[k], &t, &a)) continue;
        CHECK(ngraph_build(&t, &b, 0, &e) == 0, "%s", e.msg);
        CHECK(a.node_pe && a.edge_pe && !b.node_pe && !b.edge_pe, "%s: encodings built %d %d, %d %d",
              GRAPH_TEMPLATES[k], !!a.node_pe, !!a.edge_pe, !!b.node_pe, !!b.edge_pe);
        CHECK(a.n_nodes == b.n_nodes && a.n_edges == b.n_edges && a.n_node_groups == b.n_node_groups &&
                  a.n_edge_groups == b.n_edge_groups,
              "%s: sizes differ", GRAPH_TEMPLATES[k]);
        if (a.n_nodes != b.n_nodes || a.n_edges != b.n_edges) goto next;
        CHECK(!memcmp(a.node_group, b.node_group, a.n_nodes * sizeof *a.node_group) &&
                  !memcmp(a.node_slot, b.node_slot, a.n_nodes * sizeof *a.node_slot) &&
                  !memcmp(a.node_ix, b.node_ix, 2 * a.n_nodes * sizeof *a.node_ix) &&
                  !memcmp(a.edge_group, b.edge_group, a.n_edges * sizeof *a.edge_group) &&
                  !memcmp(a.src, b.src, a.n_edges * sizeof *a.src) &&
                  !memcmp(a.dst, b.dst, a.n_edges * sizeof *a.dst) &&
                  !memcmp(a.edge_slot, b.edge_slot, a.n_edges * sizeof *a.edge_slot) &&
                  !memcmp(a.edge_ix, b.edge_ix, 2 * a.n_edges * sizeof *a.edge_ix) &&
                  !memcmp(a.node_seg, b.node_seg, (a.n_node_groups + 1) * sizeof *a.node_seg) &&
                  !memcmp(a.edge_seg, b.edge_seg, (a.n_edge_groups + 1) * sizeof *a.edge_seg),
              "%s: the graph differs without encodings", GRAPH_TEMPLATES[k]);
    next:
        ngraph_free(&a);
        ngraph_free(&b);
    }
}

TEST(program_graph_groups_are_contiguous_and_tied) {
    for (int k = 0; k < N_GT; k++) {
        Template t;
        NGraph g;
        if (build(t_, GRAPH_TEMPLATES[k], &t, &g)) continue;
        const char *name = GRAPH_TEMPLATES[k];
        CHECK(g.node_seg[0] == 0 && g.node_seg[g.n_node_groups] == g.n_nodes, "%s: node segments", name);
        CHECK(g.edge_seg[0] == 0 && g.edge_seg[g.n_edge_groups] == g.n_edges, "%s: edge segments", name);
        for (int s = 0; s < g.n_node_groups; s++) {
            const NGroup *gr = &g.node_groups[s];
            CHECK(g.node_seg[s] < g.node_seg[s + 1], "%s: empty node group %s", name, gr->name);
            for (int v = g.node_seg[s]; v < g.node_seg[s + 1]; v++) {
                CHECK(g.node_group[v] == s, "%s: node %d outside its group's range", name, v);
                long want = gr->tensor >= 0 ? t.tensors[gr->tensor].off + (v - g.node_seg[s]) : -1;
                CHECK(g.node_slot[v] == want, "%s: node %d of %s holds %ld, want %ld", name, v, gr->name,
                      g.node_slot[v], want);
            }
            CHECK(gr->tensor < 0 || t.tensors[gr->tensor].numel == g.node_seg[s + 1] - g.node_seg[s], "%s: %s size",
                  name, gr->name);
        }
        for (int s = 0; s < g.n_edge_groups; s++) {
            const NGroup *gr = &g.edge_groups[s];
            CHECK(gr->structural == (gr->tensor < 0), "%s: %s structural flag", name, gr->name);
            CHECK(gr->tensor < 0 || !strcmp(gr->name, t.tensors[gr->tensor].name),
                  "%s: edge group %s is not named after its tensor", name, gr->name);
            for (int e = g.edge_seg[s]; e < g.edge_seg[s + 1]; e++) {
                CHECK(g.edge_group[e] == s, "%s: edge %d outside its group's range", name, e);
                long want = gr->tensor >= 0 ? t.tensors[gr->tensor].off + (e - g.edge_seg[s]) : -1;
                CHECK(g.edge_slot[e] == want, "%s: edge %d of %s holds %ld, want %ld", name, e, gr->name,
                      g.edge_slot[e], want);
                CHECK(g.src[e] >= 0 && g.src[e] < g.n_nodes && g.dst[e] >= 0 && g.dst[e] < g.n_nodes &&
                          g.src[e] != g.dst[e],
                      "%s: edge %d endpoints", name, e);
            }
        }
        /* positional encodings: finite and distinct within every group of size > 1 */
        for (int s = 0; s < g.n_node_groups; s++)
            for (int v = g.node_seg[s] + 1; v < g.node_seg[s + 1]; v++)
                CHECK(memcmp(g.node_pe + (size_t)v * NG_PE_DIM, g.node_pe + (size_t)(v - 1) * NG_PE_DIM,
                             NG_PE_DIM * sizeof(float)),
                      "%s: nodes %d and %d share a positional encoding", name, v - 1, v);
        for (int e = 1; e < g.n_edges; e++)
            CHECK(g.edge_group[e] != g.edge_group[e - 1] ||
                      memcmp(g.edge_pe + (size_t)e * NG_PE_DIM, g.edge_pe + (size_t)(e - 1) * NG_PE_DIM,
                             NG_PE_DIM * sizeof(float)),
                  "%s: edges %d and %d share a positional encoding", name, e - 1, e);
        for (long i = 0; i < (long)g.n_edges * NG_PE_DIM; i++)
            CHECK(isfinite(g.edge_pe[i]), "%s: edge PE not finite", name);
        ngraph_free(&g);
    }
}

TEST(program_graph_benchmark_sizes) {
    Template t;
    NGraph g;
    if (!build(t_, "mlp 10-16-1 act=relu", &t, &g)) {
        CHECK(g.n_nodes == 27 && g.n_edges == 176 && g.n_node_groups == 3 && g.n_edge_groups == 2,
              "mlp 10-16-1: %d nodes, %d edges, %d+%d groups", g.n_nodes, g.n_edges, g.n_node_groups, g.n_edge_groups);
        CHECK(ngraph_find_group(&g, 0, "hidden.0") == 1 && ngraph_find_group(&g, 1, "layers.1.weight") == 1,
              "mlp group names");
        ngraph_free(&g);
    }
    if (!build(t_, "transformer vocab=101 len=3 d=16 heads=2 mlp=48 classes=100", &t, &g)) {
        /* nodes: 101 tokens + 3 positions + 11 groups of d=16 + 48 MLP hidden + 100 outputs */
        int nodes = 101 + 3 + 11 * 16 + 48 + 100;
        /* edges: embeddings, 3 LN gains, q/k/v/o, fc1, fc2, unembed + 5 structural groups of d */
        int edges = 101 * 16 + 3 * 16 + 3 * 16 + 4 * 256 + 2 * 768 + 1600 + 5 * 16;
        CHECK(g.n_nodes == nodes && g.n_edges == edges, "addmod transformer: %d nodes (want %d), %d edges (want %d)",
              g.n_nodes, nodes, g.n_edges, edges);
        CHECK(g.n_node_groups == 15 && g.n_edge_groups == 17, "addmod transformer: %d node groups, %d edge groups",
              g.n_node_groups, g.n_edge_groups);
        int qk = ngraph_find_group(&g, 1, "layers.0.attn.qk");
        int q = ngraph_find_group(&g, 0, "layers.0.attn.q"), kk = ngraph_find_group(&g, 0, "layers.0.attn.k");
        CHECK(qk >= 0 && g.edge_groups[qk].structural && g.src[g.edge_seg[qk] + 5] == g.node_seg[q] + 5 &&
                  g.dst[g.edge_seg[qk] + 5] == g.node_seg[kk] + 5,
              "q_i -> k_i structural edges");
        ngraph_free(&g);
    }
}

static int is_perm_int(const int *p, int n) {
    char *seen = xcalloc(n, 1);
    int ok = 1;
    for (int i = 0; i < n && ok; i++) ok = p[i] >= 0 && p[i] < n && !seen[p[i]]++;
    free(seen);
    return ok;
}

/* For every declared symmetry: node, edge and θ maps are permutations, preserve groups, map
 * every edge to the edge between the mapped endpoints, and move slots as θ moves. */
TEST(program_symmetries_agree_with_graph) {
    for (int k = 0; k < N_GT; k++) {
        Template t;
        NGraph g;
        if (build(t_, GRAPH_TEMPLATES[k], &t, &g)) continue;
        const char *name = GRAPH_TEMPLATES[k];
        int *np = xmalloc(g.n_nodes * sizeof *np), *ep = xmalloc(g.n_edges * sizeof *ep);
        long *tp = xmalloc(t.n_theta * sizeof *tp);
        int *tpi = xmalloc(t.n_theta * sizeof *tpi);
        Rng r;
        rng_seed(&r, 300 + k);
        int want_syms = t.kind == TPL_MLP ? t.n_layers - 1 : 1 + 4 * t.n_layers;
        CHECK(ngraph_n_symmetries(&t) == want_syms, "%s: %d symmetries", name, ngraph_n_symmetries(&t));
        for (int s = 0; s < ngraph_n_symmetries(&t); s++) {
            const char *sym = ngraph_symmetry_name(&t, s);
            long moved = 0;
            for (int rep = 0; rep < 8; rep++) { /* a 2-element shuffle is the identity half the time */
                ngraph_symmetry_sample(&t, &g, s, &r, np, ep, tp);
                for (long i = 0; i < t.n_theta; i++) tpi[i] = (int)tp[i];
                CHECK(is_perm_int(np, g.n_nodes) && is_perm_int(tpi, (int)t.n_theta), "%s / %s: not a permutation",
                      name, sym);
                long bad_nodes = 0, bad_edges = 0;
                for (int v = 0; v < g.n_nodes; v++) {
                    moved += np[v] != v;
                    bad_nodes += g.node_group[np[v]] != g.node_group[v] ||
                                 (g.node_slot[v] >= 0 && tp[g.node_slot[v]] != g.node_slot[np[v]]);
                }
                for (int e = 0; e < g.n_edges; e++) {
                    int f = ep[e];
                    bad_edges += f < 0 || g.edge_group[f] != g.edge_group[e] || g.src[f] != np[g.src[e]] ||
                                 g.dst[f] != np[g.dst[e]] ||
                                 (g.edge_slot[e] >= 0 && tp[g.edge_slot[e]] != g.edge_slot[f]);
                }
                CHECK(bad_nodes == 0 && bad_edges == 0, "%s / %s: %ld nodes, %ld edges disagree", name, sym, bad_nodes,
                      bad_edges);
                CHECK(bad_edges || is_perm_int(ep, g.n_edges), "%s / %s: edge map not a permutation", name, sym);
            }
            CHECK(moved > 0, "%s / %s: moved nothing in 8 draws", name, sym);
        }
        free(np);
        free(ep);
        free(tp);
        free(tpi);
        ngraph_free(&g);
    }
}
