/* The four ways to map an intent U to behaviour (spec §1):
 *   direct     one network of the task's kind on (U, X) -> Y, no weight generation
 *   Meta-MLP   an MLP from U to the flat θ
 *   Meta-gMLP  group-tied encoders, a global mixer over all slots' embeddings, group-tied decoders
 *   Meta-GNN   group-tied encoders, k rounds of message passing over the neural graph, decoders
 * Every method answers method_forward(U, X) -> predictions; the three meta-learners do it as
 * exec(S, M(U), X), and also expose θ = M(U) through method_generate. */
#ifndef NEUROP_META_H
#define NEUROP_META_H
#include "engine/params.h"
#include "program/ngraph.h"
#include "program/template.h"

typedef enum { METHOD_DIRECT, METHOD_MLP, METHOD_GMLP, METHOD_GNN, METHOD_COUNT } MethodKind;

/* What the encoders see of a slot's position (ngraph.c computes the full encoding):
 * PE_INDEX the normalized index along each axis only; PE_FULL also its sines and cosines;
 * PE_ONEHOT each index as a one-hot vector, so the encoder's first layer holds a learned code
 * per (group, axis, index): as free per slot as a flat hypernetwork's output, and no order; a slot
 * gets the sum of its two indices' codes. PE_PRODUCT the same codes, multiplied elementwise: summed
 * codes make a matrix's entries (nearly) a function of a_i + b_j, so the generator's updates are
 * dominated by rank-2 row-plus-column modes; a product a_i ⊙ b_j is a factorization of rank d.
 * (docs/meta.md, "Learned codes") */
enum { PE_OFF = 0, PE_FULL = 1, PE_INDEX = 2, PE_ONEHOT = 3, PE_PRODUCT = 4 };
static inline int pe_codes(int pe) { return pe == PE_ONEHOT || pe == PE_PRODUCT; }
/* Whether a generator with this mode reads the neural graph's sinusoidal encodings (pe=1, 2). */
static inline int pe_reads_encodings(int pe) { return pe != PE_OFF && !pe_codes(pe); }

typedef struct MetaConfig {
    int width;      /* hidden width: GNN/gMLP node and edge state, MLP hidden units, direct d */
    int rounds;     /* Meta-GNN message-passing rounds k */
    int mixer;      /* Meta-gMLP mixer hidden width */
    int imlp;       /* Meta-GNN: hidden width of an MLP on U whose outputs the encoders read in place of
                         U (0: none, the encoders read U; metagnn.c) */
    int tie;        /* 1: one set of weights per group; 0: one set shared by all (ablation) */
    int pe;         /* positional encodings at the encoder input: PE_* above */
    int head;       /* θ head: 0 scale per tensor; 1 also centred per tensor, mean linear in U;
                         2 also each matrix's row and column means removed; 3 also each tensor
                         scaled to unit RMS before its scale s_T (meta_internal.h) */
    int base;       /* 1: θ = θ₀ + the generated program, θ₀ one learned program that every intent
                         shares, zero at the start (docs/meta.md, "A base program") */
    float gain;     /* the first θ's size: gain × a standard init's (theta_head_calibrate); 0 means 1,
                         so a zero-initialized MetaConfig stays the plain calibration */
    int itok_len;   /* direct on a Transformer template: intent tokens prepended to each input */
    int itok_vocab; /* ... and the extra token ids they use (after the template's vocab) */
    int demo_len;   /* demonstration tasks: cells per example row; U is then encoded from the
                         examples (demo.c) instead of read from the task's features; 0: features */
    int demo_pairs; /* ... and examples per program */
} MetaConfig;

typedef struct Method {
    MethodKind kind;
    MetaConfig cfg;
    Template tpl; /* the target template (for direct: the network it runs itself) */
    NGraph ng;    /* neural graph of tpl (GNN, gMLP) */
    int n_feat;
    ParamSet ps;
    void *impl;               /* method-specific: indices of its views, index arrays */
    struct DemoEncoder *demo; /* cfg.demo_len > 0: the examples' encoder, its weights in ps */
} Method;

/* Inputs of one batch: B intents (features [B, n_feat]) with N examples each. MLP templates read
 * x [B*N, in]; Transformer templates tok [B*N*len]. */
typedef struct Batch {
    int B, N;
    const float *feat; /* [B, n_feat] */
    const float *x;    /* [B*N, in] (MLP templates) */
    const int *tok;    /* [B*N*len] (Transformer templates) */
    const int *itok;   /* [B, itok_len] intent tokens (direct on Transformer templates), ids < itok_vocab */
    const int *demo;   /* [B, demo_pairs * demo_len] example cells, in * 10 + out (demonstration tasks) */
} Batch;

int method_parse(const char *name, MethodKind *k, Err *e); /* direct | mlp | gmlp | gnn */
/* The network direct runs on template t: the same kind at d = cfg->width (heads reduced until they
 * divide it, the MLP width scaled), reading the intent as n_feat extra inputs (MLP) or
 * cfg->itok_len prepended tokens (Transformer). Its tensors are direct's parameter views, in order. */
int direct_network(const Template *t, const MetaConfig *cfg, int n_feat, Template *net, Err *e);
const char *method_name(MethodKind k); /* "direct", "Meta-MLP", ... */
const char *method_id(MethodKind k);   /* "direct", "mlp", "gmlp", "gnn" */
/* Builds the method for template tpl and n_feat intent features; draws φ from r (r NULL: φ is left
 * zero, for a checkpoint to replace). calib (B
 * feature rows) sets each decoder group's output scale so the first θ has the standard init's
 * variance (ignored by direct). */
int method_init(Method *m, MethodKind k, const MetaConfig *cfg, const Template *tpl, int n_feat, const float *calib,
                int n_calib, Rng *r, Err *e);
void method_free(Method *m);
/* Sets each θ tensor's output scale from n U rows (done by method_init when it gets calib rows;
 * a demonstration method has U only once its encoder exists, so its caller does it after). */
void method_calibrate(Method *m, const float *calib, int n);
/* U [B, n_feat] of B programs' examples (demo [B, demo_pairs * demo_len]); needs m->demo. */
Tensor *method_encode_demo(Graph *g, Method *m, const int *demo, int B);
/* θ = M(U): u [B, n_feat] -> [B, n_theta]; the gradient reaches u when u has one (U computed by
 * a learned encoder). Not for direct. */
Tensor *method_generate(Graph *g, Method *m, Tensor *u);
/* Predictions: MLP template [B, N, out]; Transformer [B, N, classes] (readout last) or
 * [B, N, len, classes]. */
Tensor *method_forward(Graph *g, Method *m, const Batch *b);
/* The same, and the generated θ [B, n_theta] in *theta (NULL for direct, which generates none). */
Tensor *method_forward_theta(Graph *g, Method *m, const Batch *b, Tensor **theta);

#endif
