/* The C API of build/libneurop.so: open a trained run folder, synthesize θ for an intent into
 * the caller's buffer, and describe θ's tensors. It is what python/neurop/ calls through ctypes;
 * any C program can use it the same way.
 *
 * Promises: no call aborts or prints on bad input (a wrong folder, an unknown intent, a buffer
 * of the wrong size); it returns -1 or NULL with one line in err (errlen bytes, always
 * NUL-terminated when errlen > 0). A handle is not thread-safe (synthesis reuses its arena);
 * open one per thread. Strings returned by a handle live until neurop_close. */
#ifndef NEUROP_API_H
#define NEUROP_API_H
#include <stddef.h>

#define NEUROP_API __attribute__((visibility("default")))
#define NEUROP_API_VERSION 1

typedef struct NeuropRun NeuropRun;

NEUROP_API int neurop_api_version(void);
/* Opens RUN_DIR/<which>.safetensors; which is "best" or "last" (NULL: "best"). NULL on error. */
NEUROP_API NeuropRun *neurop_open(const char *run_dir, const char *which, char *err, size_t errlen);
NEUROP_API void neurop_close(NeuropRun *r);

/* The program template's canonical text (see docs/programs.md), the task (a built-in's id, e.g.
 * "arc-demo-all"; a task file's "task" name), the method. */
NEUROP_API const char *neurop_template(const NeuropRun *r);
NEUROP_API const char *neurop_task(const NeuropRun *r);
NEUROP_API const char *neurop_method(const NeuropRun *r);
/* |θ|, and θ's tensors in layout order: name, ndim (1 or 2), shape, offset into θ. */
NEUROP_API long neurop_n_theta(const NeuropRun *r);
NEUROP_API int neurop_n_tensors(const NeuropRun *r);
/* NULL for i out of range. */
NEUROP_API const char *neurop_tensor_name(const NeuropRun *r, int i);
/* Returns ndim, or -1 for i out of range. */
NEUROP_API int neurop_tensor_shape(const NeuropRun *r, int i, long shape[2], long *offset);

/* θ = M(intent) into theta[0..n), n = neurop_n_theta. canon (may be NULL) receives the intent in
 * canonical form ("p=83"); *is_ood (may be NULL) whether the intent was held out of training.
 * Returns 0, or -1 for an intent the task does not know, a wrong n, or a direct-baseline run. */
NEUROP_API int neurop_synth(NeuropRun *r, const char *intent, float *theta, long n, char *canon, size_t canonlen,
                            int *is_ood, char *err, size_t errlen);

#endif
