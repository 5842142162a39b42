/* safetensors reader/writer, F16/BF16 conversions and checkpoint
 * directories. Files are built byte by byte in a temporary directory; every
 * malformed one must give a clear one-line error, never a crash. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "models/checkpoint.h"
#include "nn/safetensors.h"
#include "util/file.h"
#include "util/half.h"
#include "util/json.h"

static char tmpdir[4096];

static const char *tmp_path(const char *name)
{
    static char buf[8][4200];
    static int next;
    char *p = buf[next++ % 8];
    snprintf(p, sizeof buf[0], "%s/%s", tmpdir, name);
    return p;
}

static void write_bytes(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static void write_text(const char *path, const char *text)
{
    write_bytes(path, text, strlen(text));
}

/* A file from a literal header: the 8-byte length (or `len_override` when
 * non-zero), the header text, then data_len bytes of data. */
static size_t raw_image(unsigned char *out, size_t cap, const char *header, size_t data_len, uint64_t len_override)
{
    size_t n = strlen(header);
    uint64_t len = len_override ? len_override : n;
    assert_true(8 + n + data_len <= cap);
    for (int i = 0; i < 8; i++)
        out[i] = (unsigned char)(len >> (8 * i));
    memcpy(out + 8, header, n);
    for (size_t i = 0; i < data_len; i++)
        out[8 + n + i] = (unsigned char)(i * 7 + 1);
    return 8 + n + data_len;
}

