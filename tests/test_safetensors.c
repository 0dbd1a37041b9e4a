/* safetensors reader/writer and atomic file writing: round trips, the exact bytes we write,
 * malformed files each rejected with their own message, and atomicity on failure. */
#include "test.h"
#include "io/fileio.h"
#include "io/safetensors.h"
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A unique scratch path per test and tag, so concurrent test runs never collide. */
static const char *tmp_path(char *buf, size_t n, const char *tag) {
    snprintf(buf, n, "/tmp/neurop-st-%ld-%s.safetensors", (long)getpid(), tag);
    return buf;
}

static float bits_f32(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}

TEST(safetensors_round_trip_bit_exact) {
    /* Values chosen to catch any lossy path: NaN payload, -0, inf, denormal, max. */
    float scalar[1] = {bits_f32(0x7fc01234u)};
    float v5[5] = {-0.0f, 1.0f / 3.0f, bits_f32(0x00000001u), bits_f32(0x7f7fffffu), bits_f32(0xff800000u)};
    float m34[12], t4[12], t8[8], dummy = 0;
    for (int i = 0; i < 12; i++) {
        m34[i] = (float)i * 0.25f - 1.0f;
        t4[i] = (float)(i * i) + 0.5f;
    }
    for (int i = 0; i < 8; i++) t8[i] = (float)-i;
    StTensor ts[] = {
        {"scalar", 0, {0}, scalar},   {"layer.0/w \"q\" \\ é", 1, {5}, v5}, {"m", 2, {3, 4}, m34},
        {"empty", 2, {0, 3}, &dummy}, {"t4", 4, {2, 1, 3, 2}, t4},          {"t8", 8, {1, 2, 1, 1, 2, 1, 1, 2}, t8},
        {"empty_null", 1, {0}, NULL}, {"not_nul_\\u0000", 1, {1}, &dummy},
    };
    int nt = (int)(sizeof ts / sizeof *ts);
    StMeta meta[] = {{"format", "pt"}, {"note", "line1\nline2 \"quoted\" \x01 ü"}};
    char path[256];
    tmp_path(path, sizeof path, "roundtrip");
    Err e = {{0}};
    CHECK(st_write(path, ts, nt, meta, 2, &e) == 0, "st_write: %s", e.msg);
    StFile *f = st_read(path, &e);
    CHECK(f, "st_read: %s", e.msg);
    if (!f) return;
    CHECK(st_count(f) == nt, "count %d", st_count(f));
    for (int i = 0; i < nt && i < st_count(f); i++) {
        const StTensor *t = st_at(f, i);
        CHECK(strcmp(t->name, ts[i].name) == 0, "tensor %d name '%s'", i, t->name);
        CHECK(t->ndim == ts[i].ndim, "%s ndim %d", t->name, t->ndim);
        CHECK(memcmp(t->shape, ts[i].shape, sizeof(int64_t) * (size_t)t->ndim) == 0, "%s shape", t->name);
        int64_t n = st_numel(t);
        CHECK(n == st_numel(&ts[i]), "%s numel %lld", t->name, (long long)n);
        CHECK(t->data != NULL, "%s data is NULL", t->name);
        if (n > 0) CHECK(memcmp(t->data, ts[i].data, (size_t)n * 4) == 0, "%s data not bit-exact", t->name);
        CHECK(st_find(f, ts[i].name) == t, "st_find(%s)", ts[i].name);
    }
    CHECK(st_numel(st_at(f, 0)) == 1, "a scalar has one element");
    CHECK(st_find(f, "nope") == NULL, "absent tensor found");
    CHECK(st_meta_count(f) == 2, "meta count %d", st_meta_count(f));
    CHECK(st_meta(f, "format") && strcmp(st_meta(f, "format"), "pt") == 0, "meta format");
    CHECK(st_meta(f, "note") && strcmp(st_meta(f, "note"), meta[1].value) == 0, "meta note");
    CHECK(st_meta(f, "absent") == NULL, "absent meta found");
    st_free(f);

    /* No tensors and no metadata is a valid file too. */
    CHECK(st_write(path, NULL, 0, NULL, 0, &e) == 0, "empty st_write: %s", e.msg);
    f = st_read(path, &e);
    CHECK(f && st_count(f) == 0 && st_meta_count(f) == 0, "empty file: %s", f ? "wrong counts" : e.msg);
    st_free(f);
    unlink(path);
}

