/* safetensors reader and writer. The reader trusts nothing in the file: every length and offset
 * is checked against the real file size before anything is read or indexed, so a truncated,
 * oversized or hostile file gives an error message, never an out-of-bounds access. */
#include "io/safetensors.h"
#include "io/fileio.h"
#include <cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_EXACT_INT 9007199254740992.0 /* 2^53: JSON numbers arrive as doubles */

/* ---------------------------------------------------------------- shared helpers */

/* The format is little-endian; this folds to a constant, so the swap paths cost nothing on x86. */
static int host_le(void) {
    const uint16_t one = 1;
    unsigned char b;
    memcpy(&b, &one, 1);
    return b == 1;
}

static void swap32(void *p, size_t n) {
    unsigned char *b = p;
    for (size_t i = 0; i < n; i++, b += 4) {
        unsigned char t0 = b[0], t1 = b[1];
        b[0] = b[3];
        b[1] = b[2];
        b[2] = t1;
        b[3] = t0;
    }
}

/* Strict UTF-8 (no overlongs, surrogates or code points past U+10FFFF). Returns the offset of
 * the first bad byte, or n when all is well. */
static size_t utf8_bad_at(const unsigned char *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        size_t len;
        uint32_t cp, min;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            len = 2;
            cp = c & 0x1F;
            min = 0x80;
        } else if ((c & 0xF0) == 0xE0) {
            len = 3;
            cp = c & 0x0F;
            min = 0x800;
        } else if ((c & 0xF8) == 0xF0) {
            len = 4;
            cp = c & 0x07;
            min = 0x10000;
        } else return i;
        if (n - i < len) return i;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80) return i;
            cp = cp << 6 | (s[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return i;
        i += len;
    }
    return n;
}

/* A tensor name made safe for a one-line message: control bytes become '?', long names are cut. */
typedef struct Shown {
    char s[80];
} Shown;
static Shown shown(const char *name) {
    Shown r;
    size_t n = strlen(name), k = n > 64 ? 64 : n;
    for (size_t i = 0; i < k; i++) r.s[i] = (unsigned char)name[i] < 0x20 ? '?' : name[i];
    strcpy(r.s + k, n > k ? "..." : "");
    return r;
}

static void fmt_shape(char *buf, size_t size, int ndim, const int64_t *shape) {
    size_t at = 0;
    buf[0] = '\0';
    for (int d = 0; d < ndim && at < size; d++)
        at += (size_t)snprintf(buf + at, size - at, d ? ", %" PRId64 : "%" PRId64, shape[d]);
}

/* Elements and bytes of a shape, or -1 when either overflows int64 (checked dim by dim, as the
 * reference implementation does). */
static int shape_size(int ndim, const int64_t *shape, int64_t *numel, int64_t *bytes) {
    int64_t n = 1;
    for (int d = 0; d < ndim; d++) {
        if (shape[d] < 0 || (shape[d] != 0 && n > INT64_MAX / shape[d])) return -1;
        n *= shape[d];
    }
    if (n > INT64_MAX / 4) return -1;
    *numel = n;
    *bytes = n * 4;
    return 0;
}

