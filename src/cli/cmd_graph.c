/* neurop graph TEMPLATE [--dot FILE | --json FILE]: the neural graph of a template — counts per
 * group, the declared symmetries, and optionally the whole graph as Graphviz DOT or JSON. */
#include "cli/commands.h"
#include "io/fileio.h"
#include "program/ngraph.h"
#include <cJSON.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void graph_usage(FILE *f) {
    fprintf(f, "usage: neurop graph TEMPLATE [--dot FILE | --json FILE]\n\n"
               "Builds the neural graph of TEMPLATE (quoted, or as several words), prints its groups\n"
               "(nodes, edges, decoded slots and structural edges, |theta|) and its symmetries.\n"
               "  --dot FILE    write the graph as Graphviz DOT (for tiny templates: dot -Tsvg FILE)\n"
               "  --json FILE   write nodes, edges, groups, slots and positional encodings as JSON\n"
               "examples: neurop graph mlp 10-16-1 act=relu\n"
               "          neurop graph 'transformer vocab=101 len=3 d=16 heads=2 mlp=48 classes=100' --json g.json\n");
}

static void print_summary(const Template *t, const NGraph *g) {
    char text[TPL_TEXT_MAX];
    template_format(t, text, sizeof text);
    long dec_nodes = 0, dec_edges = 0, structural = 0;
    for (int v = 0; v < g->n_nodes; v++) dec_nodes += g->node_slot[v] >= 0;
    for (int e = 0; e < g->n_edges; e++) {
        dec_edges += g->edge_slot[e] >= 0;
        structural += g->edge_slot[e] < 0;
    }
    printf("template: %s\n|theta| = %ld in %d tensors\n", text, t->n_theta, t->n_tensors);
    printf("nodes: %d in %d groups (%ld with a bias slot)\n", g->n_nodes, g->n_node_groups, dec_nodes);
    printf("edges: %d in %d groups (%ld decoded, %ld structural)\n\n", g->n_edges, g->n_edge_groups, dec_edges,
           structural);
    printf("%-5s %-28s %8s %8s  %s\n", "kind", "group", "count", "decoded", "slots");
    for (int s = 0; s < g->n_node_groups; s++) {
        const NGroup *gr = &g->node_groups[s];
        int n = g->node_seg[s + 1] - g->node_seg[s];
        printf("%-5s %-28s %8d %8d  %s\n", "node", gr->name, n, gr->tensor >= 0 ? n : 0,
               gr->tensor >= 0 ? t->tensors[gr->tensor].name : "-");
    }
    for (int s = 0; s < g->n_edge_groups; s++) {
        const NGroup *gr = &g->edge_groups[s];
        int n = g->edge_seg[s + 1] - g->edge_seg[s];
        printf("%-5s %-28s %8d %8d  %s\n", "edge", gr->name, n, gr->structural ? 0 : n,
               gr->structural ? "(structural)" : t->tensors[gr->tensor].name);
    }
    printf("\nsymmetries: %d\n", ngraph_n_symmetries(t));
    for (int k = 0; k < ngraph_n_symmetries(t); k++) printf("  %d  %s\n", k, ngraph_symmetry_name(t, k));
}

static int write_string(FILE *f, void *ctx, Err *e) {
    const char *s = ctx;
    return fputs(s, f) == EOF ? err_set(e, "write failed") : 0;
}

static cJSON *pe_array(const float *pe) {
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; i < NG_PE_DIM; i++) cJSON_AddItemToArray(a, cJSON_CreateNumber(pe[i]));
    return a;
}

static cJSON *groups_json(const NGroup *gr, const int *seg, int n) {
    cJSON *a = cJSON_CreateArray();
    for (int s = 0; s < n; s++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", gr[s].name);
        cJSON_AddNumberToObject(o, "first", seg[s]);
        cJSON_AddNumberToObject(o, "count", seg[s + 1] - seg[s]);
        cJSON_AddBoolToObject(o, "structural", gr[s].structural);
        cJSON_AddItemToArray(a, o);
    }
    return a;
}