/* st_open + st_read_into: the header alone, then each tensor straight where the caller wants it:
 * adjacent destinations in one read, a NULL one skipped, every value bit-exact, and the header's
 * checks as st_read's; a file cut short after st_open, or grown, is an error; st_free without
 * st_read_into closes the file. */
TEST(safetensors_open_then_read_into_place) {
    float a[3] = {1.5f, -0.0f, bits_f32(0x00000001u)}, b[4] = {2, 3, 4, 5}, c[2] = {bits_f32(0x7fc01234u), 7};
    StTensor ts[] = {{"a", 1, {3}, a}, {"b", 2, {2, 2}, b}, {"c", 1, {2}, c}};
    char path[256];
    tmp_path(path, sizeof path, "readinto");
    Err e = {{0}};
    CHECK(st_write(path, ts, 3, NULL, 0, &e) == 0, "st_write: %s", e.msg);
    StFile *f = st_open(path, &e);
    CHECK(f && st_count(f) == 3 && st_at(f, 0)->data == NULL, "st_open: %s", f ? "data read or wrong count" : e.msg);
    if (!f) return;
    float buf[16];
    for (int i = 0; i < 16; i++) buf[i] = 99;
    float *dst[3] = {buf, buf + 3, NULL}; /* a and b adjacent (one read), c skipped */
    CHECK(st_read_into(f, dst, &e) == 0, "st_read_into: %s", e.msg);
    CHECK(!memcmp(buf, a, sizeof a) && !memcmp(buf + 3, b, sizeof b) && buf[7] == 99, "values not in place");
    st_free(f);
    f = st_open(path, &e); /* c alone, into a place before a's */
    float *only_c[3] = {NULL, NULL, buf + 8};
    CHECK(f && st_read_into(f, only_c, &e) == 0 && !memcmp(buf + 8, c, sizeof c), "c alone: %s", e.msg);
    st_free(f);
    st_free(st_open(path, &e)); /* opened and never read: closed by st_free (ASan: no leak) */

    /* cut short: a tensor larger than what stdio read ahead with the header */
    static float big[8192];
    StTensor bigt = {"big", 1, {8192}, big};
    CHECK(st_write(path, &bigt, 1, NULL, 0, &e) == 0, "st_write: %s", e.msg);
    f = st_open(path, &e);
    CHECK(f != NULL, "st_open: %s", e.msg);
    CHECK(truncate(path, 8 + 8) == 0, "truncate: %s", strerror(errno)); /* inside the header: data gone */
    float *into_big[1] = {big};
    if (f) {
        CHECK(st_read_into(f, into_big, &e) == -1 && strstr(e.msg, "cannot read the tensor data"),
              "a file cut short after st_open: '%s'", e.msg);
        st_free(f);
    }
    CHECK(st_write(path, ts, 3, NULL, 0, &e) == 0, "st_write: %s", e.msg);
    float *all[3] = {buf, buf + 3, buf + 7};
    f = st_open(path, &e);
    FILE *grow = fopen(path, "ab");
    CHECK(grow && fputc(0, grow) != EOF && fclose(grow) == 0, "appending a byte");
    if (f) {
        CHECK(st_read_into(f, all, &e) == -1 && strstr(e.msg, "file grew while being read"), "a grown file: '%s'",
              e.msg);
        st_free(f);
    }
    CHECK(st_open("/nonexistent/x.safetensors", &e) == NULL && strstr(e.msg, "cannot open"), "missing: '%s'", e.msg);
    unlink(path);
}

