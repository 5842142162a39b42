#include "nn/safetensors.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/half.h"
#include "util/json.h"

struct qt_safetensors {
    char *path;
    unsigned char *image; /* the whole file */
    size_t size;
    int mapped;           /* image came from mmap (else malloc) */
    uint64_t header_len;
    unsigned char *data;  /* the data region, image + 8 + header_len */
    uint64_t data_len;
    qt_st_tensor *tensors; /* name order */
    size_t n;
    float **converted;    /* per tensor, filled on demand */
    cJSON *root;          /* the parsed header: tensor names point into it */
    const cJSON *metadata;
};

static const struct {
    const char *name;
    unsigned bits;
} dtype_info[QT_DT_COUNT] = {
    [QT_DT_BOOL] = {"BOOL", 8},
    [QT_DT_U8] = {"U8", 8},
    [QT_DT_I8] = {"I8", 8},
    [QT_DT_I16] = {"I16", 16},
    [QT_DT_U16] = {"U16", 16},
    [QT_DT_I32] = {"I32", 32},
    [QT_DT_U32] = {"U32", 32},
    [QT_DT_I64] = {"I64", 64},
    [QT_DT_U64] = {"U64", 64},
    [QT_DT_F16] = {"F16", 16},
    [QT_DT_BF16] = {"BF16", 16},
    [QT_DT_F32] = {"F32", 32},
    [QT_DT_F64] = {"F64", 64},
    [QT_DT_C64] = {"C64", 64},
    [QT_DT_F8_E5M2] = {"F8_E5M2", 8},
    [QT_DT_F8_E4M3] = {"F8_E4M3", 8},
    [QT_DT_F8_E8M0] = {"F8_E8M0", 8},
    [QT_DT_F8_E4M3FNUZ] = {"F8_E4M3FNUZ", 8},
    [QT_DT_F8_E5M2FNUZ] = {"F8_E5M2FNUZ", 8},
    [QT_DT_F6_E2M3] = {"F6_E2M3", 6},
    [QT_DT_F6_E3M2] = {"F6_E3M2", 6},
    [QT_DT_F4] = {"F4", 4},
};

const char *qt_dtype_name(qt_dtype dt)
{
    return (unsigned)dt < QT_DT_COUNT ? dtype_info[dt].name : "?";
}

unsigned qt_dtype_bits(qt_dtype dt)
{
    return (unsigned)dt < QT_DT_COUNT ? dtype_info[dt].bits : 0;
}

int qt_dtype_from_name(const char *name, qt_dtype *dt)
{
    for (int i = 0; i < QT_DT_COUNT; i++) {
        if (strcmp(name, dtype_info[i].name) == 0) {
            *dt = (qt_dtype)i;
            return 0;
        }
    }
    return -1;
}

int qt_dtype_loadable(qt_dtype dt)
{
    return dt == QT_DT_F32 || dt == QT_DT_F16 || dt == QT_DT_BF16 || dt == QT_DT_F64;
}

void qt_shape_format(char *buf, size_t cap, size_t ndim, const uint64_t *shape)
{
    size_t at = 0;
    if (cap == 0)
        return;
    buf[0] = '\0';
    at += (size_t)snprintf(buf, cap, "[");
    for (size_t i = 0; i < ndim && at < cap; i++)
        at += (size_t)snprintf(buf + at, cap - at, "%s%" PRIu64, i ? "," : "", shape[i]);
    if (at < cap)
        snprintf(buf + at, cap - at, "]");
}

/* Tensor names come from untrusted files: show them printable and bounded. */
static const char *show(const char *s, char *buf, size_t cap)
{
    size_t o = 0;
    const unsigned char *p = (const unsigned char *)s;
    for (; *p && o + 8 < cap; p++) {
        if (*p < 0x20 || *p == 0x7F)
            o += (size_t)snprintf(buf + o, cap - o, "\\x%02x", *p);
        else
            buf[o++] = (char)*p;
    }
    if (*p) { /* cut short: not inside a UTF-8 sequence */
        if ((*p & 0xC0) == 0x80) {
            while (o > 0 && ((unsigned char)buf[o - 1] & 0xC0) == 0x80)
                o--;
            if (o > 0)
                o--;
        }
        memcpy(buf + o, "...", 3);
        o += 3;
    }
    buf[o] = '\0';
    return buf;
}

