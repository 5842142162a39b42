/* The safetensors writer. The header is written by hand (not through cJSON's
 * printer) so that offsets are exact integers at any size. */
#include "nn/safetensors.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/half.h"
#include "util/json.h"

typedef struct strbuf {
    char *p;
    size_t len, cap;
    int oom;
} strbuf;

static void sb_add(strbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_puts(strbuf *b, const char *s)
{
    sb_add(b, s, strlen(s));
}

static void sb_u64(strbuf *b, uint64_t v)
{
    char tmp[24];
    int n = snprintf(tmp, sizeof tmp, "%" PRIu64, v);
    sb_add(b, tmp, (size_t)n);
}

/* A JSON string literal; the text is valid UTF-8 (checked by the caller). */
static void sb_json_string(strbuf *b, const char *s)
{
    sb_add(b, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char esc[8];
        switch (*p) {
        case '"':
            sb_add(b, "\\\"", 2);
            break;
        case '\\':
            sb_add(b, "\\\\", 2);
            break;
        case '\n':
            sb_add(b, "\\n", 2);
            break;
        case '\t':
            sb_add(b, "\\t", 2);
            break;
        case '\r':
            sb_add(b, "\\r", 2);
            break;
        default:
            if (*p < 0x20) {
                snprintf(esc, sizeof esc, "\\u%04x", *p);
                sb_add(b, esc, 6);
            } else {
                sb_add(b, (const char *)p, 1);
            }
        }
    }
    sb_add(b, "\"", 1);
}

typedef struct plan {
    const qt_st_out *t;
    uint64_t numel, bytes, begin;
} plan;

/* Largest elements first, then by name: every tensor then starts aligned to
 * its element size, as in Hugging Face's writer. */
static int plan_order(const void *a, const void *b)
{
    const plan *x = a, *y = b;
    unsigned bx = qt_dtype_bits(x->t->dtype), by = qt_dtype_bits(y->t->dtype);
    if (bx != by)
        return bx > by ? -1 : 1;
    if (x->t->dtype != y->t->dtype) /* BF16 before F16, like the reference */
        return x->t->dtype == QT_DT_BF16 ? -1 : 1;
    return strcmp(x->t->name, y->t->name);
}

static int name_order(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int meta_order(const void *a, const void *b)
{
    return strcmp(**(const char *const *const *)a, **(const char *const *const *)b);
}

/* Checks the inputs and builds the plan and the padded header. */
static int prepare(const qt_st_out *ts, size_t n, const char *const *meta, size_t n_meta, plan **plan_out,
                   strbuf *hdr, uint64_t *data_bytes, qt_err *e)
{
    plan *pl = calloc(n ? n : 1, sizeof *pl);
    const char *const **keys = calloc(n_meta ? n_meta : 1, sizeof *keys);
    if (!pl || !keys) {
        free(pl);
        free(keys);
        return qt_fail(e, "safetensors writer: out of memory");
    }
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        const qt_st_out *t = &ts[i];
        pl[i].t = t;
        if (!t->name || strcmp(t->name, "__metadata__") == 0 ||
            qt_utf8_invalid_offset(t->name, strlen(t->name)) >= 0) {
            rc = qt_fail(e, "safetensors writer: tensor %zu: invalid name", i);
            break;
        }
        if (t->dtype != QT_DT_F32 && t->dtype != QT_DT_F16 && t->dtype != QT_DT_BF16) {
            rc = qt_fail(e, "safetensors writer: tensor '%s': can only store F32, F16 or BF16, not %s", t->name,
                         qt_dtype_name(t->dtype));
            break;
        }
        uint64_t numel = 1;
        for (size_t k = 0; k < t->ndim; k++) {
            if (t->shape[k] && numel > (UINT64_MAX / 8) / t->shape[k]) {
                rc = qt_fail(e, "safetensors writer: tensor '%s': shape too large", t->name);
                break;
            }
            numel *= t->shape[k];
        }
        if (rc == 0 && numel && !t->data)
            rc = qt_fail(e, "safetensors writer: tensor '%s': no data", t->name);
        pl[i].numel = numel;
        pl[i].bytes = numel * (qt_dtype_bits(t->dtype) / 8);
    }
    for (size_t i = 0; i < n_meta && rc == 0; i++) {
        keys[i] = &meta[2 * i];
        for (int k = 0; k < 2 && rc == 0; k++)
            if (!meta[2 * i + k] || qt_utf8_invalid_offset(meta[2 * i + k], strlen(meta[2 * i + k])) >= 0)
                rc = qt_fail(e, "safetensors writer: metadata entry %zu: invalid %s", i, k ? "value" : "key");
    }
    if (rc == 0) {
        qsort(pl, n, sizeof *pl, plan_order);
        qsort(keys, n_meta, sizeof *keys, meta_order);
        for (size_t i = 1; i < n_meta && rc == 0; i++)
            if (strcmp(keys[i - 1][0], keys[i][0]) == 0)
                rc = qt_fail(e, "safetensors writer: duplicate metadata key '%s'", keys[i][0]);
        const char **names = malloc((n ? n : 1) * sizeof *names);
        if (!names)
            rc = qt_fail(e, "safetensors writer: out of memory");
        for (size_t i = 0; i < n && names; i++)
            names[i] = ts[i].name;
        if (names)
            qsort(names, n, sizeof *names, name_order);
        for (size_t i = 1; i < n && rc == 0; i++)
            if (strcmp(names[i - 1], names[i]) == 0)
                rc = qt_fail(e, "safetensors writer: duplicate tensor name '%s'", names[i]);
        free(names);
    }
    if (rc == 0) {
        int has_format = 0;
        sb_puts(hdr, "{\"__metadata__\":{");
        for (size_t i = 0; i < n_meta; i++) {
            if (strcmp(keys[i][0], "format") == 0)
                has_format = 1;
            if (i)
                sb_puts(hdr, ",");
            sb_json_string(hdr, keys[i][0]);
            sb_puts(hdr, ":");
            sb_json_string(hdr, keys[i][1]);
        }
        if (!has_format)
            sb_puts(hdr, n_meta ? ",\"format\":\"pt\"" : "\"format\":\"pt\"");
        sb_puts(hdr, "}");
        uint64_t off = 0;
        for (size_t i = 0; i < n; i++) {
            const qt_st_out *t = pl[i].t;
            pl[i].begin = off;
            sb_puts(hdr, ",");
            sb_json_string(hdr, t->name);
            sb_puts(hdr, ":{\"dtype\":\"");
            sb_puts(hdr, qt_dtype_name(t->dtype));
            sb_puts(hdr, "\",\"shape\":[");
            for (size_t k = 0; k < t->ndim; k++) {
                if (k)
                    sb_puts(hdr, ",");
                sb_u64(hdr, t->shape[k]);
            }
            sb_puts(hdr, "],\"data_offsets\":[");
            sb_u64(hdr, off);
            sb_puts(hdr, ",");
            off += pl[i].bytes;
            sb_u64(hdr, off);
            sb_puts(hdr, "]}");
        }
        sb_puts(hdr, "}");
        while (hdr->len % 8 != 0)
            sb_puts(hdr, " ");
        *data_bytes = off;
        if (hdr->oom)
            rc = qt_fail(e, "safetensors writer: out of memory");
    }
    free(keys);
    if (rc != 0) {
        free(pl);
        return -1;
    }
    *plan_out = pl;
    return 0;
}

/* The stored bytes of elements [from, from + count) of one tensor. */
static void encode(const plan *p, size_t from, size_t count, unsigned char *dst)
{
    const float *src = p->t->data + from;
    switch (p->t->dtype) {
    case QT_DT_F16:
        qt_f32_to_f16_array(src, dst, count);
        break;
    case QT_DT_BF16:
        qt_f32_to_bf16_array(src, dst, count);
        break;
    default:
        for (size_t i = 0; i < count; i++) {
            uint32_t u;
            memcpy(&u, &src[i], sizeof u);
            for (int k = 0; k < 4; k++)
                dst[4 * i + (size_t)k] = (unsigned char)(u >> (8 * k));
        }
    }
}

static void put_le64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

int qt_safetensors_write_buffer(const qt_st_out *tensors, size_t n, const char *const *meta, size_t n_meta,
                                unsigned char **buf, size_t *len, qt_err *e)
{
    plan *pl;
    strbuf hdr = {0};
    uint64_t data_bytes;
    if (prepare(tensors, n, meta, n_meta, &pl, &hdr, &data_bytes, e) != 0) {
        free(hdr.p);
        return -1;
    }
    size_t total = 8 + hdr.len + (size_t)data_bytes;
    unsigned char *out = malloc(total);
    if (!out) {
        free(pl);
        free(hdr.p);
        return qt_fail(e, "safetensors writer: out of memory for %zu bytes", total);
    }
    put_le64(out, hdr.len);
    memcpy(out + 8, hdr.p, hdr.len);
    unsigned char *data = out + 8 + hdr.len;
    for (size_t i = 0; i < n; i++)
        encode(&pl[i], 0, (size_t)pl[i].numel, data + pl[i].begin);
    free(pl);
    free(hdr.p);
    *buf = out;
    *len = total;
    return 0;
}

int qt_safetensors_write(const char *path, const qt_st_out *tensors, size_t n, const char *const *meta,
                         size_t n_meta, qt_err *e)
{
    plan *pl;
    strbuf hdr = {0};
    uint64_t data_bytes;
    if (prepare(tensors, n, meta, n_meta, &pl, &hdr, &data_bytes, e) != 0) {
        free(hdr.p);
        return qt_fail_prefix(e, "%s", path);
    }
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 16);
    int fd = -1;
    if (tmp) {
        snprintf(tmp, plen + 16, "%s.tmpXXXXXX", path);
        fd = mkstemp(tmp);
    }
    FILE *f = fd >= 0 ? fdopen(fd, "wb") : NULL;
    if (!f) {
        int err = errno;
        if (fd >= 0) {
            close(fd);
            unlink(tmp);
        }
        free(tmp);
        free(pl);
        free(hdr.p);
        return qt_fail(e, "%s: cannot create: %s", path, strerror(err));
    }
    /* Streamed in chunks: a model is not held twice in memory. */
    enum { CHUNK = 16384 };
    unsigned char *chunk = malloc(CHUNK * 4);
    unsigned char len8[8];
    put_le64(len8, hdr.len);
    errno = ENOMEM;
    int ok = chunk && fchmod(fd, 0644) == 0 && fwrite(len8, 1, 8, f) == 8 && fwrite(hdr.p, 1, hdr.len, f) == hdr.len;
    for (size_t i = 0; i < n && ok; i++) {
        size_t width = qt_dtype_bits(pl[i].t->dtype) / 8;
        for (size_t at = 0; at < pl[i].numel && ok; at += CHUNK) {
            size_t count = pl[i].numel - at < CHUNK ? (size_t)pl[i].numel - at : CHUNK;
            encode(&pl[i], at, count, chunk);
            ok = fwrite(chunk, width, count, f) == count;
        }
    }
    int err = errno;
    if (ok && (fflush(f) != 0 || fsync(fileno(f)) != 0)) {
        ok = 0;
        err = errno;
    }
    if (fclose(f) != 0 && ok) {
        ok = 0;
        err = errno;
    }
    if (ok && rename(tmp, path) != 0) {
        ok = 0;
        err = errno;
    }
    if (!ok)
        unlink(tmp);
    free(chunk);
    free(tmp);
    free(pl);
    free(hdr.p);
    return ok ? 0 : qt_fail(e, "%s: cannot write: %s", path, strerror(err));
}