/* The bytes on disk, computed by hand: they pin the format independently of our own reader. */
TEST(safetensors_exact_bytes) {
    static const char json[] =
        "{\"__metadata__\":{\"k\":\"v\"},\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
    /* 79 bytes of JSON, padded with one space to 80 = 0x50 so the data starts 8-byte aligned. */
    unsigned char want[8 + 80 + 8] = {0x50, 0, 0, 0, 0, 0, 0, 0};
    CHECK(sizeof json - 1 == 79, "hand count of the JSON is wrong: %zu", sizeof json - 1);
    memcpy(want + 8, json, 79);
    want[8 + 79] = ' ';
    static const unsigned char data[8] = {0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0xc0}; /* 1.0f, -2.0f LE */
    memcpy(want + 88, data, 8);

    float a[2] = {1.0f, -2.0f};
    StTensor t = {"a", 1, {2}, a};
    StMeta m = {"k", "v"};
    char path[256];
    tmp_path(path, sizeof path, "exact");
    Err e = {{0}};
    CHECK(st_write(path, &t, 1, &m, 1, &e) == 0, "st_write: %s", e.msg);
    unsigned char *got;
    size_t len;
    CHECK(read_file(path, &got, &len, &e) == 0, "read_file: %s", e.msg);
    if (!got) return;
    CHECK(len == sizeof want, "file is %zu bytes, want %zu", len, sizeof want);
    for (size_t i = 0; i < len && i < sizeof want; i++)
        if (got[i] != want[i]) {
            CHECK(0, "byte %zu is 0x%02x, want 0x%02x", i, got[i], want[i]);
            break;
        }
    CHECK(got[len] == '\0', "read_file adds a NUL");
    free(got);

    /* No tensors: "{}" padded to 8 bytes. */
    static const unsigned char empty[16] = {8, 0, 0, 0, 0, 0, 0, 0, '{', '}', ' ', ' ', ' ', ' ', ' ', ' '};
    CHECK(st_write(path, NULL, 0, NULL, 0, &e) == 0, "st_write: %s", e.msg);
    CHECK(read_file(path, &got, &len, &e) == 0, "read_file: %s", e.msg);
    if (got) CHECK(len == 16 && memcmp(got, empty, 16) == 0, "empty file bytes (len %zu)", len);
    free(got);
    unlink(path);
}

/* A crafted file: u64 length (the real header length unless declared is given), header, then
 * data_bytes zero bytes. */
static void craft(const char *path, const char *header, size_t hlen, uint64_t declared, int use_declared,
                  size_t data_bytes) {
    FILE *f = fopen(path, "wb");
    if (!f) return;
    uint64_t n = use_declared ? declared : hlen;
    for (int i = 0; i < 8; i++) fputc((int)(n >> (8 * i)) & 0xff, f);
    fwrite(header, 1, hlen, f);
    for (size_t i = 0; i < data_bytes; i++) fputc(0, f);
    fclose(f);
}

typedef struct Bad {
    const char *tag, *header;
    size_t data_bytes;
    int use_declared;
    uint64_t declared;
    const char *expect; /* substring of this case's message, and of no other case's */
} Bad;