static uint32_t bits_of(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static float float_of(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int setup_tmp(void **state)
{
    (void)state;
    const char *build = getenv("QATERM_BUILDDIR");
    char base[4000];
    snprintf(base, sizeof base, "%s/tests/tmp", build ? build : "/tmp");
    qt_err e;
    if (qt_mkdir_p(base, &e) != 0)
        snprintf(base, sizeof base, "/tmp");
    snprintf(tmpdir, sizeof tmpdir, "%s/safetensors.XXXXXX", base);
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_tmp(void **state)
{
    (void)state;
    return nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- F16 / BF16 conversions ---- */

static void f16_known_values(void **state)
{
    (void)state;
    static const struct {
        uint16_t h;
        uint32_t f;
    } cases[] = {
        {0x0000, 0x00000000}, {0x8000, 0x80000000}, {0x3C00, 0x3F800000}, {0xC000, 0xC0000000},
        {0x7BFF, 0x477FE000}, /* 65504 */
        {0x0001, 0x33800000}, /* 2^-24, smallest subnormal */
        {0x03FF, 0x387FC000}, /* largest subnormal */
        {0x0400, 0x38800000}, /* 2^-14, smallest normal */
        {0x7C00, 0x7F800000}, {0xFC00, 0xFF800000}, {0x3555, 0x3EAAA000},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        assert_int_equal(bits_of(qt_f16_to_f32(cases[i].h)), cases[i].f);
        assert_int_equal(qt_f32_to_f16(float_of(cases[i].f)), cases[i].h);
    }
    assert_true(isnan(qt_f16_to_f32(0x7E00)));
    assert_true(isnan(qt_f16_to_f32(0x7C01))); /* signalling NaN stays NaN */
    assert_true(isnan(qt_f16_to_f32(0xFFFF)));
}

static void f16_all_values_round_trip(void **state)
{
    (void)state;
    for (uint32_t h = 0; h <= 0xFFFF; h++) {
        float f = qt_f16_to_f32((uint16_t)h);
        uint16_t back = qt_f32_to_f16(f);
        if ((h & 0x7C00) == 0x7C00 && (h & 0x3FF)) {
            assert_true(isnan(f));
            assert_int_equal(back & 0x7C00, 0x7C00);
            assert_true(back & 0x3FF);
            assert_int_equal(back & 0x8000, h & 0x8000);
        } else {
            assert_int_equal(back, h);
        }
    }
}

static void f16_rounding(void **state)
{
    (void)state;
    static const struct {
        float f;
        uint16_t h;
    } cases[] = {
        {1.0f + 0x1p-11f, 0x3C00},          /* tie, rounds to even (down) */
        {1.0f + 3 * 0x1p-11f, 0x3C02},      /* tie, rounds to even (up) */
        {1.0f + 0x1p-11f + 0x1p-20f, 0x3C01}, /* just above the tie */
        {65519.0f, 0x7BFF},                 /* below the overflow tie */
        {65520.0f, 0x7C00},                 /* the tie rounds to infinity */
        {1e6f, 0x7C00},
        {-1e6f, 0xFC00},
        {0x1p-25f, 0x0000},                 /* half the smallest subnormal: tie to 0 */
        {0x1p-25f * 1.0001f, 0x0001},
        {3 * 0x1p-25f, 0x0002},             /* tie between subnormals 1 and 2 */
        {1023.5f * 0x1p-24f, 0x0400},       /* carries into the smallest normal */
        {1e-10f, 0x0000},
        {-1e-10f, 0x8000},
        {0x1p-149f, 0x0000},                /* float subnormal */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        assert_int_equal(qt_f32_to_f16(cases[i].f), cases[i].h);
    assert_int_equal(qt_f32_to_f16(NAN) & 0x7E00, 0x7E00);
#ifdef __FLT16_MANT_DIG__
    /* The compiler's own conversion is correctly rounded: compare widely. */
    uint32_t x = 12345;
    for (int i = 0; i < 2000000; i++) {
        x = x * 1664525u + 1013904223u;
        float f = float_of(x);
        if (isnan(f))
            continue;
        _Float16 ref = (_Float16)f;
        uint16_t rb;
        memcpy(&rb, &ref, sizeof rb);
        assert_int_equal(qt_f32_to_f16(f), rb);
    }
#endif
}

static void bf16_values(void **state)
{
    (void)state;
    assert_int_equal(bits_of(qt_bf16_to_f32(0x3F80)), 0x3F800000);
    assert_int_equal(bits_of(qt_bf16_to_f32(0xC2F7)), 0xC2F70000);
    assert_int_equal(qt_f32_to_bf16(float_of(0x3F808000)), 0x3F80); /* tie to even (down) */
    assert_int_equal(qt_f32_to_bf16(float_of(0x3F818000)), 0x3F82); /* tie to even (up) */
    assert_int_equal(qt_f32_to_bf16(float_of(0x3F808001)), 0x3F81);
    assert_int_equal(qt_f32_to_bf16(float_of(0x7F7FFFFF)), 0x7F80); /* rounds to inf */
    assert_int_equal(qt_f32_to_bf16(INFINITY), 0x7F80);
    assert_int_equal(qt_f32_to_bf16(float_of(0x7F800001)) & 0x7FC0, 0x7FC0); /* NaN stays NaN */
    assert_int_equal(qt_f32_to_bf16(float_of(0x00000001)), 0x0000);
    for (uint32_t b = 0; b <= 0xFFFF; b++) {
        if ((b & 0x7F80) == 0x7F80 && (b & 0x7F))
            continue;
        assert_int_equal(qt_f32_to_bf16(qt_bf16_to_f32((uint16_t)b)), b);
    }
}

/* ---- writer and reader ---- */

static const float sample[12] = {0.0f, -0.0f, 1.0f, -2.5f, 0.333333f, 65504.0f,
                                 1e-7f, 70000.0f, INFINITY, -INFINITY, 1234.5678f, 3.0e38f};

static qt_safetensors *open_ok(const char *path)
{
    qt_err e = {{0}};
    qt_safetensors *st = NULL;
    if (qt_safetensors_open(path, &st, &e) != 0)
        fail_msg("open %s: %s", path, e.msg);
    return st;
}

static void round_trip_f32(void **state)
{
    (void)state;
    const size_t s34[] = {3, 4}, s2[] = {2};
    qt_st_out outs[] = {
        {"zeta.weight", QT_DT_F32, 2, s34, sample},
        {"alpha.bias", QT_DT_F32, 1, s2, sample + 2},
        {"scalar", QT_DT_F32, 0, NULL, sample + 10},
    };
    const char *meta[] = {"trained_by", "qaterm", "note", "tab\there \"quoted\""};
    qt_err e = {{0}};
    const char *path = tmp_path("f32.safetensors");
    assert_int_equal(qt_safetensors_write(path, outs, 3, meta, 2, &e), 0);

    char *raw;
    size_t len;
    assert_int_equal(qt_read_file(path, 0, &raw, &len, &e), 0);
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--)
        n = (n << 8) | (unsigned char)raw[i];
    assert_int_equal(n % 8, 0); /* padded like Hugging Face's writer */
    assert_int_equal(raw[8], '{');
    assert_int_equal(raw[8 + n - 1] == '}' || raw[8 + n - 1] == ' ', 1);
    assert_int_equal(len, 8 + n + (12 + 2 + 1) * 4);

    /* The in-memory writer gives the same bytes. */
    unsigned char *buf;
    size_t blen;
    assert_int_equal(qt_safetensors_write_buffer(outs, 3, meta, 2, &buf, &blen, &e), 0);
    assert_int_equal(blen, len);
    assert_memory_equal(buf, raw, len);
    free(buf);
    free(raw);

    qt_safetensors *st = open_ok(path);
    assert_int_equal(qt_safetensors_count(st), 3);
    assert_string_equal(qt_safetensors_at(st, 0)->name, "alpha.bias"); /* name order */
    assert_string_equal(qt_safetensors_at(st, 2)->name, "zeta.weight");
    assert_string_equal(qt_safetensors_meta(st, "trained_by"), "qaterm");
    assert_string_equal(qt_safetensors_meta(st, "note"), "tab\there \"quoted\"");
    assert_string_equal(qt_safetensors_meta(st, "format"), "pt"); /* transformers needs it */
    const qt_st_tensor *t = qt_safetensors_find(st, "zeta.weight");
    assert_non_null(t);
    assert_int_equal(t->dtype, QT_DT_F32);
    assert_int_equal(t->ndim, 2);
    assert_int_equal(t->shape[0], 3);
    assert_int_equal(t->shape[1], 4);
    float *f = qt_safetensors_f32(st, t, &e);
    assert_ptr_equal(f, t->data); /* zero-copy */
    assert_memory_equal(f, sample, sizeof sample);
    f[0] = 42.0f; /* private mapping: writable, file untouched */
    const qt_st_tensor *sc = qt_safetensors_find(st, "scalar");
    assert_int_equal(sc->ndim, 0);
    assert_int_equal(sc->numel, 1);
    assert_true(qt_safetensors_f32(st, sc, &e)[0] == sample[10]);
    assert_null(qt_safetensors_find(st, "missing"));
    qt_safetensors_close(st);

    st = open_ok(path);
    assert_true(qt_safetensors_f32(st, qt_safetensors_find(st, "zeta.weight"), &e)[0] == 0.0f);
    qt_safetensors_close(st);
}

static void round_trip_f16_bf16(void **state)
{
    (void)state;
    const size_t s12[] = {12}, s26[] = {2, 6};
    qt_st_out outs[] = {
        {"h", QT_DT_F16, 1, s12, sample},
        {"b", QT_DT_BF16, 2, s26, sample},
        {"f", QT_DT_F32, 1, s12, sample},
    };
    qt_err e = {{0}};
    const char *path = tmp_path("half.safetensors");
    assert_int_equal(qt_safetensors_write(path, outs, 3, NULL, 0, &e), 0);
    qt_safetensors *st = open_ok(path);
    const qt_st_tensor *h = qt_safetensors_find(st, "h"), *b = qt_safetensors_find(st, "b");
    assert_int_equal(h->dtype, QT_DT_F16);
    assert_int_equal(b->dtype, QT_DT_BF16);
    assert_int_equal(h->end - h->begin, 24);
    /* F32 first, then BF16, then F16: every tensor aligned. */
    assert_int_equal(qt_safetensors_find(st, "f")->begin, 0);
    assert_int_equal(b->begin, 48);
    assert_int_equal(h->begin, 72);
    float *hf = qt_safetensors_f32(st, h, &e), *bf = qt_safetensors_f32(st, b, &e);
    assert_non_null(hf);
    assert_non_null(bf);
    assert_ptr_equal(qt_safetensors_f32(st, h, &e), hf); /* converted once */
    for (int i = 0; i < 12; i++) {
        assert_int_equal(bits_of(hf[i]), bits_of(qt_f16_to_f32(qt_f32_to_f16(sample[i]))));
        assert_int_equal(bits_of(bf[i]), bits_of(qt_bf16_to_f32(qt_f32_to_bf16(sample[i]))));
    }
    assert_true(isinf(hf[7])); /* 70000 overflows F16 */
    assert_true(hf[5] == 65504.0f);
    float dst[12];
    assert_int_equal(qt_safetensors_read_f32(st, h, dst, &e), 0);
    assert_memory_equal(dst, hf, sizeof dst);
    qt_safetensors_close(st);
}

static void writer_refuses_bad_input(void **state)
{
    (void)state;
    const size_t s1[] = {1};
    qt_err e = {{0}};
    unsigned char *buf;
    size_t len;
    qt_st_out dup[] = {{"a", QT_DT_F32, 1, s1, sample}, {"a", QT_DT_F16, 1, s1, sample}};
    assert_int_equal(qt_safetensors_write_buffer(dup, 2, NULL, 0, &buf, &len, &e), -1);
    assert_non_null(strstr(e.msg, "duplicate tensor name 'a'"));
    qt_st_out i64[] = {{"a", QT_DT_I64, 1, s1, sample}};
    assert_int_equal(qt_safetensors_write_buffer(i64, 1, NULL, 0, &buf, &len, &e), -1);
    assert_non_null(strstr(e.msg, "not I64"));
    qt_st_out meta_name[] = {{"__metadata__", QT_DT_F32, 1, s1, sample}};
    assert_int_equal(qt_safetensors_write_buffer(meta_name, 1, NULL, 0, &buf, &len, &e), -1);
    const char *dup_meta[] = {"k", "1", "k", "2"};
    assert_int_equal(qt_safetensors_write_buffer(NULL, 0, dup_meta, 2, &buf, &len, &e), -1);
    assert_non_null(strstr(e.msg, "duplicate metadata key 'k'"));
    assert_int_equal(qt_safetensors_write(tmp_path("no/such/dir/x.safetensors"), NULL, 0, NULL, 0, &e), -1);
    assert_non_null(strstr(e.msg, "cannot create"));
}

static void misaligned_f32_is_copied(void **state)
{
    (void)state;
    /* 3 bytes of U8 first: the F32 tensor starts at an odd address. */
    const char *hdr = "{\"u\":{\"dtype\":\"U8\",\"shape\":[3],\"data_offsets\":[0,3]},"
                      "\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[3,11]}}";
    unsigned char img[256];
    size_t len = raw_image(img, sizeof img, hdr, 11, 0);
    float vals[2] = {1.5f, -7.25f};
    memcpy(img + len - 8, vals, 8);
    write_bytes(tmp_path("misaligned.safetensors"), img, len);
    qt_safetensors *st = open_ok(tmp_path("misaligned.safetensors"));
    qt_err e = {{0}};
    const qt_st_tensor *t = qt_safetensors_find(st, "x");
    float *f = qt_safetensors_f32(st, t, &e);
    assert_non_null(f);
    assert_true(f[0] == 1.5f && f[1] == -7.25f);
    if ((uintptr_t)t->data % 4 != 0)
        assert_ptr_not_equal(f, t->data);
    /* U8 is a known dtype, but not a float one. */
    assert_null(qt_safetensors_f32(st, qt_safetensors_find(st, "u"), &e));
    assert_non_null(strstr(e.msg, "tensor 'u' has dtype U8, which cannot be loaded as floats"));
    qt_safetensors_close(st);
}

static void known_dtypes_and_empty_tensors(void **state)
{
    (void)state;
    const char *hdr = "{\"__metadata__\":{\"format\":\"pt\"},"
                      "\"ids\":{\"dtype\":\"I64\",\"shape\":[2],\"data_offsets\":[0,16]},"
                      "\"d\":{\"dtype\":\"F64\",\"shape\":[],\"data_offsets\":[16,24]},"
                      "\"e\":{\"dtype\":\"F32\",\"shape\":[0,5],\"data_offsets\":[24,24]},"
                      "\"e2\":{\"dtype\":\"BF16\",\"shape\":[7,0],\"data_offsets\":[24,24]},"
                      "\"q\":{\"dtype\":\"F4\",\"shape\":[4],\"data_offsets\":[24,26]},"
                      "\"m\":{\"dtype\":\"BOOL\",\"shape\":[2],\"data_offsets\":[26,28]},"
                      "\"c\":{\"dtype\":\"C64\",\"shape\":[1],\"data_offsets\":[28,36]},"
                      "\"f8\":{\"dtype\":\"F8_E4M3\",\"shape\":[4],\"data_offsets\":[36,40]}}";
    unsigned char img[1024];
    size_t len = raw_image(img, sizeof img, hdr, 40, 0);
    double d = 0.1;
    memcpy(img + len - 40 + 16, &d, 8);
    qt_err e = {{0}};
    qt_safetensors *st;
    if (qt_safetensors_parse_buffer("mixed", img, len, &st, &e) != 0)
        fail_msg("%s", e.msg);
    assert_int_equal(qt_safetensors_count(st), 8);
    float *f = qt_safetensors_f32(st, qt_safetensors_find(st, "d"), &e);
    assert_true(f && f[0] == 0.1f);
    const qt_st_tensor *empty = qt_safetensors_find(st, "e");
    assert_int_equal(empty->numel, 0);
    assert_non_null(qt_safetensors_f32(st, empty, &e));
    assert_non_null(qt_safetensors_f32(st, qt_safetensors_find(st, "e2"), &e));
    assert_null(qt_safetensors_f32(st, qt_safetensors_find(st, "ids"), &e));
    assert_non_null(strstr(e.msg, "dtype I64"));
    assert_null(qt_safetensors_f32(st, qt_safetensors_find(st, "q"), &e));
    assert_non_null(strstr(e.msg, "dtype F4"));
    qt_safetensors_close(st);
}

/* ---- malformed files ---- */

typedef struct bad_case {
    const char *what;
    const char *header; /* NULL: use bytes/len as the whole file */
    size_t data_len;
    uint64_t len_override;
    const char *expect; /* substring of the message */
} bad_case;

static const bad_case bad_cases[] = {
    {"unknown dtype", "{\"a\":{\"dtype\":\"Q7\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, 0,
     "tensor 'a': unknown dtype 'Q7'"},
    {"shape lies", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,12]}}", 12, 0,
     "shape [2,2] of F32 needs 16 bytes, but data_offsets [0, 12] hold 12"},
    {"offsets past the end", "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 12, 0,
     "data_offsets [0, 16] run past the end of the data (12 bytes after the header; truncated file?)"},
    {"overlap",
     "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
     "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
     12, 0, "tensor 'b' data_offsets [4, 12] overlap tensor 'a' [0, 8]"},
    {"same range twice",
     "{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]},"
     "\"b\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]}}",
     4, 0, "overlap"},
    {"gap",
     "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
     "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[12,20]}}",
     20, 0, "data bytes [8, 12) belong to no tensor (a hole before 'b')"},
    {"gap at the start", "{\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[2,4]}}", 4, 0,
     "data bytes [0, 2) belong to no tensor"},
    {"trailing bytes", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 12, 0,
     "4 bytes after the last tensor's data (offset 8 of 12) belong to no tensor"},
    {"data but no tensors", "{}", 3, 0, "3 bytes after the last tensor's data"},
    {"duplicate names",
     "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
     "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}",
     16, 0, "duplicate tensor name 'a'"},
    {"duplicate dtype key",
     "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"dtype\":\"I32\"}}", 4, 0,
     "tensor 'a': duplicate key \"dtype\""},
    {"duplicate metadata", "{\"__metadata__\":{},\"__metadata__\":{}}", 0, 0, "duplicate \"__metadata__\""},
    {"duplicate metadata key", "{\"__metadata__\":{\"k\":\"1\",\"k\":\"2\"}}", 0, 0, "duplicate key \"k\""},
    {"metadata not strings", "{\"__metadata__\":{\"k\":1}}", 0, 0, "at $.__metadata__[\"k\"]: expected a string"},
    {"metadata not an object", "{\"__metadata__\":[]}", 0, 0, "expected an object of strings"},
    {"array header", "[1,2,3]", 0, 0, "header must be a JSON object starting with '{', found '['"},
    {"string header", "\"x\"", 0, 0, "must be a JSON object"},
    {"leading space", " {}", 0, 0, "found byte 0x20"},
    {"empty header", "", 0, 0, "must be a JSON object starting with '{', found nothing"},
    {"invalid JSON", "{\"a\":{\"dtype\":", 0, 0,
     "safetensors: byte offset 22 (line 1, column 23): invalid JSON: unexpected end of file"},
    {"unterminated JSON", "{\"a\":{\"dtype\":", 4, 0, "byte offset 22 (line 1, column 23): invalid JSON: unterminated"},
    {"JSON syntax error", "{\"a\":\n{\"dtype\" 1}}", 0, 0,
     "byte offset 23 (line 2, column 10): invalid JSON near '1}}'"},
    {"garbage after JSON", "{} x", 0, 0, "byte offset 11 (line 1, column 12): invalid JSON: unexpected data after the end"},
    {"invalid UTF-8", "{\"\xff\xfe\":{}}", 0, 0, "byte offset 10: invalid UTF-8 in the JSON header"},
    {"overlong UTF-8", "{\"\xc0\xaf\":{}}", 0, 0, "invalid UTF-8"},
    {"escaped NUL in a name",
     "{\"a\\u0000b\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1, 0, "\\u0000"},
    {"entry not an object", "{\"a\":[1]}", 0, 0, "tensor 'a': expected an object {dtype, shape, data_offsets}"},
    {"dtype missing", "{\"a\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4, 0, "\"dtype\" is missing"},
    {"dtype not a string", "{\"a\":{\"dtype\":4,\"shape\":[1],\"data_offsets\":[0,4]}}", 4, 0,
     "\"dtype\" is not a string"},
    {"shape missing", "{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4, 0, "\"shape\" is missing"},
    {"negative dim", "{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4, 0,
     "shape[0] is not a non-negative integer"},
    {"fractional dim", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1.5],\"data_offsets\":[0,4]}}", 4, 0,
     "shape[1] is not a non-negative integer"},
    {"huge dim", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1e300],\"data_offsets\":[0,4]}}", 4, 0,
     "shape[0] is not a non-negative integer"},
    {"shape overflow",
     "{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,4294967296],\"data_offsets\":[0,4]}}", 4, 0,
     "shape [4294967296,4294967296,4294967296] is too large"},
    {"offsets not a pair", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]}}", 8, 0,
     "\"data_offsets\" must be [begin, end]"},
    {"negative offset", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]}}", 4, 0,
     "\"data_offsets\" must be [begin, end]"},
    {"offsets reversed", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,0]}}", 4, 0,
     "end before they begin"},
    {"half a byte", "{\"a\":{\"dtype\":\"F4\",\"shape\":[3],\"data_offsets\":[0,2]}}", 2, 0,
     "3 elements of F4 do not fill a whole number of bytes"},
    {"huge header length", "{}", 0, 0xFFFFFFFFFFFFFFFFull, "is over the 100000000-byte limit"},
    {"header over the limit", "{}", 0, 100000001, "is over the 100000000-byte limit"},
    {"header longer than the file", "{}", 0, 1000, "header length 1000 runs past the end of the file (10 bytes"},
};