int64_t st_numel(const StTensor *t) {
    int64_t n, b;
    return shape_size(t->ndim, t->shape, &n, &b) == 0 ? n : -1;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

/* The first string that occurs twice among n, or NULL. Sorting keeps this O(n log n), which
 * matters for checkpoints with thousands of tensors. */
static const char *first_dup(const char **names, size_t n) {
    qsort(names, n, sizeof *names, cmp_str);
    for (size_t i = 1; i < n; i++)
        if (strcmp(names[i - 1], names[i]) == 0) return names[i];
    return NULL;
}

/* Whether a JSON object has a key twice (cJSON keeps both; a lookup would see only the first);
 * the key is copied to *dup for the message. */
static int dup_key(const cJSON *obj, Shown *dup) {
    size_t n = (size_t)cJSON_GetArraySize(obj), k = 0;
    const char **keys = xmalloc(sizeof *keys * (n ? n : 1));
    for (const cJSON *c = obj->child; c; c = c->next) keys[k++] = c->string;
    const char *d = first_dup(keys, n);
    if (d) *dup = shown(d);
    free(keys);
    return d != NULL;
}

/* ---------------------------------------------------------------- writer */

typedef struct Buf {
    char *p;
    size_t n, cap;
} Buf;

static void buf_put(Buf *b, const char *s, size_t n) {
    if (b->n + n + 1 > b->cap) {
        b->cap = (b->n + n + 1) * 2;
        b->p = xrealloc(b->p, b->cap);
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
}

static void buf_puts(Buf *b, const char *s) { buf_put(b, s, strlen(s)); }

static void buf_printf(Buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void buf_printf(Buf *b, const char *fmt, ...) {
    char tmp[64];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    NP_ASSERT(n >= 0 && (size_t)n < sizeof tmp, "buf_printf is for short items");
    buf_put(b, tmp, (size_t)n);
}

/* A JSON string literal. The input is already known to be valid UTF-8, which JSON carries as is;
 * only quotes, backslashes and control characters need escapes. */
static void json_string(Buf *b, const char *s) {
    buf_puts(b, "\"");
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"') buf_puts(b, "\\\"");
        else if (c == '\\') buf_puts(b, "\\\\");
        else if (c == '\n') buf_puts(b, "\\n");
        else if (c == '\t') buf_puts(b, "\\t");
        else if (c == '\r') buf_puts(b, "\\r");
        else if (c < 0x20) buf_printf(b, "\\u%04x", c);
        else buf_put(b, (const char *)&c, 1);
    }
    buf_puts(b, "\"");
}

static int check_utf8(const char *path, const char *what, const char *s, Err *e) {
    size_t n = strlen(s);
    if (utf8_bad_at((const unsigned char *)s, n) != n)
        return err_set(e, "%s: %s '%s' is not valid UTF-8", path, what, shown(s).s);
    return 0;
}

static int check_tensor(const char *path, const StTensor *t, Err *e) {
    if (!t->name) return err_set(e, "%s: a tensor has no name", path);
    if (check_utf8(path, "tensor name", t->name, e)) return -1;
    if (strcmp(t->name, "__metadata__") == 0)
        return err_set(e, "%s: \"__metadata__\" is reserved and cannot name a tensor", path);
    if (t->ndim < 0 || t->ndim > ST_MAX_DIMS)
        return err_set(e, "%s: tensor '%s': %d dims (0 to %d supported)", path, shown(t->name).s, t->ndim, ST_MAX_DIMS);
    int64_t numel, bytes;
    for (int d = 0; d < t->ndim; d++)
        if (t->shape[d] < 0) return err_set(e, "%s: tensor '%s': shape[%d] is negative", path, shown(t->name).s, d);
    if (shape_size(t->ndim, t->shape, &numel, &bytes))
        return err_set(e, "%s: tensor '%s': element count overflows", path, shown(t->name).s);
    if (numel > 0 && !t->data) return err_set(e, "%s: tensor '%s': data is NULL", path, shown(t->name).s);
    return 0;
}

/* Validates everything before a byte is written, so a bad call never touches the disk. */
static int check_inputs(const char *path, const StTensor *ts, int nt, const StMeta *meta, int nmeta, Err *e) {
    if (nt < 0 || nmeta < 0 || (nt > 0 && !ts) || (nmeta > 0 && !meta))
        return err_set(e, "%s: invalid tensor or metadata list", path);
    for (int i = 0; i < nt; i++)
        if (check_tensor(path, &ts[i], e)) return -1;
    for (int i = 0; i < nmeta; i++) {
        if (!meta[i].key || !meta[i].value) return err_set(e, "%s: metadata entry %d has a NULL key or value", path, i);
        if (check_utf8(path, "metadata key", meta[i].key, e) || check_utf8(path, "metadata value", meta[i].value, e))
            return -1;
    }
    const char **names = xmalloc(sizeof *names * (size_t)(nt > nmeta ? nt : nmeta));
    for (int i = 0; i < nt; i++) names[i] = ts[i].name;
    const char *dup = first_dup(names, (size_t)nt);
    int rc = dup ? err_set(e, "%s: duplicate tensor name '%s'", path, shown(dup).s) : 0;
    if (rc == 0) {
        for (int i = 0; i < nmeta; i++) names[i] = meta[i].key;
        dup = first_dup(names, (size_t)nmeta);
        if (dup) rc = err_set(e, "%s: duplicate metadata key '%s'", path, shown(dup).s);
    }
    free(names);
    return rc;
}

/* The JSON header, padded with spaces to a multiple of 8 bytes like the reference writer, so the
 * data section starts 8-byte aligned in the file. Tensors are laid out back to back in order. */
static void build_header(Buf *b, const StTensor *ts, int nt, const StMeta *meta, int nmeta) {
    buf_puts(b, "{");
    if (nmeta > 0) {
        buf_puts(b, "\"__metadata__\":{");
        for (int i = 0; i < nmeta; i++) {
            if (i) buf_puts(b, ",");
            json_string(b, meta[i].key);
            buf_puts(b, ":");
            json_string(b, meta[i].value);
        }
        buf_puts(b, "}");
    }
    uint64_t off = 0;
    for (int i = 0; i < nt; i++) {
        int64_t numel = 0, bytes = 0;
        shape_size(ts[i].ndim, ts[i].shape, &numel, &bytes);
        if (i || nmeta > 0) buf_puts(b, ",");
        json_string(b, ts[i].name);
        buf_puts(b, ":{\"dtype\":\"F32\",\"shape\":[");
        for (int d = 0; d < ts[i].ndim; d++) buf_printf(b, d ? ",%" PRId64 : "%" PRId64, ts[i].shape[d]);
        buf_printf(b, "],\"data_offsets\":[%" PRIu64 ",%" PRIu64 "]}", off, off + (uint64_t)bytes);
        off += (uint64_t)bytes;
    }
    buf_puts(b, "}");
    while (b->n % 8) buf_puts(b, " ");
}

typedef struct WriteCtx {
    const char *path;
    const Buf *header;
    const StTensor *ts;
    int nt;
} WriteCtx;

static int write_f32_le(FILE *f, const float *x, size_t n) {
    if (n == 0) return 0;
    if (host_le()) return fwrite(x, 4, n, f) == n ? 0 : -1;
    float chunk[1024];
    for (size_t i = 0; i < n; i += 1024) {
        size_t k = n - i < 1024 ? n - i : 1024;
        memcpy(chunk, x + i, k * 4);
        swap32(chunk, k);
        if (fwrite(chunk, 4, k, f) != k) return -1;
    }
    return 0;
}

static int write_body(FILE *f, void *vctx, Err *e) {
    const WriteCtx *c = vctx;
    unsigned char len[8];
    for (int i = 0; i < 8; i++) len[i] = (unsigned char)((uint64_t)c->header->n >> (8 * i));
    if (fwrite(len, 1, 8, f) != 8 || fwrite(c->header->p, 1, c->header->n, f) != c->header->n)
        return err_set(e, "%s: writing failed: %s", c->path, strerror(errno));
    for (int i = 0; i < c->nt; i++)
        if (write_f32_le(f, c->ts[i].data, (size_t)st_numel(&c->ts[i])))
            return err_set(e, "%s: writing tensor '%s' failed: %s", c->path, shown(c->ts[i].name).s, strerror(errno));
    return 0;
}

int st_write(const char *path, const StTensor *ts, int nt, const StMeta *meta, int nmeta, Err *e) {
    if (check_inputs(path, ts, nt, meta, nmeta, e)) return -1;
    Buf header = {0};
    build_header(&header, ts, nt, meta, nmeta);
    int rc;
    if (header.n > ST_MAX_HEADER) {
        rc =
            err_set(e, "%s: header would be %zu bytes, over the %" PRIu64 "-byte limit", path, header.n, ST_MAX_HEADER);
    } else {
        WriteCtx ctx = {path, &header, ts, nt};
        rc = atomic_write(path, write_body, &ctx, e);
    }
    free(header.p);
    return rc;
}

/* ---------------------------------------------------------------- reader */

struct StFile {
    int nt, nmeta;
    StTensor *ts;             /* header order; names owned */
    const StTensor **by_name; /* sorted by name, for st_find */
    StMeta *meta;             /* keys and values owned */
    unsigned char *data;      /* the whole data section; tensors point into it */
    uint64_t *begin;          /* while reading: each tensor's offset in the data section */
    FILE *fp;                 /* st_open: at the data section, until st_read_into */
    char *path;               /* st_open: for messages */
};

static char *dup_str(const char *s) {
    size_t n = strlen(s) + 1;
    return memcpy(xmalloc(n), s, n);
}

void st_free(StFile *f) {
    if (!f) return;
    for (int i = 0; i < f->nt; i++) free((char *)f->ts[i].name);
    for (int i = 0; i < f->nmeta; i++) {
        free((char *)f->meta[i].key);
        free((char *)f->meta[i].value);
    }
    free(f->ts);
    free(f->by_name);
    free(f->meta);
    free(f->data);
    free(f->begin);
    if (f->fp) fclose(f->fp);
    free(f->path);
    free(f);
}

int st_count(const StFile *f) { return f->nt; }
const StTensor *st_at(const StFile *f, int i) {
    NP_ASSERT(i >= 0 && i < f->nt, "st_at(%d) with %d tensors", i, f->nt);
    return &f->ts[i];
}
int st_meta_count(const StFile *f) { return f->nmeta; }
const StMeta *st_meta_at(const StFile *f, int i) {
    NP_ASSERT(i >= 0 && i < f->nmeta, "st_meta_at(%d) with %d entries", i, f->nmeta);
    return &f->meta[i];
}

static int cmp_tensor_name(const void *a, const void *b) {
    return strcmp((*(const StTensor *const *)a)->name, (*(const StTensor *const *)b)->name);
}

const StTensor *st_find(const StFile *f, const char *name) {
    StTensor key = {.name = name};
    const StTensor *kp = &key;
    const StTensor **hit = bsearch(&kp, f->by_name, (size_t)f->nt, sizeof *f->by_name, cmp_tensor_name);
    return hit ? *hit : NULL;
}

const char *st_meta(const StFile *f, const char *key) {
    for (int i = 0; i < f->nmeta; i++)
        if (strcmp(f->meta[i].key, key) == 0) return f->meta[i].value;
    return NULL;
}

/* NULL when v is an exact non-negative integer (stored in *out), else what is wrong with it. */
static const char *uint_problem(const cJSON *v, uint64_t *out) {
    if (!cJSON_IsNumber(v)) return "is not a number";
    double d = v->valuedouble;
    if (d < 0) return "is negative";
    if (d > MAX_EXACT_INT) return "is too large";
    if (d != (double)(uint64_t)d) return "is not an integer";
    *out = (uint64_t)d;
    return NULL;
}

/* Where one tensor's bytes lie in the data section, for the layout check. */
typedef struct Span {
    uint64_t begin, end;
    int idx;
} Span;

static int cmp_span(const void *a, const void *b) {
    const Span *x = a, *y = b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return x->idx - y->idx;
}

static const cJSON *field(const cJSON *obj, const char *key) { return cJSON_GetObjectItemCaseSensitive(obj, key); }

/* One header entry → t (name set by the caller) and its span. */
static int parse_entry(const char *path, const cJSON *item, uint64_t data_size, StTensor *t, Span *sp, Err *e) {
    Shown nm = shown(item->string);
#define FAIL(...)                                                 \
    do {                                                          \
        char m_[256];                                             \
        snprintf(m_, sizeof m_, __VA_ARGS__);                     \
        return err_set(e, "%s: tensor '%s': %s", path, nm.s, m_); \
    } while (0)
    if (!cJSON_IsObject(item)) FAIL("entry is not a JSON object");
    Shown dup;
    if (dup_key(item, &dup)) FAIL("duplicate key \"%s\"", dup.s);

    const cJSON *dtype = field(item, "dtype"), *shape = field(item, "shape"), *offs = field(item, "data_offsets");
    if (!dtype) FAIL("missing \"dtype\"");
    if (!cJSON_IsString(dtype)) FAIL("\"dtype\" is not a string");
    if (strcmp(dtype->valuestring, "F32") != 0)
        FAIL("dtype %s is not supported (only F32 is)", shown(dtype->valuestring).s);

    if (!shape) FAIL("missing \"shape\"");
    if (!cJSON_IsArray(shape)) FAIL("\"shape\" is not an array");
    int nd = cJSON_GetArraySize(shape);
    if (nd > ST_MAX_DIMS) FAIL("shape has %d dims (at most %d supported)", nd, ST_MAX_DIMS);
    t->ndim = nd;
    int d = 0;
    for (const cJSON *c = shape->child; c; c = c->next, d++) {
        uint64_t v;
        const char *why = uint_problem(c, &v);
        if (why) FAIL("shape[%d] %s", d, why);
        t->shape[d] = (int64_t)v;
    }
    int64_t numel, bytes;
    if (shape_size(nd, t->shape, &numel, &bytes)) FAIL("element count of the shape overflows");

    if (!offs) FAIL("missing \"data_offsets\"");
    if (!cJSON_IsArray(offs) || cJSON_GetArraySize(offs) != 2) FAIL("\"data_offsets\" is not an array of two integers");
    uint64_t be[2];
    for (int k = 0; k < 2; k++) {
        const char *why = uint_problem(cJSON_GetArrayItem(offs, k), &be[k]);
        if (why) FAIL("data_offsets[%d] %s", k, why);
    }
    if (be[0] > be[1]) FAIL("data_offsets [%" PRIu64 ", %" PRIu64 "] begin after end", be[0], be[1]);
    if (be[1] > data_size)
        FAIL("data_offsets end %" PRIu64 " is beyond the data section (%" PRIu64 " bytes)", be[1], data_size);
    if (be[1] - be[0] != (uint64_t)bytes) {
        char sh[128];
        fmt_shape(sh, sizeof sh, nd, t->shape);
        FAIL("data_offsets span %" PRIu64 " bytes but F32 shape [%s] needs %" PRId64, be[1] - be[0], sh, bytes);
    }
    sp->begin = be[0];
    sp->end = be[1];
    return 0;
#undef FAIL
}

/* Tensors must tile the data section exactly: no overlaps, no holes, nothing after the last
 * one (the reference implementation enforces the same), so every byte has one meaning. */
static int check_layout(const char *path, const StFile *f, Span *sp, uint64_t data_size, Err *e) {
    qsort(sp, (size_t)f->nt, sizeof *sp, cmp_span);
    uint64_t at = 0;
    int prev = -1;
    for (int i = 0; i < f->nt; i++) {
        if (sp[i].begin < at) {
            const Span *p = &sp[prev];
            return err_set(e, "%s: tensors '%s' [%" PRIu64 ", %" PRIu64 ") and '%s' [%" PRIu64 ", %" PRIu64 ") overlap",
                           path, shown(f->ts[p->idx].name).s, p->begin, p->end, shown(f->ts[sp[i].idx].name).s,
                           sp[i].begin, sp[i].end);
        }
        if (sp[i].begin > at)
            return err_set(e, "%s: data bytes [%" PRIu64 ", %" PRIu64 ") before tensor '%s' belong to no tensor", path,
                           at, sp[i].begin, shown(f->ts[sp[i].idx].name).s);
        at = sp[i].end;
        prev = i;
    }
    if (at != data_size)
        return err_set(e, "%s: %" PRIu64 " trailing data bytes after the last tensor belong to no tensor", path,
                       data_size - at);
    return 0;
}

static int parse_metadata(const char *path, StFile *f, const cJSON *m, Err *e) {
    if (!cJSON_IsObject(m)) return err_set(e, "%s: \"__metadata__\" is not a JSON object", path);
    int n = cJSON_GetArraySize(m);
    Shown dup;
    if (dup_key(m, &dup)) return err_set(e, "%s: duplicate \"__metadata__\" key '%s'", path, dup.s);
    f->meta = xcalloc((size_t)(n ? n : 1), sizeof *f->meta);
    for (const cJSON *c = m->child; c; c = c->next) {
        if (!cJSON_IsString(c))
            return err_set(e, "%s: \"__metadata__\" value of '%s' is not a string", path, shown(c->string).s);
        f->meta[f->nmeta].key = dup_str(c->string);
        f->meta[f->nmeta].value = dup_str(c->valuestring);
        f->nmeta++;
    }
    return 0;
}

/* Bytes cJSON would accept but mishandle: raw control bytes are not legal JSON, and a NUL,
 * raw or escaped as \u0000, would silently cut a name or value short in cJSON's C strings. */
static int check_header_bytes(const char *path, const char *h, size_t n, Err *e) {
    size_t bad = utf8_bad_at((const unsigned char *)h, n);
    if (bad != n) return err_set(e, "%s: header is not valid UTF-8 (byte %zu)", path, bad);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)h[i];
        if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
            return err_set(e, "%s: header contains control byte 0x%02x at byte %zu", path, c, i);
        if (c == '\\' && i + 1 < n) {
            if (n - i >= 6 && memcmp(h + i + 1, "u0000", 5) == 0)
                return err_set(e, "%s: header contains an escaped NUL (\\u0000) at byte %zu, which is not supported",
                               path, i);
            i++; /* the escaped character cannot start another escape */
        }
    }
    return 0;
}