#define E "{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}"
static const Bad bad_files[] = {
    {"hdr_cap", "{}", 0, 1, 200000000, "header length 200000000 exceeds the 100000000-byte limit"},
    {"hdr_past_end", "{}", 10, 1, 100, "header length 100 runs past the end of the file"},
    {"not_json", "{\"a\":", 0, 0, 0, "header is not valid JSON"},
    {"not_object", "[1,2]", 0, 0, 0, "header is not a JSON object"},
    {"trailing_text", "{} x", 0, 0, 0, "header has text after the JSON object"},
    {"bad_utf8", "{\"a\xff\":1}", 0, 0, 0, "header is not valid UTF-8"},
    {"control_byte", "{\"a\x01\":1}", 0, 0, 0, "header contains control byte 0x01"},
    {"escaped_nul", "{\"a\\u0000b\":" E "}", 4, 0, 0, "header contains an escaped NUL (\\u0000) at byte 3"},
    {"entry_not_obj", "{\"a\":5}", 0, 0, 0, "tensor 'a': entry is not a JSON object"},
    {"no_dtype", "{\"a\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4, 0, 0, "tensor 'a': missing \"dtype\""},
    {"dtype_num", "{\"a\":{\"dtype\":32,\"shape\":[1],\"data_offsets\":[0,4]}}", 4, 0, 0,
     "tensor 'a': \"dtype\" is not a string"},
    {"dtype_f16", "{\"a\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4, 0, 0,
     "tensor 'a': dtype F16 is not supported (only F32 is)"},
    {"no_shape", "{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4, 0, 0, "tensor 'a': missing \"shape\""},
    {"shape_obj", "{\"a\":{\"dtype\":\"F32\",\"shape\":{},\"data_offsets\":[0,4]}}", 4, 0, 0,
     "tensor 'a': \"shape\" is not an array"},
    {"dim_negative", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1,-1],\"data_offsets\":[0,4]}}", 4, 0, 0,
     "tensor 'a': shape[1] is negative"},
    {"dim_fraction", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}", 4, 0, 0,
     "tensor 'a': shape[0] is not an integer"},
    {"dim_string", "{\"a\":{\"dtype\":\"F32\",\"shape\":[\"1\"],\"data_offsets\":[0,4]}}", 4, 0, 0,
     "tensor 'a': shape[0] is not a number"},
    {"dim_huge", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1e300],\"data_offsets\":[0,4]}}", 4, 0, 0,
     "tensor 'a': shape[0] is too large"},
    {"nine_dims", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}", 4, 0, 0,
     "tensor 'a': shape has 9 dims (at most 8 supported)"},
    {"numel_overflow",
     "{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,4294967296,0],\"data_offsets\":[0,0]}}", 0, 0, 0,
     "tensor 'a': element count of the shape overflows"},
    {"no_offsets", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4, 0, 0, "tensor 'a': missing \"data_offsets\""},
    {"offsets_three", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]}}", 8, 0, 0,
     "tensor 'a': \"data_offsets\" is not an array of two integers"},
    {"offset_negative", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]}}", 4, 0, 0,
     "tensor 'a': data_offsets[0] is negative"},
    {"begin_after_end", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,4]}}", 8, 0, 0,
     "tensor 'a': data_offsets [8, 4] begin after end"},
    {"end_past_data", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 4, 0, 0,
     "tensor 'a': data_offsets end 8 is beyond the data section (4 bytes)"},
    {"size_mismatch", "{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8, 0, 0,
     "tensor 'a': data_offsets span 8 bytes but F32 shape [3] needs 12"},
    {"overlap",
     "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_"
     "offsets\":[4,12]}}",
     12, 0, 0, "tensors 'a' [0, 8) and 'b' [4, 12) overlap"},
    {"hole", "{\"a\":" E ",\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}", 12, 0, 0,
     "data bytes [4, 8) before tensor 'b' belong to no tensor"},
    {"trailing_data", "{\"a\":" E "}", 8, 0, 0, "4 trailing data bytes after the last tensor"},
    {"dup_name", "{\"a\":" E ",\"a\":" E "}", 4, 0, 0, "duplicate tensor name 'a'"},
    {"dup_field", "{\"a\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, 0, 0,
     "tensor 'a': duplicate key \"dtype\""},
    {"meta_array", "{\"__metadata__\":[\"x\"]}", 0, 0, 0, "\"__metadata__\" is not a JSON object"},
    {"meta_number", "{\"__metadata__\":{\"k\":1}}", 0, 0, 0, "\"__metadata__\" value of 'k' is not a string"},
    {"meta_dup", "{\"__metadata__\":{\"k\":\"1\",\"k\":\"2\"}}", 0, 0, 0, "duplicate \"__metadata__\" key 'k'"},
    {"meta_twice", "{\"__metadata__\":{},\"__metadata__\":{}}", 0, 0, 0, "\"__metadata__\" appears twice"},
};
#undef E