static void check_bad_image(const bad_case *c, const unsigned char *img, size_t len)
{
    qt_err e = {{0}};
    qt_safetensors *st = NULL;
    const char *path = tmp_path("bad.safetensors");
    write_bytes(path, img, len);
    int rc = qt_safetensors_open(path, &st, &e);
    if (rc == 0 || !strstr(e.msg, c->expect))
        fail_msg("%s: got rc %d, message \"%s\", wanted \"%s\"", c->what, rc, e.msg, c->expect);
    assert_null(st);
    assert_non_null(strstr(e.msg, path)); /* names the file */
    assert_null(strchr(e.msg, '\n'));
    printf("# %s: %s\n", c->what, e.msg + strlen(tmpdir) + 1);
    /* The in-memory parser applies the very same checks. */
    qt_err e2 = {{0}};
    assert_int_equal(qt_safetensors_parse_buffer(path, img, len, &st, &e2), -1);
    assert_string_equal(e2.msg, e.msg);
}

static void bad_headers(void **state)
{
    (void)state;
    unsigned char img[1024];
    for (size_t i = 0; i < sizeof bad_cases / sizeof *bad_cases; i++) {
        const bad_case *c = &bad_cases[i];
        size_t len = raw_image(img, sizeof img, c->header, c->data_len, c->len_override);
        check_bad_image(c, img, len);
    }
}

