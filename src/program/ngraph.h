/* The neural graph of a template: every neuron a node (its bias, if any, is the node's slot),
 * every weight an edge from the neuron it reads to the neuron it feeds (the weight is the edge's
 * slot); residual paths and other wiring without a weight are structural edges (slot -1, never
 * decoded). Every θ scalar is the slot of exactly one node or edge.
 *
 * Nodes and edges carry a group: the permutation-equivalence class that the meta-learners tie
 * their weights over (all hidden units of one MLP layer; the edges of one weight matrix; ...).
 * Within a graph, nodes are sorted by group and edges by group, so a group is a contiguous range
 * (node_seg / edge_seg), which is what op_segmm wants. */
#ifndef NEUROP_NGRAPH_H
#define NEUROP_NGRAPH_H
#include "program/template.h"

#define NG_PE_DIM 8   /* positional-encoding features per slot (see ngraph.c for what they are) */

typedef struct NGroup {
    char name[64];           /* e.g. "layers.0.attn.q.weight" for an edge group, "hidden.0" for nodes */
    int structural;          /* edges of this group have no slot */
} NGroup;

typedef struct NGraph {
    int n_nodes, n_edges;
    int n_node_groups, n_edge_groups;
    NGroup *node_groups, *edge_groups;
    int *node_seg, *edge_seg;     /* [n_groups + 1] contiguous ranges */
    int *node_group;              /* [n_nodes] */
    long *node_slot;              /* [n_nodes] θ index of the bias (or LayerNorm bias), or -1 */
    int *edge_group;              /* [n_edges] */
    int *src, *dst;               /* [n_edges] */
    long *edge_slot;              /* [n_edges] θ index of the weight, or -1 (structural) */
    float *node_pe, *edge_pe;     /* [n_nodes, NG_PE_DIM], [n_edges, NG_PE_DIM] */
    long n_theta;
} NGraph;

int  ngraph_build(const Template *t, NGraph *g, Err *e);
void ngraph_free(NGraph *g);

/* Declared symmetries of the template: permutations of neurons that leave the function
 * unchanged (MLP hidden units per layer; residual channels; heads as blocks; Q/K coordinates
 * jointly within a head; V coordinates jointly with the O columns they feed). */
int  ngraph_n_symmetries(const Template *t);
const char *ngraph_symmetry_name(const Template *t, int k);
/* A random member of symmetry k, as maps old -> new for nodes, edges and θ:
 * the node at i moves to node_perm[i], etc. Any of the outputs may be NULL. */
void ngraph_symmetry_sample(const Template *t, const NGraph *g, int k, Rng *r,
                            int *node_perm, int *edge_perm, long *theta_perm);

#endif