TEST(safetensors_malformed_files_rejected) {
    int n = (int)(sizeof bad_files / sizeof *bad_files);
    char msgs[64][512];
    NP_ASSERT(n <= 64, "grow msgs");
    for (int i = 0; i < n; i++) {
        const Bad *b = &bad_files[i];
        char path[256];
        tmp_path(path, sizeof path, b->tag);
        craft(path, b->header, strlen(b->header), b->declared, b->use_declared, b->data_bytes);
        Err e = {{0}};
        StFile *f = st_read(path, &e);
        CHECK(!f, "%s: accepted", b->tag);
        st_free(f);
        snprintf(msgs[i], sizeof msgs[i], "%s", e.msg);
        CHECK(strstr(e.msg, b->expect), "%s: message '%s' lacks '%s'", b->tag, e.msg, b->expect);
        CHECK(strstr(e.msg, path) == e.msg, "%s: message '%s' does not start with the path", b->tag, e.msg);
        CHECK(!strchr(e.msg, '\n'), "%s: message is not one line", b->tag);
        unlink(path);
    }
    /* Each file is rejected for its own reason: no other case's expected text matches. */
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            if (i != j && strstr(msgs[i], bad_files[j].expect))
                CHECK(0, "%s's message '%s' also matches case %s", bad_files[i].tag, msgs[i], bad_files[j].tag);
}

TEST(safetensors_short_missing_and_nonregular_files) {
    char path[256];
    tmp_path(path, sizeof path, "short");
    FILE *f = fopen(path, "wb");
    if (f) {
        fwrite("\x02\0\0\0\0", 1, 5, f);
        fclose(f);
    }
    Err e = {{0}};
    CHECK(!st_read(path, &e) && strstr(e.msg, "file is 5 bytes, too short for a safetensors file"), "short: %s", e.msg);
    unlink(path);
    CHECK(!st_read(path, &e) && strstr(e.msg, "cannot open: No such file or directory"), "missing: %s", e.msg);
    CHECK(!st_read("/tmp", &e) && strstr(e.msg, "/tmp: not a regular file"), "directory: %s", e.msg);
}

/* Every truncation and every single-byte corruption of a valid file must be handled without
 * crashing or reading out of bounds (the sanitizer build checks the latter). */
TEST(safetensors_truncations_and_corruptions) {
    float a[6] = {1, 2, 3, 4, 5, 6}, b[1] = {7};
    StTensor ts[] = {{"a", 2, {2, 3}, a}, {"b", 0, {0}, b}};
    StMeta m = {"k", "v"};
    char path[256], cut[256];
    tmp_path(path, sizeof path, "whole");
    tmp_path(cut, sizeof cut, "cut");
    Err e = {{0}};
    CHECK(st_write(path, ts, 2, &m, 1, &e) == 0, "st_write: %s", e.msg);
    unsigned char *buf;
    size_t len;
    if (read_file(path, &buf, &len, &e) != 0) {
        CHECK(0, "%s", e.msg);
        return;
    }
    for (size_t n = 0; n < len; n++) {
        FILE *f = fopen(cut, "wb");
        fwrite(buf, 1, n, f);
        fclose(f);
        StFile *sf = st_read(cut, &e);
        CHECK(!sf, "truncated to %zu of %zu bytes accepted", n, len);
        st_free(sf);
    }
    int accepted = 0;
    for (size_t i = 0; i < len; i++) {
        for (int v = 0; v < 3; v++) {
            static const unsigned char vals[3] = {0x00, 0xff, '9'};
            unsigned char save = buf[i];
            buf[i] = vals[v];
            FILE *f = fopen(cut, "wb");
            fwrite(buf, 1, len, f);
            fclose(f);
            buf[i] = save;
            StFile *sf = st_read(cut, &e);
            if (sf) {
                accepted++;
                /* Whatever was accepted must be self-consistent. */
                for (int k = 0; k < st_count(sf); k++) CHECK(st_numel(st_at(sf, k)) >= 0, "bad numel");
            }
            st_free(sf);
        }
    }
    CHECK(accepted > 0, "data-byte corruptions should still read"); /* data bytes are not checked */
    free(buf);
    unlink(path);
    unlink(cut);
}