static void bad_files(void **state)
{
    (void)state;
    static const unsigned char nothing[1] = {0};
    bad_case zero = {"0-byte file", NULL, 0, 0, "empty file (0 bytes), expected a safetensors file"};
    check_bad_image(&zero, nothing, 0);
    static const unsigned char five[5] = {8, 0, 0, 0, 0};
    bad_case short_len = {"5-byte file", NULL, 0, 0, "only 5 bytes, too short for the 8-byte header length"};
    check_bad_image(&short_len, five, 5);
    unsigned char img[256];
    size_t len = raw_image(img, sizeof img, "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, 0);
    img[20] = '\0';
    bad_case nul = {"NUL in the header", NULL, 0, 0, "byte offset 20: NUL byte in the JSON header"};
    check_bad_image(&nul, img, len);

    /* A valid file cut short, at several places. */
    const size_t s8[] = {8};
    unsigned char *full;
    size_t full_len;
    qt_err e = {{0}};
    qt_st_out out = {"w", QT_DT_F32, 1, s8, sample};
    assert_int_equal(qt_safetensors_write_buffer(&out, 1, NULL, 0, &full, &full_len, &e), 0);
    bad_case cut_data = {"truncated data", NULL, 0, 0, "run past the end of the data"};
    check_bad_image(&cut_data, full, full_len - 1);
    bad_case cut_header = {"truncated header", NULL, 0, 0, "runs past the end of the file"};
    check_bad_image(&cut_header, full, 30);
    for (size_t cut = 0; cut < full_len; cut++) { /* never a crash, always a message */
        qt_safetensors *st;
        assert_int_equal(qt_safetensors_parse_buffer("cut", full, cut, &st, &e), -1);
        assert_true(e.msg[0] != '\0');
    }
    free(full);

    qt_safetensors *st;
    assert_int_equal(qt_safetensors_open(tmpdir, &st, &e), -1);
    assert_non_null(strstr(e.msg, "is a directory"));
    assert_int_equal(qt_safetensors_open(tmp_path("absent.safetensors"), &st, &e), -1);
    assert_non_null(strstr(e.msg, "No such file"));
}

/* ---- the reference fixture written by tests/ref/safetensors_ref.py ---- */

static uint32_t hex_at(const cJSON *arr, int i)
{
    const cJSON *v = cJSON_GetArrayItem(arr, i);
    assert_true(cJSON_IsString(v));
    return (uint32_t)strtoul(v->valuestring, NULL, 16);
}

static void python_reference_fixture(void **state)
{
    (void)state;
    const char *srcdir = getenv("QATERM_SRCDIR");
    char path[4096], epath[4096];
    snprintf(path, sizeof path, "%s/tests/fixtures/safetensors/ref.safetensors", srcdir ? srcdir : QATERM_SRCDIR);
    snprintf(epath, sizeof epath, "%s/tests/fixtures/safetensors/ref_expected.json",
             srcdir ? srcdir : QATERM_SRCDIR);
    qt_err e = {{0}};
    cJSON *want = qt_json_load_file(epath, &e);
    if (!want)
        fail_msg("%s", e.msg);
    qt_safetensors *st = open_ok(path);
    assert_string_equal(qt_safetensors_meta(st, "written_by"), "tests/ref/safetensors_ref.py");
    const cJSON *tensors = cJSON_GetObjectItem(want, "tensors");
    assert_int_equal(qt_safetensors_count(st), cJSON_GetArraySize(tensors));
    int compared = 0;
    for (const cJSON *w = tensors->child; w; w = w->next) {
        const qt_st_tensor *t = qt_safetensors_find(st, w->string);
        assert_non_null(t);
        assert_string_equal(qt_dtype_name(t->dtype), cJSON_GetObjectItem(w, "dtype")->valuestring);
        const cJSON *shape = cJSON_GetObjectItem(w, "shape");
        assert_int_equal(t->ndim, cJSON_GetArraySize(shape));
        for (size_t k = 0; k < t->ndim; k++)
            assert_int_equal(t->shape[k], cJSON_GetArrayItem(shape, (int)k)->valueint);
        const cJSON *bits = cJSON_GetObjectItem(w, "f32_bits");
        if (!bits) {
            assert_null(qt_safetensors_f32(st, t, &e)); /* the I64 tensor */
            continue;
        }
        float *f = qt_safetensors_f32(st, t, &e);
        assert_non_null(f);
        assert_int_equal(t->numel, cJSON_GetArraySize(bits));
        for (int i = 0; i < cJSON_GetArraySize(bits); i++) {
            uint32_t got = bits_of(f[i]), exp = hex_at(bits, i);
            if (isnan(float_of(exp)))
                assert_true(isnan(f[i]));
            else if (got != exp)
                fail_msg("%s[%d]: got 0x%08x, numpy says 0x%08x", w->string, i, got, exp);
        }
        /* Our narrowing agrees with numpy's (F16) and the reference (BF16). */
        const cJSON *src = cJSON_GetObjectItem(w, "source_f32_bits"), *stored = cJSON_GetObjectItem(w, "stored_bits");
        for (int i = 0; src && i < cJSON_GetArraySize(src); i++) {
            float x = float_of(hex_at(src, i));
            uint16_t mine = t->dtype == QT_DT_F16 ? qt_f32_to_f16(x) : qt_f32_to_bf16(x);
            uint16_t ref = (uint16_t)hex_at(stored, i);
            if (isnan(x))
                assert_true((mine & 0x7FFF) > (t->dtype == QT_DT_F16 ? 0x7C00 : 0x7F80));
            else if (mine != ref)
                fail_msg("%s[%d]: narrowing 0x%08x gives 0x%04x, reference 0x%04x", w->string, i,
                         hex_at(src, i), mine, ref);
        }
        compared++;
    }
    assert_int_equal(compared, 6);
    /* The F32 matrix sits at data offset 10: it was copied, not mapped. */
    const qt_st_tensor *m = qt_safetensors_find(st, "b.f32_matrix");
    assert_int_equal(m->begin, 10);
    qt_safetensors_close(st);
    cJSON_Delete(want);
}

/* ---- checkpoint directories ---- */

static const char *make_dir(const char *name)
{
    const char *d = tmp_path(name);
    qt_err e;
    assert_int_equal(qt_mkdir_p(d, &e), 0);
    return d;
}

static void write_in(const char *dir, const char *name, const qt_st_out *outs, size_t n)
{
    char path[4400];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    qt_err e = {{0}};
    if (qt_safetensors_write(path, outs, n, NULL, 0, &e) != 0)
        fail_msg("%s", e.msg);
}

static void text_in(const char *dir, const char *name, const char *text)
{
    char path[4400];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    write_text(path, text);
}

static const size_t s34[] = {3, 4}, s4[] = {4};

static void checkpoint_single_file(void **state)
{
    (void)state;
    const char *dir = make_dir("ck_single");
    text_in(dir, "config.json", "{\"hidden_size\": 4, \"vocab_size\": 3, \"model_type\": \"test\", \"eps\": 1e-5}");
    qt_st_out outs[] = {
        {"emb.weight", QT_DT_F32, 2, s34, sample},
        {"norm.bias", QT_DT_BF16, 1, s4, sample},
        {"pos_ids", QT_DT_F16, 1, s4, sample},
        {"foo", QT_DT_F32, 1, s4, sample},
    };
    write_in(dir, "model.safetensors", outs, 4);
    qt_err e = {{0}};
    qt_ckpt *ck = qt_ckpt_open(dir, &e);
    if (!ck)
        fail_msg("%s", e.msg);
    long hidden, vocab, layers;
    assert_int_equal(qt_ckpt_config_int(ck, "hidden_size", &hidden, &e), 0);
    assert_int_equal(qt_ckpt_config_int(ck, "vocab_size", &vocab, &e), 0);
    assert_int_equal(qt_ckpt_config_int_opt(ck, "num_layers", 6, &layers, &e), 0);
    assert_int_equal(layers, 6);
    assert_int_equal(qt_ckpt_config_int(ck, "num_layers", &layers, &e), -1);
    assert_non_null(strstr(e.msg, "config.json: at $: missing field 'num_layers'"));
    assert_int_equal(qt_ckpt_config_int(ck, "model_type", &layers, &e), -1);
    assert_non_null(strstr(e.msg, "expected a number"));
    assert_int_equal(qt_ckpt_config_int(ck, "eps", &layers, &e), -1);
    assert_non_null(strstr(e.msg, "expected an integer"));
    assert_string_equal(cJSON_GetObjectItem(qt_ckpt_config(ck), "model_type")->valuestring, "test");

    assert_int_equal(qt_ckpt_count(ck), 4);
    assert_string_equal(qt_ckpt_name(ck, 0), "emb.weight");
    assert_int_equal(qt_ckpt_param_count(ck), 12 + 4 + 4 + 4);
    struct stat sb;
    char mpath[4400];
    snprintf(mpath, sizeof mpath, "%s/model.safetensors", dir);
    assert_int_equal(stat(mpath, &sb), 0);
    assert_int_equal(qt_ckpt_disk_bytes(ck), (uint64_t)sb.st_size);
    assert_int_equal(qt_ckpt_shard_count(ck), 1);

    /* Config and weights disagree. */
    size_t want[] = {(size_t)vocab, (size_t)hidden + 1};
    assert_null(qt_ckpt_tensor(ck, "emb.weight", 2, want, &e));
    assert_non_null(strstr(e.msg, "model.safetensors: tensor 'emb.weight' has shape [3,4], config implies [3,5]"));
    size_t want1[] = {12};
    assert_null(qt_ckpt_tensor(ck, "emb.weight", 1, want1, &e));
    assert_non_null(strstr(e.msg, "has shape [3,4], config implies [12]"));
    /* A missing tensor. */
    assert_null(qt_ckpt_tensor(ck, "lm_head.weight", 2, want, &e));
    assert_non_null(strstr(e.msg, "model.safetensors: missing tensor 'lm_head.weight'"));

    want[1] = (size_t)hidden;
    float *emb = qt_ckpt_tensor(ck, "emb.weight", 2, want, &e);
    assert_non_null(emb);
    assert_memory_equal(emb, sample, 12 * sizeof(float));
    float *nb = qt_ckpt_tensor(ck, "norm.bias", 1, s4, &e);
    assert_non_null(nb);
    assert_true(nb[2] == 1.0f && nb[3] == -2.5f);
    assert_int_equal(qt_ckpt_skip(ck, "pos_ids"), 1);
    assert_int_equal(qt_ckpt_skip(ck, "nope"), 0);
    /* An extra tensor. */
    assert_int_equal(qt_ckpt_check_unused(ck, &e), -1);
    assert_non_null(strstr(e.msg, "model.safetensors: unexpected tensor 'foo' (not used by the model)"));
    printf("# %s\n", e.msg + strlen(tmpdir) + 1);
    assert_non_null(qt_ckpt_tensor(ck, "foo", 1, s4, &e));
    assert_int_equal(qt_ckpt_check_unused(ck, &e), 0);
    char *tok = qt_ckpt_file_path(ck, "tokenizer.json");
    assert_non_null(strstr(tok, "ck_single/tokenizer.json"));
    free(tok);
    qt_ckpt_close(ck);
}

static void write_sharded(const char *dir, const char *index)
{
    qt_st_out a[] = {{"a.weight", QT_DT_F32, 2, s34, sample}, {"a.bias", QT_DT_F16, 1, s4, sample}};
    qt_st_out b[] = {{"b.weight", QT_DT_F32, 1, s4, sample + 4}};
    write_in(dir, "model-00001-of-00002.safetensors", a, 2);
    write_in(dir, "model-00002-of-00002.safetensors", b, 1);
    text_in(dir, "config.json", "{\"hidden_size\": 4}");
    text_in(dir, "model.safetensors.index.json", index);
}

#define SHARD1 "\"model-00001-of-00002.safetensors\""
#define SHARD2 "\"model-00002-of-00002.safetensors\""

static void checkpoint_sharded(void **state)
{
    (void)state;
    const char *dir = make_dir("ck_sharded");
    write_sharded(dir, "{\"metadata\": {\"total_size\": 72}, \"weight_map\": {\"a.weight\": " SHARD1
                       ", \"b.weight\": " SHARD2 ", \"a.bias\": " SHARD1 "}}");
    qt_err e = {{0}};
    qt_ckpt *ck = qt_ckpt_open(dir, &e);
    if (!ck)
        fail_msg("%s", e.msg);
    assert_int_equal(qt_ckpt_shard_count(ck), 2);
    assert_int_equal(qt_ckpt_count(ck), 3);
    assert_string_equal(qt_ckpt_name(ck, 0), "a.bias");
    assert_string_equal(qt_ckpt_name(ck, 2), "b.weight");
    assert_int_equal(qt_ckpt_param_count(ck), 20);
    assert_true(qt_ckpt_disk_bytes(ck) > 3 * 8 + 20 * 4);
    float *bw = qt_ckpt_tensor(ck, "b.weight", 1, s4, &e);
    assert_non_null(bw);
    assert_memory_equal(bw, sample + 4, 4 * sizeof(float));
    assert_non_null(qt_ckpt_tensor(ck, "a.weight", 2, s34, &e));
    assert_int_equal(qt_ckpt_check_unused(ck, &e), -1);
    assert_non_null(strstr(e.msg, "model-00001-of-00002.safetensors: unexpected tensor 'a.bias'"));
    const qt_st_tensor *info = qt_ckpt_info(ck, "a.bias");
    assert_int_equal(info->dtype, QT_DT_F16);
    qt_ckpt_close(ck);
}

typedef struct dir_case {
    const char *what;
    const char *index; /* NULL: no index file */
    const char *expect;
} dir_case;

static void checkpoint_sharded_errors(void **state)
{
    (void)state;
    static const dir_case cases[] = {
        {"name missing from its shard",
         "{\"weight_map\": {\"a.weight\": " SHARD1 ", \"a.bias\": " SHARD1 ", \"b.weight\": " SHARD2
         ", \"c\": " SHARD2 "}}",
         "model-00002-of-00002.safetensors: tensor 'c' listed in model.safetensors.index.json is not in this shard"},
        {"tensor the index does not map",
         "{\"weight_map\": {\"a.weight\": " SHARD1 ", \"b.weight\": " SHARD2 "}}",
         "model-00001-of-00002.safetensors: holds tensor 'a.bias' that model.safetensors.index.json does not map"},
        {"tensor mapped to the wrong shard",
         "{\"weight_map\": {\"a.weight\": " SHARD1 ", \"a.bias\": " SHARD2 ", \"b.weight\": " SHARD2 "}}",
         "tensor 'a.bias' listed in model.safetensors.index.json is not in this shard"},
        {"duplicate names in the map",
         "{\"weight_map\": {\"a.weight\": " SHARD1 ", \"a.bias\": " SHARD1 ", \"a.bias\": " SHARD1
         ", \"b.weight\": " SHARD2 "}}",
         "at $.weight_map: duplicate tensor name 'a.bias'"},
        {"shard outside the directory", "{\"weight_map\": {\"a.weight\": \"../model.safetensors\"}}",
         "expected a shard file name in this directory"},
        {"shard not a string", "{\"weight_map\": {\"a.weight\": 3}}", "expected a shard file name"},
        {"missing shard file", "{\"weight_map\": {\"a.weight\": \"model-00003-of-00003.safetensors\"}}",
         "model-00003-of-00003.safetensors: No such file or directory"},
        {"no weight_map", "{\"metadata\": {}}", "model.safetensors.index.json: at $: missing field 'weight_map'"},
        {"index not JSON", "{\"weight_map\": ", "model.safetensors.index.json: byte offset"},
    };
    char name[64];
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        snprintf(name, sizeof name, "ck_bad_shard%zu", i);
        const char *dir = make_dir(name);
        write_sharded(dir, cases[i].index);
        qt_err e = {{0}};
        qt_ckpt *ck = qt_ckpt_open(dir, &e);
        if (ck || !strstr(e.msg, cases[i].expect))
            fail_msg("%s: got \"%s\", wanted \"%s\"", cases[i].what, e.msg, cases[i].expect);
        printf("# %s: %s\n", cases[i].what, e.msg + strlen(tmpdir) + 1);
    }
}