/* The header as a JSON object, or NULL with a message. */
static cJSON *parse_header(const char *path, const char *h, size_t n, Err *e) {
    if (check_header_bytes(path, h, n, e)) return NULL;
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(h, n, &end, 0);
    if (!root) {
        err_set(e, "%s: header is not valid JSON (error near byte %td)", path, end ? end - h : (ptrdiff_t)0);
        return NULL;
    }
    for (const char *p = end; p < h + n; p++)
        if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') {
            err_set(e, "%s: header has text after the JSON object (byte %td)", path, p - h);
            cJSON_Delete(root);
            return NULL;
        }
    if (!cJSON_IsObject(root)) {
        err_set(e, "%s: header is not a JSON object", path);
        cJSON_Delete(root);
        return NULL;
    }
    return root;
}

/* Header entries → f->ts and spans; names unique, layout checked. */
static int build_tensors(const char *path, StFile *f, const cJSON *root, uint64_t data_size, Err *e) {
    int n = cJSON_GetArraySize(root), rc = 0;
    Shown dup;
    if (dup_key(root, &dup)) {
        if (strcmp(dup.s, "__metadata__") == 0) return err_set(e, "%s: \"__metadata__\" appears twice", path);
        return err_set(e, "%s: duplicate tensor name '%s'", path, dup.s);
    }

    const cJSON *meta = NULL;
    f->ts = xcalloc((size_t)(n ? n : 1), sizeof *f->ts);
    f->begin = xcalloc((size_t)(n ? n : 1), sizeof *f->begin);
    Span *sp = xcalloc((size_t)(n ? n : 1), sizeof *sp);
    for (const cJSON *c = root->child; c && rc == 0; c = c->next) {
        if (strcmp(c->string, "__metadata__") == 0) {
            meta = c;
            continue;
        }
        StTensor *t = &f->ts[f->nt];
        sp[f->nt].idx = f->nt;
        if (parse_entry(path, c, data_size, t, &sp[f->nt], e)) rc = -1;
        else {
            t->name = dup_str(c->string);
            f->nt++;
        }
    }
    if (rc == 0 && meta) rc = parse_metadata(path, f, meta, e);
    if (rc == 0) rc = check_layout(path, f, sp, data_size, e);
    if (rc == 0) {
        for (int i = 0; i < f->nt; i++) {
            NP_ASSERT(sp[i].begin % 4 == 0, "tiling implies 4-byte aligned offsets");
            f->begin[sp[i].idx] = sp[i].begin;
        }
    }
    free(sp);
    return rc;
}

