/* Weight files and checkpoints in the safetensors format (see docs/files.md): an 8-byte
 * little-endian header length N, N bytes of JSON describing each tensor (dtype, shape,
 * data_offsets) plus optional string metadata, then the raw little-endian tensor data.
 * Only float32 (dtype "F32") is supported. */
#ifndef NEUROP_SAFETENSORS_H
#define NEUROP_SAFETENSORS_H
#include "engine/err.h"
#include <stdint.h>

#define ST_MAX_DIMS 8
/* Largest JSON header accepted (and written): bigger is a corrupt or hostile file. */
#define ST_MAX_HEADER ((uint64_t)100 * 1000 * 1000)

/* One float32 tensor. ndim 0 is a scalar (one element); a shape with a 0 holds no elements.
 * data is row-major, product(shape) floats. */
typedef struct StTensor {
    const char *name;
    int ndim;
    int64_t shape[ST_MAX_DIMS];
    float *data;
} StTensor;

typedef struct StMeta {
    const char *key, *value;
} StMeta;

/* Writes nt tensors (laid out in the order given) and nmeta metadata pairs to path, atomically
 * (see atomic_write). Names must be unique, non-NULL, valid UTF-8 and not "__metadata__";
 * metadata keys must be unique. Returns 0, or -1 with a message and path left untouched. */
int st_write(const char *path, const StTensor *ts, int nt, const StMeta *meta, int nmeta, Err *e);

/* A file read into memory; owns its names, data and metadata. */
typedef struct StFile StFile;

/* Reads and fully validates path. Returns NULL with a one-line message naming the path (and the
 * tensor, where one is at fault) on any problem: I/O error, truncation, a malformed or oversized
 * header, a dtype other than F32, inconsistent shape/offsets, overlaps, holes or trailing bytes. */
StFile *st_read(const char *path, Err *e);
/* The same checks of the header, but no data read yet: every tensor's data is NULL until
 * st_read_into puts tensor i (st_at order) at dst[i] (NULL: skip it), read straight from the file
 * (no copy of the whole data section). Once per file; the file stays open until then (or st_free). */
StFile *st_open(const char *path, Err *e);
int st_read_into(StFile *f, float *const *dst, Err *e);

/* Tensors in header order. st_at's index must be in [0, st_count). */
int st_count(const StFile *f);
const StTensor *st_at(const StFile *f, int i);
/* NULL if absent. */
const StTensor *st_find(const StFile *f, const char *name);
const char *st_meta(const StFile *f, const char *key);
int st_meta_count(const StFile *f);
const StMeta *st_meta_at(const StFile *f, int i);
/* Number of elements of t (1 for a scalar). */
int64_t st_numel(const StTensor *t);
void st_free(StFile *f);

#endif