#define SHOW_CAP 128

static uint64_t load_le64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static const int host_little_endian = __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__;

/* A JSON number that is an exact non-negative integer (cJSON keeps doubles,
 * so anything above 2^53 cannot be trusted to be exact). */
static int json_u64(const cJSON *v, uint64_t *out)
{
    if (!cJSON_IsNumber(v))
        return -1;
    double d = v->valuedouble;
    if (!(d >= 0) || d > 9007199254740992.0)
        return -1;
    uint64_t u = (uint64_t)d;
    if ((double)u != d)
        return -1;
    *out = u;
    return 0;
}

/* cJSON decodes "\u0000" into a NUL that silently cuts the string: two
 * distinct names could then collide. Such names are refused outright. */
static long escaped_nul_offset(const char *s, size_t n)
{
    int in_string = 0;
    for (size_t i = 0; i < n; i++) {
        if (!in_string) {
            if (s[i] == '"')
                in_string = 1;
        } else if (s[i] == '"') {
            in_string = 0;
        } else if (s[i] == '\\') {
            if (i + 5 < n && s[i + 1] == 'u' && memcmp(s + i + 2, "0000", 4) == 0)
                return (long)i;
            i++;
        }
    }
    return -1;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const qt_st_tensor *)a)->name, ((const qt_st_tensor *)b)->name);
}

static int by_offsets(const void *a, const void *b)
{
    const qt_st_tensor *x = *(const qt_st_tensor *const *)a, *y = *(const qt_st_tensor *const *)b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end)
        return x->end < y->end ? -1 : 1;
    return 0;
}