static void checkpoint_dir_errors(void **state)
{
    (void)state;
    qt_err e = {{0}};
    const char *dir = make_dir("ck_empty");
    assert_null(qt_ckpt_open(dir, &e));
    assert_non_null(strstr(e.msg, "ck_empty/config.json: No such file or directory"));
    text_in(dir, "config.json", "[1]");
    assert_null(qt_ckpt_open(dir, &e));
    assert_non_null(strstr(e.msg, "config.json: expected a JSON object, got an array"));
    text_in(dir, "config.json", "{\"hidden_size\": ");
    assert_null(qt_ckpt_open(dir, &e));
    assert_non_null(strstr(e.msg, "config.json: byte offset"));
    text_in(dir, "config.json", "{}");
    assert_null(qt_ckpt_open(dir, &e));
    assert_non_null(strstr(e.msg, "ck_empty: no model.safetensors or model.safetensors.index.json"));
    text_in(dir, "pytorch_model.bin", "pickle");
    assert_null(qt_ckpt_open(dir, &e));
    assert_non_null(strstr(e.msg, "only pytorch_model.bin"));
    text_in(dir, "model.safetensors", "");
    assert_null(qt_ckpt_open(dir, &e));
    assert_non_null(strstr(e.msg, "model.safetensors: empty file (0 bytes)"));
    char file[4400];
    snprintf(file, sizeof file, "%s/config.json", dir);
    assert_null(qt_ckpt_open(file, &e));
    assert_non_null(strstr(e.msg, "not a directory"));
    assert_null(qt_ckpt_open(tmp_path("no_such_dir"), &e));
    assert_non_null(strstr(e.msg, "No such file or directory"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(f16_known_values),
        cmocka_unit_test(f16_all_values_round_trip),
        cmocka_unit_test(f16_rounding),
        cmocka_unit_test(bf16_values),
        cmocka_unit_test(round_trip_f32),
        cmocka_unit_test(round_trip_f16_bf16),
        cmocka_unit_test(writer_refuses_bad_input),
        cmocka_unit_test(misaligned_f32_is_copied),
        cmocka_unit_test(known_dtypes_and_empty_tensors),
        cmocka_unit_test(bad_headers),
        cmocka_unit_test(bad_files),
        cmocka_unit_test(python_reference_fixture),
        cmocka_unit_test(checkpoint_single_file),
        cmocka_unit_test(checkpoint_sharded),
        cmocka_unit_test(checkpoint_sharded_errors),
        cmocka_unit_test(checkpoint_dir_errors),
    };
    return cmocka_run_group_tests(tests, setup_tmp, teardown_tmp);
}
