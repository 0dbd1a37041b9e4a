/* Program files: a synthesized program (template + one θ row + the intent it was made for) as a
 * standard .safetensors file. Tensors carry the template's PyTorch names and shapes; the
 * metadata holds {"format": "neurop-program-1", "template": canonical text, "intent": text}.
 * PyTorch users read it with python/neurop (neurop.load_program: the module, strict load). */
#ifndef NEUROP_PROGFILE_H
#define NEUROP_PROGFILE_H
#include "program/template.h"

#define PROGRAM_FORMAT "neurop-program-1"

typedef struct Program {
    Template t;
    float *theta; /* t.n_theta floats (malloc'd) */
    char *intent; /* malloc'd, "" when the file has none */
} Program;

/* Writes atomically. intent may be NULL. Returns 0, or -1 with a message. */
int program_save(const char *path, const Template *t, const float *theta, const char *intent, Err *e);
/* Reads and checks that the file is a neurop program whose tensors are exactly the template's,
 * with the template's shapes; otherwise -1 with a message naming the tensor at fault. */
int program_load(const char *path, Program *p, Err *e);
void program_free(Program *p);

#endif
