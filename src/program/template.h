/* A neural program is a template S plus its weights θ. The template fixes the architecture,
 * the named parameter tensors (PyTorch names and [out, in] shapes, views into one flat θ), and
 * how a batch of B programs runs at once on their own inputs, differentiably in θ. */
#ifndef NEUROP_TEMPLATE_H
#define NEUROP_TEMPLATE_H
#include "engine/rng.h"
#include "engine/tensor.h"

#define TPL_MAX_LAYERS 16
#define TPL_MAX_TENSORS (16 * TPL_MAX_LAYERS + 8) /* a Transformer has 16 per layer + 8 */

typedef enum { TPL_MLP, TPL_TRANSFORMER } TplKind;
typedef enum { ACT_NONE, ACT_RELU, ACT_GELU, ACT_TANH, ACT_SILU } Act;

typedef struct TplTensor {
    char name[64];      /* e.g. "layers.0.attn.q.weight" */
    int ndim, shape[2]; /* weights [out, in], biases/gains/embeddings as in PyTorch */
    long off, numel;    /* view into θ */
    int init;           /* TPL_INIT_*: how a standard initialization would draw it */
    int fan_in;         /* for the standard init variance 1/fan_in */
} TplTensor;
/* WEIGHT ~ N(0, 1/fan_in); BIAS = 0 (fan_in is its weight's); GAIN = 1; EMBED ~ N(0, 1) (fan_in 1). */
enum { TPL_INIT_WEIGHT, TPL_INIT_BIAS, TPL_INIT_GAIN, TPL_INIT_EMBED };

typedef struct Template {
    TplKind kind;
    /* MLP: widths[0] inputs, widths[n_layers] outputs; act[l] after layer l (last usually NONE).
     * Transformer: n_layers blocks. */
    int n_layers, widths[TPL_MAX_LAYERS + 1];
    Act act[TPL_MAX_LAYERS];
    /* Transformer */
    int vocab, len, d, heads, mlp, classes, prenorm, readout_last;
    Act mlp_act;
    /* window=W (0: none): each cell also reads its W neighbours on either side through a table of
     * its own, "window.weight" [2W·vocab, d]: row (k·vocab + c) is token c at offset k − W (k < W)
     * or k − W + 1 (k ≥ W); cells past either end of the row read as token 0 */
    int window;
    /* derived: the parameter tensors and |θ| */
    int n_tensors;
    TplTensor tensors[TPL_MAX_TENSORS];
    long n_theta;
} Template;

/* "mlp 10-16-1 act=relu" | "transformer vocab=101 len=3 d=16 heads=2 mlp=48 classes=100
 *  layers=1 prenorm=1 readout=last act=relu [window=W]". Refuses unknown keys, zero widths, heads not
 * dividing d, and the like, with one clear line. */
int template_parse(const char *text, Template *t, Err *e);
void template_format(const Template *t, char *buf, size_t len); /* parses back to the same */
#define TPL_TEXT_MAX 512                                        /* enough for template_format of any template */
int template_find(const Template *t, const char *name);         /* tensor index or -1 */
/* Standard initialization of θ (the variance a PyTorch module would start with); r NULL leaves θ
 * as it is, for a checkpoint to fill. */
void template_init_theta(const Template *t, float *theta, Rng *r);

/* θ of the Transformer program that reads token c as the program θ read token map[c] and answers
 * class c where it answered map[c], for c < n (map a permutation of 0..n-1; n <= vocab, classes):
 * the embedding and read-out rows permuted. A program made for a task with renamed colours
 * (arc-demo's relabel) becomes one that reads and writes the task's own colours. With a window,
 * map[0] must be 0 (the token read past the row's ends). */
void template_rename_tokens(const Template *t, float *theta, const int *map, int n);

/* Runs B programs at once. theta [B, n_theta] (grad flows into it when it has one).
 * MLP: x [B, N, widths[0]] -> [B, N, widths[n_layers]].
 * Transformer: tok = B*N*len token ids (row-major [B, N, len]) -> logits [B, N, classes] when
 * readout_last, else [B, N, len, classes]. */
Tensor *exec_mlp(Graph *g, const Template *t, Tensor *theta, Tensor *x);
Tensor *exec_transformer(Graph *g, const Template *t, Tensor *theta, const int *tok, int B, int N);
/* The class a row of n logits predicts: the first index of the largest (what exec prints, what
 * the tasks score). */
int logits_argmax(const float *logits, int n);
/* One tensor of θ for all B programs: [B, out, in] for a matrix, [B, 1, n] for a vector (so it
 * broadcasts over [B, rows, n] and serves as a per-program LayerNorm gain/bias). */
Tensor *theta_view(Graph *g, const Template *t, Tensor *theta, const char *name);
const char *act_name(Act a);
int act_parse(const char *s, Act *a); /* 0, or -1 for an unknown name */

#endif