/* Reads n bytes from f exactly; a short read means the file changed or is broken. */
static int read_exact(const char *path, FILE *f, void *buf, size_t n, const char *what, Err *e) {
    if (n && fread(buf, 1, n, f) != n)
        return err_set(e, "%s: cannot read the %s: %s", path, what,
                       ferror(f) ? strerror(errno) : "file is shorter than its size said");
    return 0;
}

/* Opens path as a regular file and returns its size. */
static FILE *open_sized(const char *path, uint64_t *size, Err *e) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        err_set(e, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        err_set(e, "%s: not a regular file", path);
        fclose(f);
        return NULL;
    }
    *size = (uint64_t)st.st_size;
    return f;
}

/* Header length word and the header bytes (NUL-terminated), checked against the file size. */
static char *read_header(const char *path, FILE *f, uint64_t size, uint64_t *hlen, Err *e) {
    if (size < 8) {
        err_set(e, "%s: file is %" PRIu64 " bytes, too short for a safetensors file (at least 8)", path, size);
        return NULL;
    }
    unsigned char len[8];
    if (read_exact(path, f, len, 8, "header length", e)) return NULL;
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = n << 8 | len[i];
    if (n > ST_MAX_HEADER) {
        err_set(e, "%s: not a safetensors file (its header length %" PRIu64 " exceeds the %" PRIu64 "-byte limit)",
                path, n, ST_MAX_HEADER);
        return NULL;
    }
    if (n > size - 8) {
        err_set(e,
                "%s: header length %" PRIu64 " runs past the end of the file (%" PRIu64
                " bytes): truncated, or not a safetensors file",
                path, n, size);
        return NULL;
    }
    char *h = malloc((size_t)n + 1);
    if (!h) {
        err_set(e, "%s: out of memory for a %" PRIu64 "-byte header", path, n);
        return NULL;
    }
    if (read_exact(path, f, h, (size_t)n, "header", e)) {
        free(h);
        return NULL;
    }
    h[n] = '\0';
    *hlen = n;
    return h;
}

