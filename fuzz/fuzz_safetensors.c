/* Fuzz target: a safetensors file image. Whatever the bytes, parsing must
 * either fail with a message or give tensors that lie inside the image;
 * every float tensor must convert, and writing the parsed tensors back out
 * and parsing that again must give the same names, shapes and values. */
#include "fuzz/fuzz.h"

#include <string.h>

#include "nn/safetensors.h"
#include "util/half.h"

static int same_float(float a, float b)
{
    if (a != a && b != b)
        return 1; /* NaN payloads may be quieted on the way */
    return memcmp(&a, &b, sizeof a) == 0;
}

/* Re-serializes the float tensors of st and checks the copy reads back equal. */
static void check_round_trip(qt_safetensors *st, const uint8_t *data, size_t size)
{
    size_t n = qt_safetensors_count(st);
    qt_st_out *outs = calloc(n + 1, sizeof *outs);
    size_t **shapes = calloc(n + 1, sizeof *shapes);
    QT_FUZZ_CHECK(outs && shapes);
    size_t m = 0;
    qt_err e;
    for (size_t i = 0; i < n; i++) {
        const qt_st_tensor *t = qt_safetensors_at(st, i);
        QT_FUZZ_CHECK(qt_safetensors_find(st, t->name) == t);
        QT_FUZZ_CHECK(t->begin <= t->end && t->end <= size);
        if (i > 0)
            QT_FUZZ_CHECK(strcmp(qt_safetensors_at(st, i - 1)->name, t->name) < 0);
        e.msg[0] = '\0';
        float *f = qt_safetensors_f32(st, t, &e);
        if (!qt_dtype_loadable(t->dtype)) {
            QT_FUZZ_CHECK(f == NULL && e.msg[0]);
            continue;
        }
        QT_FUZZ_CHECK(f != NULL);
        QT_FUZZ_CHECK(qt_safetensors_f32(st, t, &e) == f); /* converted once */
        uint32_t acc = 0;                                   /* touch every value (ASan) */
        for (uint64_t k = 0; k < t->numel; k++) {
            uint32_t u;
            memcpy(&u, &f[k], sizeof u);
            acc ^= u;
        }
        (void)acc;
        shapes[m] = calloc(t->ndim + 1, sizeof **shapes);
        QT_FUZZ_CHECK(shapes[m]);
        for (size_t k = 0; k < t->ndim; k++)
            shapes[m][k] = (size_t)t->shape[k];
        outs[m] = (qt_st_out){.name = t->name,
                              .dtype = t->dtype == QT_DT_F64 ? QT_DT_F32 : t->dtype,
                              .ndim = t->ndim,
                              .shape = shapes[m],
                              .data = f};
        m++;
    }

    const cJSON *meta = qt_safetensors_metadata(st);
    size_t n_meta = (size_t)cJSON_GetArraySize(meta);
    const char **kv = calloc(2 * n_meta + 1, sizeof *kv);
    QT_FUZZ_CHECK(kv);
    size_t j = 0;
    for (const cJSON *it = meta ? meta->child : NULL; it; it = it->next, j++) {
        kv[2 * j] = it->string;
        kv[2 * j + 1] = it->valuestring;
    }

    unsigned char *buf;
    size_t len;
    QT_FUZZ_CHECK(qt_safetensors_write_buffer(outs, m, kv, n_meta, &buf, &len, &e) == 0);
    uint64_t hlen = 0;
    for (int k = 7; k >= 0; k--)
        hlen = (hlen << 8) | buf[k];
    QT_FUZZ_CHECK(hlen % 8 == 0);

    qt_safetensors *st2;
    if (qt_safetensors_parse_buffer("rewritten", buf, len, &st2, &e) != 0) {
        fprintf(stderr, "rewritten file refused: %s\n", e.msg);
        QT_FUZZ_CHECK(0);
    }
    QT_FUZZ_CHECK(qt_safetensors_count(st2) == m);
    for (j = 0; j < n_meta; j++) {
        const char *v = qt_safetensors_meta(st2, kv[2 * j]);
        QT_FUZZ_CHECK(v && strcmp(v, kv[2 * j + 1]) == 0);
    }
    QT_FUZZ_CHECK(qt_safetensors_meta(st2, "format") != NULL);
    for (size_t i = 0; i < m; i++) {
        const qt_st_tensor *t2 = qt_safetensors_find(st2, outs[i].name);
        QT_FUZZ_CHECK(t2 && t2->dtype == outs[i].dtype && t2->ndim == outs[i].ndim);
        for (size_t k = 0; k < t2->ndim; k++)
            QT_FUZZ_CHECK(t2->shape[k] == outs[i].shape[k]);
        float *f2 = qt_safetensors_f32(st2, t2, &e);
        QT_FUZZ_CHECK(f2);
        if (t2->dtype == QT_DT_F32) /* the writer aligns: always zero-copy */
            QT_FUZZ_CHECK((unsigned char *)f2 == t2->data);
        for (uint64_t k = 0; k < t2->numel; k++)
            QT_FUZZ_CHECK(same_float(f2[k], outs[i].data[k]));
    }
    qt_safetensors_close(st2);
    free(buf);
    free(kv);
    for (size_t i = 0; i < m; i++)
        free(shapes[i]);
    free(shapes);
    free(outs);
    (void)data;
}

QT_FUZZ_ENTRY(safetensors)
{
    qt_err e;
    e.msg[0] = '\0';
    qt_safetensors *st;
    if (qt_safetensors_parse_buffer("fuzz.safetensors", data, size, &st, &e) != 0) {
        QT_FUZZ_CHECK(e.msg[0] != '\0'); /* every refusal explains itself */
        return 0;
    }
    QT_FUZZ_CHECK(qt_safetensors_find(st, "\x01no such tensor") == NULL ||
                  strcmp(qt_safetensors_find(st, "\x01no such tensor")->name, "\x01no such tensor") == 0);
    check_round_trip(st, data, size);
    qt_safetensors_close(st);
    return 0;
}
