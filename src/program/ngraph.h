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

#ifndef NG_PE_AXIS
#define NG_PE_AXIS 4 /* positional-encoding features per index (see ngraph.c) */
#endif
#define NG_PE_DIM (2 * NG_PE_AXIS) /* per slot: two indices */

typedef struct NGroup {
    char name[64];  /* e.g. "layers.0.attn.q.weight" for an edge group, "hidden.0" for nodes */
    int structural; /* edges of this group have no slot */
    int tensor;     /* template tensor whose scalars are this group's slots, or -1; the
                       * group's k-th member holds θ[tensor.off + k] (slots are contiguous
                       * and in tensor order) */
    int space;      /* node groups: which neuron index space the symmetries permute
                       * (internal to symmetry.c), -1 for none; edge groups: -1 */
} NGroup;

typedef struct NGraph {
    int n_nodes, n_edges;
    int n_node_groups, n_edge_groups;
    NGroup *node_groups, *edge_groups;
    int *node_seg, *edge_seg; /* [n_groups + 1] contiguous ranges */
    int *node_group;          /* [n_nodes] */
    long *node_slot;          /* [n_nodes] θ index of the bias (or LayerNorm bias), or -1 */
    int *edge_group;          /* [n_edges] */
    int *src, *dst;           /* [n_edges] */
    long *edge_slot;          /* [n_edges] θ index of the weight, or -1 (structural) */
    float *node_pe, *edge_pe; /* [n_nodes, NG_PE_DIM], [n_edges, NG_PE_DIM] */
    int *node_ix, *edge_ix;   /* [n, 2]: the two indices the encodings encode (0 for an absent axis) */
    long n_theta;
} NGraph;

/* with_pe: also node_pe and edge_pe (sinusoidal encodings of each slot's indices), which only the
 * pe=1/2 generators and `neurop graph --json` read; else they are NULL (a tenth of opening a run). */
int ngraph_build(const Template *t, NGraph *g, int with_pe, Err *e);
void ngraph_free(NGraph *g);
/* For every θ index i, which row of the stacked [nodes; edges] holds it: node v is row v, edge e
 * is row n_nodes + e. A decoder that produces one scalar per node and per edge gets θ with
 * op_gather(values [n_nodes + n_edges, 1], rows, n_theta). rows: n_theta ints. */
void ngraph_theta_rows(const NGraph *g, int *rows);
int ngraph_find_group(const NGraph *g, int edges, const char *name); /* index or -1 */

/* Declared symmetries of the template: permutations of neurons that leave the function
 * unchanged (MLP hidden units per layer; residual channels; heads as blocks; Q/K coordinates
 * jointly within a head; V coordinates jointly with the O columns they feed). */
int ngraph_n_symmetries(const Template *t);
const char *ngraph_symmetry_name(const Template *t, int k); /* thread-local buffer */
/* A random member of symmetry k, as maps old -> new for nodes, edges and θ:
 * the node at i moves to node_perm[i], etc. Any of the outputs may be NULL.
 * The three maps come from independent sources so that tests can check that they agree:
 * theta_perm from the tensors' axes (which neuron index each axis runs over), node_perm from
 * the node groups, edge_perm from the graph's wiring (the edge of the same group between the
 * mapped endpoints; -1 where the graph has none, which would be a bug). */
void ngraph_symmetry_sample(const Template *t, const NGraph *g, int k, Rng *r, int *node_perm, int *edge_perm,
                            long *theta_perm);

#endif
