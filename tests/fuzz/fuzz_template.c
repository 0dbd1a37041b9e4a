/* template_parse on arbitrary text: refused with a one-line message, or a template whose
 * canonical text parses back to the same template (same |θ| and tensors). */
#include "fuzz.h"
#include "program/template.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *text = fuzz_text(data, size);
    Template t, u;
    Err e = {{0}};
    if (template_parse(text, &t, &e)) {
        fuzz_check_message(e.msg);
        free(text);
        return 0;
    }
    char canon[TPL_TEXT_MAX];
    template_format(&t, canon, sizeof canon);
    if (template_parse(canon, &u, &e) || u.n_theta != t.n_theta || u.n_tensors != t.n_tensors) abort();
    for (int i = 0; i < t.n_tensors; i++)
        if (strcmp(t.tensors[i].name, u.tensors[i].name) || t.tensors[i].off != u.tensors[i].off) abort();
    free(text);
    return 0;
}
