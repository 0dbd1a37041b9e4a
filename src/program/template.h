/* A neural program is a template S plus its weights θ. The template fixes the architecture,
 * the named parameter tensors (PyTorch names and [out, in] shapes, views into one flat θ), and
 * how a batch of B programs runs at once on their own inputs, differentiably in θ. */
#ifndef NEUROP_TEMPLATE_H
#define NEUROP_TEMPLATE_H
#include "engine/rng.h"
#include "engine/tensor.h"

#define TPL_MAX_LAYERS 16
#define TPL_MAX_TENSORS 128

typedef enum { TPL_MLP, TPL_TRANSFORMER } TplKind;
typedef enum { ACT_NONE, ACT_RELU, ACT_GELU, ACT_TANH, ACT_SILU } Act;

typedef struct TplTensor {
    char name[64];              /* e.g. "layers.0.attn.q.weight" */
    int ndim, shape[2];         /* weights [out, in], biases/gains/embeddings as in PyTorch */
    long off, numel;            /* view into θ */
    int init;                   /* TPL_INIT_*: how a standard initialization would draw it */
    int fan_in;                 /* for the standard init variance 1/fan_in */
} TplTensor;
enum { TPL_INIT_WEIGHT, TPL_INIT_BIAS, TPL_INIT_GAIN, TPL_INIT_EMBED };

typedef struct Template {
    TplKind kind;
    /* MLP: widths[0] inputs, widths[n_layers] outputs; act[l] after layer l (last usually NONE) */
    int n_layers, widths[TPL_MAX_LAYERS + 1];
    Act act[TPL_MAX_LAYERS];
    /* Transformer */
    int vocab, len, d, heads, mlp, classes, prenorm, readout_last;
    Act mlp_act;
    /* derived: the parameter tensors and |θ| */
    int n_tensors;
    TplTensor tensors[TPL_MAX_TENSORS];
    long n_theta;
} Template;

/* "mlp 10-16-1 act=relu" | "transformer vocab=101 len=3 d=16 heads=2 mlp=48 classes=100
 *  layers=1 prenorm=1 readout=last act=relu". Refuses unknown keys, zero widths, heads not
 * dividing d, and the like, with one clear line. */
int  template_parse(const char *text, Template *t, Err *e);
void template_format(const Template *t, char *buf, size_t len);    /* parses back to the same */
int  template_find(const Template *t, const char *name);            /* tensor index or -1 */
/* Standard initialization of θ (the variance a PyTorch module would start with). */
void template_init_theta(const Template *t, float *theta, Rng *r);

/* Runs B programs at once. theta [B, n_theta] (grad flows into it when it has one).
 * MLP: x [B, N, widths[0]] -> [B, N, widths[n_layers]].
 * Transformer: tok = B*N*len token ids (row-major [B, N, len]) -> logits [B, N, classes] when
 * readout_last, else [B, N, len, classes]. */
Tensor *exec_mlp(Graph *g, const Template *t, Tensor *theta, Tensor *x);
Tensor *exec_transformer(Graph *g, const Template *t, Tensor *theta, const int *tok, int B, int N);

#endif