/* Reads the data section and points each tensor into it. */
static int load_data(const char *path, FILE *fp, StFile *f, uint64_t data_size, Err *e) {
    if (data_size > SIZE_MAX - 4) return err_set(e, "%s: data section too large for this machine", path);
    f->data = huge_alloc((size_t)data_size + 4); /* +4: a valid pointer even for an empty section */
    if (!f->data) return err_set(e, "%s: out of memory for %" PRIu64 " bytes of tensor data", path, data_size);
    if (read_exact(path, fp, f->data, (size_t)data_size, "tensor data", e)) return -1;
    if (fgetc(fp) != EOF) return err_set(e, "%s: file grew while being read", path);
    if (!host_le()) swap32(f->data, (size_t)data_size / 4);
    /* malloc's alignment plus 4-byte aligned offsets make these valid float pointers. */
    for (int i = 0; i < f->nt; i++) f->ts[i].data = (float *)(void *)(f->data + f->begin[i]);
    free(f->begin);
    f->begin = NULL;
    return 0;
}

static void index_names(StFile *f) {
    f->by_name = xmalloc(sizeof *f->by_name * (size_t)(f->nt ? f->nt : 1));
    for (int i = 0; i < f->nt; i++) f->by_name[i] = &f->ts[i];
    qsort(f->by_name, (size_t)f->nt, sizeof *f->by_name, cmp_tensor_name);
}

