/* config_parse (the config text of every checkpoint) on arbitrary text: refused with a one-line
 * message, or a config whose formatted text parses back to the same text. */
#include "fuzz.h"
#include "train/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *text = fuzz_text(data, size);
    TrainConfig c, d;
    Err e = {{0}};
    if (config_defaults("sumfirst", METHOD_GNN, &c, &e)) abort();
    if (config_parse(text, &c, &e)) {
        fuzz_check_message(e.msg);
        free(text);
        return 0;
    }
    char a[1200], b[1200];
    config_format(&c, a, sizeof a);
    if (config_defaults("addmod", METHOD_MLP, &d, &e) || config_parse(a, &d, &e)) abort();
    config_format(&d, b, sizeof b);
    if (strcmp(a, b)) abort();
    free(text);
    return 0;
}