TEST(safetensors_writer_rejects_bad_input) {
    char path[256];
    tmp_path(path, sizeof path, "badwrite");
    unlink(path);
    float x[2] = {0};
    StTensor dup[] = {{"w", 1, {2}, x}, {"w", 1, {2}, x}};
    StTensor reserved = {"__metadata__", 1, {2}, x};
    StTensor negative = {"n", 2, {2, -1}, x};
    StTensor toomany = {"d", 9, {1}, x};
    StTensor nodata = {"z", 1, {2}, NULL};
    StMeta mdup[] = {{"k", "1"}, {"k", "2"}};
    struct {
        const StTensor *ts;
        int nt;
        const StMeta *m;
        int nm;
        const char *expect;
    } cases[] = {
        {dup, 2, NULL, 0, "duplicate tensor name 'w'"},
        {&reserved, 1, NULL, 0, "\"__metadata__\" is reserved"},
        {&negative, 1, NULL, 0, "tensor 'n': shape[1] is negative"},
        {&toomany, 1, NULL, 0, "tensor 'd': 9 dims"},
        {&nodata, 1, NULL, 0, "tensor 'z': data is NULL"},
        {dup, 1, mdup, 2, "duplicate metadata key 'k'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        Err e = {{0}};
        CHECK(st_write(path, cases[i].ts, cases[i].nt, cases[i].m, cases[i].nm, &e) == -1, "case %zu accepted", i);
        CHECK(strstr(e.msg, cases[i].expect), "case %zu: '%s' lacks '%s'", i, e.msg, cases[i].expect);
        CHECK(access(path, F_OK) != 0, "case %zu: a rejected write touched the disk", i);
    }
}

static int write_text(FILE *f, void *ctx, Err *e) {
    return fputs((const char *)ctx, f) < 0 ? err_set(e, "fputs failed") : 0;
}

static int write_then_fail(FILE *f, void *ctx, Err *e) {
    fputs("partial new contents", f);
    return err_set(e, "simulated failure");
}

/* Entries in dir other than . and .. */
static int count_entries(const char *dir) {
    DIR *d = opendir(dir);
    int n = 0;
    if (!d) return -1;
    for (struct dirent *de; (de = readdir(d));)
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) n++;
    closedir(d);
    return n;
}