static StFile *read_st(const char *path, int with_data, Err *e) {
    uint64_t size, hlen;
    FILE *fp = open_sized(path, &size, e);
    if (!fp) return NULL;
    char *h = read_header(path, fp, size, &hlen, e);
    if (!h) {
        fclose(fp);
        return NULL;
    }
    cJSON *root = parse_header(path, h, (size_t)hlen, e);
    free(h);
    StFile *f = xcalloc(1, sizeof *f);
    uint64_t data_size = size - 8 - hlen;
    int rc = root ? build_tensors(path, f, root, data_size, e) : -1;
    cJSON_Delete(root);
    if (rc == 0 && with_data) rc = load_data(path, fp, f, data_size, e);
    if (rc == 0 && !with_data) { /* st_open: the data section is read later, from this same open file */
        f->fp = fp;
        f->path = dup_str(path);
    } else fclose(fp);
    if (rc) {
        st_free(f);
        return NULL;
    }
    index_names(f);
    return f;
}

StFile *st_read(const char *path, Err *e) { return read_st(path, 1, e); }
StFile *st_open(const char *path, Err *e) { return read_st(path, 0, e); }

typedef struct {
    uint64_t begin;
    int i;
} Placed;
static int cmp_placed(const void *a, const void *b) {
    uint64_t x = ((const Placed *)a)->begin, y = ((const Placed *)b)->begin;
    return (x > y) - (x < y);
}

