/* arc_load_file on arbitrary bytes: refused with a one-line message, or every pair has equal
 * input and output lengths and colours in 0..9. */
#include "fuzz.h"
#include "tasks/task.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    ArcSet set = {0};
    Err e = {{0}};
    if (arc_load_file(fuzz_file(data, size, ".json"), &set, &e)) fuzz_check_message(e.msg);
    for (int i = 0; i < set.n; i++) {
        const ArcPair *p = &set.pairs[i];
        if (p->len <= 0) abort();
        for (int j = 0; j < p->len; j++)
            if (p->in[j] < 0 || p->in[j] > 9 || p->out[j] < 0 || p->out[j] > 9) abort();
    }
    arc_set_free(&set);
    return 0;
}
