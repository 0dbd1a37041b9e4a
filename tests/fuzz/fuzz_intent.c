/* task_intent_parse of every task on arbitrary text: refused with a one-line message, or an
 * intent whose formatted name parses back to the same intent. */
#include "fuzz.h"
#include "tasks/task.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *text = fuzz_text(data, size);
    static const char *tasks[] = {"sumfirst", "addmod", "arc"};
    for (int k = 0; k < 3; k++) {
        Task t;
        Err e = {{0}};
        if (task_get(tasks[k], &t, &e)) abort();
        Intent u, v;
        if (task_intent_parse(&t, text, &u, &e)) {
            fuzz_check_message(e.msg);
            continue;
        }
        char nm[64];
        task_intent_format(&t, u, nm, sizeof nm);
        if (task_intent_parse(&t, nm, &v, &e) || v.family != u.family || v.param != u.param) abort();
    }
    free(text);
    return 0;
}