static char *graph_json(const Template *t, const NGraph *g) {
    char text[TPL_TEXT_MAX];
    template_format(t, text, sizeof text);
    cJSON *root = cJSON_CreateObject(), *nodes = cJSON_CreateArray(), *edges = cJSON_CreateArray();
    cJSON_AddStringToObject(root, "template", text);
    cJSON_AddNumberToObject(root, "n_theta", (double)t->n_theta);
    cJSON_AddItemToObject(root, "node_groups", groups_json(g->node_groups, g->node_seg, g->n_node_groups));
    cJSON_AddItemToObject(root, "edge_groups", groups_json(g->edge_groups, g->edge_seg, g->n_edge_groups));
    for (int v = 0; v < g->n_nodes; v++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "group", g->node_group[v]);
        cJSON_AddNumberToObject(o, "slot", (double)g->node_slot[v]);
        cJSON_AddItemToObject(o, "pe", pe_array(g->node_pe + (size_t)v * NG_PE_DIM));
        cJSON_AddItemToArray(nodes, o);
    }
    for (int e = 0; e < g->n_edges; e++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "src", g->src[e]);
        cJSON_AddNumberToObject(o, "dst", g->dst[e]);
        cJSON_AddNumberToObject(o, "group", g->edge_group[e]);
        cJSON_AddNumberToObject(o, "slot", (double)g->edge_slot[e]);
        cJSON_AddItemToObject(o, "pe", pe_array(g->edge_pe + (size_t)e * NG_PE_DIM));
        cJSON_AddItemToArray(edges, o);
    }
    cJSON_AddItemToObject(root, "nodes", nodes);
    cJSON_AddItemToObject(root, "edges", edges);
    char *s = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return s;
}

/* One cluster per node group; decoded edges solid, structural dashed. */
static char *graph_dot(const NGraph *g) {
    size_t cap = 4096 + (size_t)g->n_nodes * 64 + (size_t)g->n_edges * 64 + (size_t)g->n_node_groups * 128, n = 0;
    char *s = xmalloc(cap);
    n += snprintf(s + n, cap - n, "digraph neurop {\n  rankdir=LR;\n  node [shape=circle, fontsize=8, width=0.3];\n");
    for (int k = 0; k < g->n_node_groups; k++) {
        n += snprintf(s + n, cap - n, "  subgraph cluster_%d {\n    label=\"%s\";\n", k, g->node_groups[k].name);
        for (int v = g->node_seg[k]; v < g->node_seg[k + 1]; v++)
            n += snprintf(s + n, cap - n, "    n%d [label=\"%d\"%s];\n", v, v - g->node_seg[k],
                          g->node_slot[v] >= 0 ? ", style=filled" : "");
        n += snprintf(s + n, cap - n, "  }\n");
    }
    for (int e = 0; e < g->n_edges; e++)
        n += snprintf(s + n, cap - n, "  n%d -> n%d%s;\n", g->src[e], g->dst[e],
                      g->edge_slot[e] < 0 ? " [style=dashed]" : "");
    snprintf(s + n, cap - n, "}\n");
    return s;
}

int cmd_graph(int argc, char **argv) {
    static const struct option opts[] = {{"dot", required_argument, 0, 'd'},
                                         {"json", required_argument, 0, 'j'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *dot = NULL, *json = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'd') dot = optarg;
        else if (c == 'j') json = optarg;
        else if (c == 'h') {
            graph_usage(stdout);
            return 0;
        } else {
            graph_usage(stderr);
            return 2;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "neurop graph: missing TEMPLATE (try neurop graph --help)\n");
        return 2;
    }
    if (dot && json) {
        fprintf(stderr, "neurop graph: give --dot or --json, not both\n");
        return 2;
    }
    char text[1024] = "";
    for (int i = optind; i < argc; i++) { /* the template may come as several words */
        size_t n = strlen(text);
        snprintf(text + n, sizeof text - n, "%s%s", n ? " " : "", argv[i]);
    }
    Template t;
    NGraph g;
    Err e;
    if (template_parse(text, &t, &e) || ngraph_build(&t, &g, 1, &e)) {
        fprintf(stderr, "neurop graph: %s\n", e.msg);
        return 1;
    }
    print_summary(&t, &g);
    int rc = 0;
    if (dot || json) {
        char *s = dot ? graph_dot(&g) : graph_json(&t, &g);
        if (atomic_write(dot ? dot : json, write_string, s, &e)) {
            fprintf(stderr, "neurop graph: %s\n", e.msg);
            rc = 1;
        } else printf("\nwrote %s\n", dot ? dot : json);
        if (dot) free(s);
        else cJSON_free(s);
    }
    ngraph_free(&g);
    return rc;
}