static int by_string(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int parse_metadata(qt_safetensors *st, const cJSON *item, const char *hname, qt_err *e)
{
    if (cJSON_IsNull(item))
        return 0;
    if (!cJSON_IsObject(item))
        return qt_fail(e, "%s: at $.__metadata__: expected an object of strings, got %s", hname,
                       qt_json_type_name(item));
    char nb[SHOW_CAP];
    size_t n = 0;
    for (const cJSON *kv = item->child; kv; kv = kv->next, n++)
        if (!cJSON_IsString(kv))
            return qt_fail(e, "%s: at $.__metadata__[\"%s\"]: expected a string, got %s", hname,
                           show(kv->string, nb, sizeof nb), qt_json_type_name(kv));
    /* Sorted, not compared pairwise: a hostile header may hold millions of keys. */
    const char **keys = malloc((n ? n : 1) * sizeof *keys);
    if (!keys)
        return qt_fail(e, "%s: out of memory", hname);
    n = 0;
    for (const cJSON *kv = item->child; kv; kv = kv->next)
        keys[n++] = kv->string;
    qsort(keys, n, sizeof *keys, by_string);
    int rc = 0;
    for (size_t i = 1; i < n && rc == 0; i++)
        if (strcmp(keys[i - 1], keys[i]) == 0)
            rc = qt_fail(e, "%s: at $.__metadata__: duplicate key \"%s\"", hname, show(keys[i], nb, sizeof nb));
    free(keys);
    st->metadata = item;
    return rc;
}

/* Fills t from one header entry; checks everything that concerns the entry
 * alone (the relations between entries are checked afterwards). */
static int parse_entry(qt_safetensors *st, const cJSON *item, qt_st_tensor *t, const char *hname, qt_err *e)
{
    char nb[SHOW_CAP];
    const char *nm = show(item->string, nb, sizeof nb);
    t->name = item->string;
    if (!cJSON_IsObject(item))
        return qt_fail(e, "%s: tensor '%s': expected an object {dtype, shape, data_offsets}, got %s", hname, nm,
                       qt_json_type_name(item));

    /* Parsers differ on which of two equal keys wins: refuse the ambiguity. */
    static const char *const fields[] = {"dtype", "shape", "data_offsets"};
    for (size_t f = 0; f < 3; f++) {
        int seen = 0;
        for (const cJSON *kv = item->child; kv; kv = kv->next)
            seen += strcmp(kv->string, fields[f]) == 0;
        if (seen > 1)
            return qt_fail(e, "%s: tensor '%s': duplicate key \"%s\"", hname, nm, fields[f]);
    }

    const cJSON *dtype = cJSON_GetObjectItemCaseSensitive(item, "dtype");
    if (!cJSON_IsString(dtype))
        return qt_fail(e, "%s: tensor '%s': \"dtype\" %s", hname, nm,
                       dtype ? "is not a string" : "is missing");
    if (qt_dtype_from_name(dtype->valuestring, &t->dtype) != 0) {
        char db[SHOW_CAP];
        return qt_fail(e, "%s: tensor '%s': unknown dtype '%s'", hname, nm, show(dtype->valuestring, db, sizeof db));
    }

    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(item, "shape");
    if (!cJSON_IsArray(shape))
        return qt_fail(e, "%s: tensor '%s': \"shape\" %s", hname, nm,
                       shape ? "is not an array" : "is missing");
    size_t ndim = (size_t)cJSON_GetArraySize(shape);
    uint64_t *dims = malloc((ndim ? ndim : 1) * sizeof *dims);
    if (!dims)
        return qt_fail(e, "%s: out of memory", hname);
    t->shape = dims;
    t->ndim = ndim;
    uint64_t numel = 1;
    int overflow = 0;
    size_t k = 0;
    for (const cJSON *d = shape->child; d; d = d->next, k++) {
        if (json_u64(d, &dims[k]) != 0)
            return qt_fail(e, "%s: tensor '%s': shape[%zu] is not a non-negative integer", hname, nm, k);
        if (dims[k] != 0 && numel > UINT64_MAX / dims[k])
            overflow = 1;
        else
            numel *= dims[k];
    }
    char sb[160];
    qt_shape_format(sb, sizeof sb, ndim, dims);
    /* A zero dimension makes the tensor empty whatever the others say. */
    for (k = 0; k < ndim; k++)
        if (dims[k] == 0)
            numel = 0, overflow = 0;
    unsigned bits = qt_dtype_bits(t->dtype);
    if (overflow || (numel && numel > UINT64_MAX / bits))
        return qt_fail(e, "%s: tensor '%s': shape %s is too large", hname, nm, sb);
    t->numel = numel;

    const cJSON *offs = cJSON_GetObjectItemCaseSensitive(item, "data_offsets");
    if (!cJSON_IsArray(offs) || cJSON_GetArraySize(offs) != 2 || json_u64(offs->child, &t->begin) != 0 ||
        json_u64(offs->child->next, &t->end) != 0)
        return qt_fail(e, "%s: tensor '%s': \"data_offsets\" must be [begin, end] with non-negative integers",
                       hname, nm);
    if (t->end < t->begin)
        return qt_fail(e, "%s: tensor '%s': data_offsets [%" PRIu64 ", %" PRIu64 "] end before they begin",
                       hname, nm, t->begin, t->end);
    uint64_t nbits = numel * bits;
    if (nbits % 8 != 0)
        return qt_fail(e, "%s: tensor '%s': %" PRIu64 " elements of %s do not fill a whole number of bytes",
                       hname, nm, numel, qt_dtype_name(t->dtype));
    if (t->end - t->begin != nbits / 8)
        return qt_fail(e,
                       "%s: tensor '%s': shape %s of %s needs %" PRIu64 " bytes, but data_offsets [%" PRIu64
                       ", %" PRIu64 "] hold %" PRIu64,
                       hname, nm, sb, qt_dtype_name(t->dtype), nbits / 8, t->begin, t->end, t->end - t->begin);
    if (t->end > st->data_len)
        return qt_fail(e,
                       "%s: tensor '%s': data_offsets [%" PRIu64 ", %" PRIu64 "] run past the end of the data "
                       "(%" PRIu64 " bytes after the header; truncated file?)",
                       st->path, nm, t->begin, t->end, st->data_len);
    t->data = st->data + t->begin;
    return 0;
}

/* The data region must be tiled exactly, in offset order. */
static int check_coverage(qt_safetensors *st, qt_err *e)
{
    qt_st_tensor **order = malloc((st->n ? st->n : 1) * sizeof *order);
    if (!order)
        return qt_fail(e, "%s: out of memory", st->path);
    for (size_t i = 0; i < st->n; i++)
        order[i] = &st->tensors[i];
    qsort(order, st->n, sizeof *order, by_offsets);
    char nb[SHOW_CAP], ob[SHOW_CAP];
    uint64_t covered = 0;
    int rc = 0;
    for (size_t i = 0; i < st->n && rc == 0; i++) {
        const qt_st_tensor *t = order[i];
        if (t->begin > covered)
            rc = qt_fail(e,
                         "%s: data bytes [%" PRIu64 ", %" PRIu64 ") belong to no tensor (a hole before '%s'); "
                         "the format requires the tensors to cover the data without gaps",
                         st->path, covered, t->begin, show(t->name, nb, sizeof nb));
        else if (t->begin < covered)
            rc = qt_fail(e,
                         "%s: tensor '%s' data_offsets [%" PRIu64 ", %" PRIu64 "] overlap tensor '%s' [%" PRIu64
                         ", %" PRIu64 "]",
                         st->path, show(t->name, nb, sizeof nb), t->begin, t->end,
                         show(order[i - 1]->name, ob, sizeof ob), order[i - 1]->begin, order[i - 1]->end);
        covered = t->end;
    }
    if (rc == 0 && covered != st->data_len)
        rc = qt_fail(e,
                     "%s: %" PRIu64 " bytes after the last tensor's data (offset %" PRIu64 " of %" PRIu64
                     ") belong to no tensor",
                     st->path, st->data_len - covered, covered, st->data_len);
    free(order);
    return rc;
}

static const char *describe_byte(unsigned char c, char *buf, size_t cap)
{
    if (c >= 0x21 && c < 0x7F)
        snprintf(buf, cap, "'%c'", c);
    else
        snprintf(buf, cap, "byte 0x%02x", c);
    return buf;
}

static int parse_image(qt_safetensors *st, qt_err *e)
{
    const char *path = st->path;
    if (st->size == 0)
        return qt_fail(e, "%s: empty file (0 bytes), expected a safetensors file", path);
    if (st->size < 8)
        return qt_fail(e, "%s: only %zu bytes, too short for the 8-byte header length (truncated?)", path,
                       st->size);
    uint64_t n = load_le64(st->image);
    if (n > QT_ST_MAX_HEADER)
        return qt_fail(e, "%s: header length %" PRIu64 " (bytes 0-7) is over the %u-byte limit: not a safetensors file?",
                       path, n, QT_ST_MAX_HEADER);
    if (n > st->size - 8)
        return qt_fail(e, "%s: header length %" PRIu64 " runs past the end of the file (%zu bytes; truncated?)", path,
                       n, st->size);
    st->header_len = n;
    st->data = st->image + 8 + n;
    st->data_len = st->size - 8 - n;

    const char *h = (const char *)st->image + 8;
    char bb[32];
    if (n < 2 || h[0] != '{')
        return qt_fail(e, "%s: byte offset 8: the header must be a JSON object starting with '{', found %s", path,
                       n ? describe_byte((unsigned char)h[0], bb, sizeof bb) : "nothing");
    const char *nul = memchr(h, '\0', n);
    if (nul)
        return qt_fail(e, "%s: byte offset %zu: NUL byte in the JSON header", path, (size_t)(nul - h) + 8);
    long bad = qt_utf8_invalid_offset(h, n);
    if (bad >= 0)
        return qt_fail(e, "%s: byte offset %ld: invalid UTF-8 in the JSON header", path, bad + 8);
    bad = escaped_nul_offset(h, n);
    if (bad >= 0)
        return qt_fail(e, "%s: byte offset %ld: \\u0000 in a JSON header string is not allowed", path, bad + 8);

    char hname[QT_ERR_MAX / 2];
    snprintf(hname, sizeof hname, "%s: header", path);
    /* Parsed from a copy that has spaces in place of the length bytes (so
     * that error offsets are file offsets and no stray newline there skews
     * the line count) and a NUL after the header: qt_json_parse_slice quotes
     * the text near an error up to a NUL. */
    char *text = malloc(8 + n + 1);
    if (!text)
        return qt_fail(e, "%s: out of memory for a %" PRIu64 "-byte header", path, n);
    memset(text, ' ', 8);
    memcpy(text + 8, h, n);
    text[8 + n] = '\0';
    /* len: past the header unless the file ends there, for the right
     * "end of file" versus "unterminated" wording. */
    st->root = qt_json_parse_slice(path, text, 8 + n + (st->data_len > 0), 8, 8 + n, e);
    free(text);
    if (!st->root)
        return -1;
    if (!cJSON_IsObject(st->root))
        return qt_fail(e, "%s: the header must be a JSON object, got %s", path, qt_json_type_name(st->root));

    size_t count = 0, n_meta = 0;
    for (const cJSON *it = st->root->child; it; it = it->next) {
        if (strcmp(it->string, "__metadata__") == 0)
            n_meta++;
        else
            count++;
    }
    if (n_meta > 1)
        return qt_fail(e, "%s: duplicate \"__metadata__\" key", hname);
    st->tensors = calloc(count ? count : 1, sizeof *st->tensors);
    st->converted = calloc(count ? count : 1, sizeof *st->converted);
    if (!st->tensors || !st->converted)
        return qt_fail(e, "%s: out of memory", path);
    for (const cJSON *it = st->root->child; it; it = it->next) {
        if (strcmp(it->string, "__metadata__") == 0) {
            if (parse_metadata(st, it, hname, e) != 0)
                return -1;
            continue;
        }
        /* n counts the entries filled, so that close frees their shapes. */
        if (parse_entry(st, it, &st->tensors[st->n++], hname, e) != 0)
            return -1;
    }
    qsort(st->tensors, st->n, sizeof *st->tensors, by_name);
    char nb[SHOW_CAP];
    for (size_t i = 1; i < st->n; i++)
        if (strcmp(st->tensors[i - 1].name, st->tensors[i].name) == 0)
            return qt_fail(e, "%s: duplicate tensor name '%s'", hname, show(st->tensors[i].name, nb, sizeof nb));
    return check_coverage(st, e);
}

static qt_safetensors *new_handle(const char *path, qt_err *e)
{
    qt_safetensors *st = calloc(1, sizeof *st);
    if (st)
        st->path = strdup(path);
    if (!st || !st->path) {
        free(st);
        qt_fail(e, "%s: out of memory", path);
        return NULL;
    }
    return st;
}

int qt_safetensors_open(const char *path, qt_safetensors **out, qt_err *e)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return qt_fail(e, "%s: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        int err = errno;
        close(fd);
        return qt_fail(e, "%s: %s", path, strerror(err));
    }
    if (!S_ISREG(sb.st_mode)) {
        close(fd);
        return qt_fail(e, "%s: %s, expected a safetensors file", path,
                       S_ISDIR(sb.st_mode) ? "is a directory" : "not a regular file");
    }
    if ((uint64_t)sb.st_size > SIZE_MAX) {
        close(fd);
        return qt_fail(e, "%s: too large to map", path);
    }
    qt_safetensors *st = new_handle(path, e);
    if (!st) {
        close(fd);
        return -1;
    }
    st->size = (size_t)sb.st_size;
    if (st->size > 0) {
        /* Private and writable: callers may scribble on F32 views (copy on
         * write) while the file itself stays untouched. */
        void *m = mmap(NULL, st->size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
        if (m == MAP_FAILED) {
            int err = errno;
            close(fd);
            qt_safetensors_close(st);
            return qt_fail(e, "%s: cannot map: %s", path, strerror(err));
        }
        st->image = m;
        st->mapped = 1;
    }
    close(fd);
    if (parse_image(st, e) != 0) {
        qt_safetensors_close(st);
        return -1;
    }
    *out = st;
    return 0;
}

int qt_safetensors_parse_buffer(const char *name, const void *buf, size_t len, qt_safetensors **out, qt_err *e)
{
    *out = NULL;
    qt_safetensors *st = new_handle(name, e);
    if (!st)
        return -1;
    st->image = malloc(len ? len : 1);
    if (!st->image) {
        qt_safetensors_close(st);
        return qt_fail(e, "%s: out of memory", name);
    }
    if (len)
        memcpy(st->image, buf, len);
    st->size = len;
    if (parse_image(st, e) != 0) {
        qt_safetensors_close(st);
        return -1;
    }
    *out = st;
    return 0;
}

void qt_safetensors_close(qt_safetensors *st)
{
    if (!st)
        return;
    for (size_t i = 0; i < st->n; i++) {
        free((void *)st->tensors[i].shape);
        if (st->converted)
            free(st->converted[i]);
    }
    free(st->tensors);
    free(st->converted);
    cJSON_Delete(st->root);
    if (st->mapped)
        munmap(st->image, st->size);
    else
        free(st->image);
    free(st->path);
    free(st);
}

const char *qt_safetensors_path(const qt_safetensors *st)
{
    return st->path;
}

uint64_t qt_safetensors_file_size(const qt_safetensors *st)
{
    return st->size;
}

size_t qt_safetensors_count(const qt_safetensors *st)
{
    return st->n;
}

const qt_st_tensor *qt_safetensors_at(const qt_safetensors *st, size_t i)
{
    return i < st->n ? &st->tensors[i] : NULL;
}

const qt_st_tensor *qt_safetensors_find(const qt_safetensors *st, const char *name)
{
    qt_st_tensor key = {.name = name};
    return bsearch(&key, st->tensors, st->n, sizeof *st->tensors, by_name);
}

const cJSON *qt_safetensors_metadata(const qt_safetensors *st)
{
    return st->metadata;
}

const char *qt_safetensors_meta(const qt_safetensors *st, const char *key)
{
    if (!st->metadata)
        return NULL;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(st->metadata, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int not_loadable(const qt_safetensors *st, const qt_st_tensor *t, qt_err *e)
{
    char nb[SHOW_CAP];
    return qt_fail(e, "%s: tensor '%s' has dtype %s, which cannot be loaded as floats (need F32, F16, BF16 or F64)",
                   st->path, show(t->name, nb, sizeof nb), qt_dtype_name(t->dtype));
}

int qt_safetensors_read_f32(const qt_safetensors *st, const qt_st_tensor *t, float *dst, qt_err *e)
{
    size_t n = (size_t)t->numel;
    switch (t->dtype) {
    case QT_DT_F32:
        if (host_little_endian) {
            memcpy(dst, t->data, n * sizeof(float));
        } else {
            for (size_t i = 0; i < n; i++) {
                const unsigned char *p = t->data + 4 * i;
                uint32_t u = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
                memcpy(&dst[i], &u, sizeof u);
            }
        }
        return 0;
    case QT_DT_F16:
        qt_f16_to_f32_array(t->data, dst, n);
        return 0;
    case QT_DT_BF16:
        qt_bf16_to_f32_array(t->data, dst, n);
        return 0;
    case QT_DT_F64:
        for (size_t i = 0; i < n; i++) {
            uint64_t u = load_le64(t->data + 8 * i);
            double d;
            memcpy(&d, &u, sizeof d);
            dst[i] = (float)d;
        }
        return 0;
    default:
        return not_loadable(st, t, e);
    }
}

float *qt_safetensors_f32(qt_safetensors *st, const qt_st_tensor *t, qt_err *e)
{
    if (t < st->tensors || t >= st->tensors + st->n) {
        qt_fail(e, "%s: tensor handle from another file", st->path);
        return NULL;
    }
    if (!qt_dtype_loadable(t->dtype)) {
        not_loadable(st, t, e);
        return NULL;
    }
    if (t->dtype == QT_DT_F32 && host_little_endian && (uintptr_t)t->data % _Alignof(float) == 0)
        return (float *)(void *)t->data;
    size_t i = (size_t)(t - st->tensors);
    if (st->converted[i])
        return st->converted[i];
    float *buf = malloc(t->numel ? (size_t)t->numel * sizeof(float) : sizeof(float));
    if (!buf) {
        qt_fail(e, "%s: out of memory converting a tensor of %" PRIu64 " elements", st->path, t->numel);
        return NULL;
    }
    qt_safetensors_read_f32(st, t, buf, e);
    st->converted[i] = buf;
    return buf;
}
