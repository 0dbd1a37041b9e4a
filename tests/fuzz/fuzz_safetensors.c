/* st_read on arbitrary bytes: a file is refused with a one-line message, or read and every
 * tensor's data lies within what was read (touched here, so ASan sees any overrun). */
#include "fuzz.h"
#include "io/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    Err e = {{0}};
    StFile *f = st_read(fuzz_file(data, size, ".safetensors"), &e);
    if (!f) {
        fuzz_check_message(e.msg);
        return 0;
    }
    volatile float sink = 0;
    for (int i = 0; i < st_count(f); i++) {
        const StTensor *t = st_at(f, i);
        if (st_find(f, t->name) != t) abort();
        for (int64_t k = 0; k < st_numel(t); k++) sink += t->data[k];
    }
    for (int i = 0; i < st_meta_count(f); i++) (void)strlen(st_meta_at(f, i)->value);
    st_free(f);
    return 0;
}