TEST(atomic_write_keeps_old_file_on_failure) {
    char dir[] = "/tmp/neurop-atomic-XXXXXX";
    if (!mkdtemp(dir)) SKIP("mkdtemp failed");
    char path[256];
    snprintf(path, sizeof path, "%s/ckpt.safetensors", dir);
    Err e = {{0}};
    CHECK(atomic_write(path, write_text, "old contents", &e) == 0, "first write: %s", e.msg);
    CHECK(atomic_write(path, write_then_fail, NULL, &e) == -1, "failing write succeeded");
    CHECK(strcmp(e.msg, "simulated failure") == 0, "message '%s'", e.msg);
    unsigned char *buf;
    size_t len;
    CHECK(read_file(path, &buf, &len, &e) == 0, "%s", e.msg);
    if (buf) CHECK(strcmp((char *)buf, "old contents") == 0, "old file changed to '%s'", buf);
    free(buf);
    CHECK(count_entries(dir) == 1, "temp file left behind (%d entries)", count_entries(dir));

    /* A failing st_write (bad input) leaves the old checkpoint too, and a good one replaces it. */
    float x = 1;
    StTensor t = {"x", 0, {0}, &x}, bad = {"x", 1, {-3}, &x};
    CHECK(st_write(path, &bad, 1, NULL, 0, &e) == -1, "bad st_write succeeded");
    CHECK(read_file(path, &buf, &len, &e) == 0 && strcmp((char *)buf, "old contents") == 0, "old file changed");
    free(buf);
    CHECK(st_write(path, &t, 1, NULL, 0, &e) == 0, "%s", e.msg);
    StFile *f = st_read(path, &e);
    CHECK(f && st_count(f) == 1 && st_at(f, 0)->data[0] == 1.0f, "replaced file: %s", f ? "wrong contents" : e.msg);
    st_free(f);
    CHECK(count_entries(dir) == 1, "temp file left behind (%d entries)", count_entries(dir));
    unlink(path);
    rmdir(dir);
}

TEST(atomic_write_missing_directory) {
    char path[256];
    snprintf(path, sizeof path, "/tmp/neurop-no-such-dir-%ld/ckpt.safetensors", (long)getpid());
    Err e = {{0}};
    CHECK(atomic_write(path, write_text, "x", &e) == -1, "write into a missing directory succeeded");
    CHECK(strstr(e.msg, path) && strstr(e.msg, "No such file or directory"), "message '%s'", e.msg);
    float x = 0;
    StTensor t = {"x", 0, {0}, &x};
    CHECK(st_write(path, &t, 1, NULL, 0, &e) == -1, "st_write into a missing directory succeeded");
    CHECK(strstr(e.msg, path) && strstr(e.msg, "No such file or directory"), "message '%s'", e.msg);
}

TEST(read_file_whole_and_errors) {
    char path[256];
    tmp_path(path, sizeof path, "readfile");
    Err e = {{0}};
    CHECK(atomic_write(path, write_text, "hello\nworld", &e) == 0, "%s", e.msg);
    unsigned char *buf;
    size_t len;
    CHECK(read_file(path, &buf, &len, &e) == 0 && len == 11 && strcmp((char *)buf, "hello\nworld") == 0,
          "read_file: %s", e.msg);
    free(buf);
    unlink(path);
    CHECK(read_file(path, &buf, &len, &e) == -1 && buf == NULL && strstr(e.msg, "cannot open"), "missing: %s", e.msg);
    CHECK(read_file("/tmp", &buf, &len, &e) == -1 && strstr(e.msg, "not a regular file"), "dir: %s", e.msg);
}

/* An atomic write to a device (-o /dev/null) writes into it: renaming a temporary file over it
 * would replace /dev/null itself with a regular file (it did, as root, before this test). */
static int write_hello(FILE *f, void *ctx, Err *e) {
    (void)ctx;
    (void)e;
    return fputs("hello", f) < 0 ? -1 : 0;
}
TEST(atomic_write_to_a_device_keeps_the_device) {
    Err e = {{0}};
    struct stat st;
    CHECK(!stat("/dev/null", &st) && S_ISCHR(st.st_mode), "/dev/null is not a character device before the test");
    CHECK(atomic_write("/dev/null", write_hello, NULL, &e) == 0, "atomic_write to /dev/null: %s", e.msg);
    CHECK(!stat("/dev/null", &st) && S_ISCHR(st.st_mode), "atomic_write replaced /dev/null with another kind of file");
    CHECK(atomic_write("/tmp", write_hello, NULL, &e) != 0 && strstr(e.msg, "directory"),
          "atomic_write onto a directory: %s", e.msg);
}