int st_read_into(StFile *f, float *const *dst, Err *e) {
    NP_ASSERT(f->fp && f->begin, "st_read_into: the file was not opened with st_open, or was read already");
    /* build_tensors checked that the tensors tile the data section: in file order, each begins
     * where the one before ends; runs whose destinations also follow each other are one read */
    Placed *order = xmalloc(sizeof *order * (size_t)(f->nt ? f->nt : 1));
    for (int i = 0; i < f->nt; i++) order[i] = (Placed){f->begin[i], i};
    qsort(order, (size_t)f->nt, sizeof *order, cmp_placed);
    int rc = 0;
    for (int a = 0; a < f->nt && !rc;) {
        int i = order[a].i;
        size_t bytes = (size_t)st_numel(&f->ts[i]) * sizeof(float);
        int b = a + 1;
        while (dst[i] && b < f->nt && dst[order[b].i] == (float *)((char *)dst[i] + bytes)) {
            bytes += (size_t)st_numel(&f->ts[order[b].i]) * sizeof(float);
            b++;
        }
        if (!dst[i])
            rc =
                fseeko(f->fp, (off_t)bytes, SEEK_CUR) ? err_set(e, "%s: cannot seek: %s", f->path, strerror(errno)) : 0;
        else {
            rc = read_exact(f->path, f->fp, dst[i], bytes, "tensor data", e);
            if (!rc && !host_le()) swap32(dst[i], bytes / 4);
        }
        a = b;
    }
    if (!rc && fgetc(f->fp) != EOF) rc = err_set(e, "%s: file grew while being read", f->path);
    free(order);
    fclose(f->fp);
    f->fp = NULL;
    return rc;
}
