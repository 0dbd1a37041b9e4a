/* program_load on arbitrary bytes: refused with a one-line message, or a program whose θ has the
 * template's size, only finite weights, and runs (one example of zeros). */
#include "fuzz.h"
#include "program/progfile.h"
#include <math.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    Program p;
    Err e = {{0}};
    if (program_load(fuzz_file(data, size, ".safetensors"), &p, &e)) {
        fuzz_check_message(e.msg);
        return 0;
    }
    for (long k = 0; k < p.t.n_theta; k++)
        if (!isfinite(p.theta[k])) abort();
    if (p.t.n_theta <= 100000) { /* run small programs once: a template that parses must execute */
        Arena a;
        Graph g;
        arena_init(&a, 1 << 20);
        graph_init(&g, &a);
        g.no_grad = 1;
        Tensor *th = tensor_wrap(&g, p.theta, NULL, SHAPE(1, (int)p.t.n_theta));
        if (p.t.kind == TPL_MLP) {
            float *x = calloc(p.t.widths[0], sizeof *x);
            exec_mlp(&g, &p.t, th, tensor_wrap(&g, x, NULL, SHAPE(1, 1, p.t.widths[0])));
            free(x);
        } else if ((long)p.t.len * p.t.len * p.t.heads <= 1000000 && (long)p.t.len * p.t.mlp <= 1000000) {
            int *tok = calloc(p.t.len, sizeof *tok);
            exec_transformer(&g, &p.t, th, tok, 1, 1);
            free(tok);
        }
        graph_free(&g);
        arena_free(&a);
    }
    program_free(&p);
    return 0;
}
