/* Feature cache and length-bucketed batches (data.h). */
#include "train/data.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nn/rng.h"

#define MAGIC "QTFEAT01"
#define KEY_BYTES 64

void qt_features_free(qt_feature_set *f)
{
    free(f->data);
    free(f->offsets);
    free(f->lengths);
    free(f->kinds);
    memset(f, 0, sizeof *f);
}

typedef struct cache_head {
    char magic[8];
    char key[KEY_BYTES];
    uint64_t n, size;
    int32_t n_skipped, pad;
} cache_head;

static int load_cache(const char *path, const char *key, qt_feature_set *f)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return 0;
    cache_head h;
    int ok = 0;
    if (fread(&h, sizeof h, 1, fp) != 1 || memcmp(h.magic, MAGIC, 8) != 0 ||
        strncmp(h.key, key, KEY_BYTES) != 0 || h.n > (1u << 30) || h.size > ((uint64_t)1 << 40))
        goto done;
    f->n = (int)h.n;
    f->size = (size_t)h.size;
    f->n_skipped = h.n_skipped;
    f->offsets = malloc((h.n + 1) * sizeof *f->offsets);
    f->lengths = malloc((h.n + 1) * sizeof *f->lengths);
    f->kinds = malloc((h.n + 1) * sizeof *f->kinds);
    f->data = malloc(h.size + 1);
    if (!f->offsets || !f->lengths || !f->kinds || !f->data)
        goto done;
    if (fread(f->offsets, sizeof *f->offsets, h.n, fp) != h.n || fread(f->lengths, sizeof *f->lengths, h.n, fp) != h.n ||
        fread(f->kinds, sizeof *f->kinds, h.n, fp) != h.n || fread(f->data, 1, h.size, fp) != h.size)
        goto done;
    for (int i = 0; i < f->n; i++) {
        if (f->offsets[i] >= h.size || f->kinds[i] < 0 || f->kinds[i] >= QT_EX_KINDS)
            goto done;
        f->counts[f->kinds[i]]++;
    }
    ok = 1;
done:
    fclose(fp);
    if (!ok)
        qt_features_free(f);
    return ok;
}

static int save_cache(const char *path, const char *key, const qt_feature_set *f, qt_err *e)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    FILE *fp = fopen(tmp, "wb");
    if (!fp)
        return qt_fail(e, "%s: cannot create: %s", tmp, strerror(errno));
    cache_head h;
    memset(&h, 0, sizeof h);
    memcpy(h.magic, MAGIC, 8);
    memcpy(h.key, key, strnlen(key, KEY_BYTES));
    h.n = (uint64_t)f->n;
    h.size = f->size;
    h.n_skipped = f->n_skipped;
    size_t n = (size_t)f->n;
    int bad = fwrite(&h, sizeof h, 1, fp) != 1 || fwrite(f->offsets, sizeof *f->offsets, n, fp) != n ||
              fwrite(f->lengths, sizeof *f->lengths, n, fp) != n || fwrite(f->kinds, sizeof *f->kinds, n, fp) != n ||
              fwrite(f->data, 1, f->size, fp) != f->size;
    bad |= fflush(fp) != 0 || fsync(fileno(fp)) != 0;
    bad |= fclose(fp) != 0;
    if (bad || rename(tmp, path) != 0) {
        int err = errno;
        unlink(tmp);
        return qt_fail(e, "%s: cannot write the feature cache: %s", path, strerror(err));
    }
    return 0;
}

int qt_features_get(qt_train_arch *a, const qt_example_set *ex, const char *cache_path, const char *key,
                    qt_feature_set *out, int *from_cache, qt_err *e)
{
    memset(out, 0, sizeof *out);
    *from_cache = 0;
    if (cache_path && load_cache(cache_path, key, out)) {
        *from_cache = 1;
        return 0;
    }
    qt_bytes buf = {0};
    out->offsets = malloc(((size_t)ex->n + 1) * sizeof *out->offsets);
    out->lengths = malloc(((size_t)ex->n + 1) * sizeof *out->lengths);
    out->kinds = malloc(((size_t)ex->n + 1) * sizeof *out->kinds);
    if (!out->offsets || !out->lengths || !out->kinds) {
        qt_features_free(out);
        return qt_fail(e, "out of memory for %d examples", ex->n);
    }
    for (int i = 0; i < ex->n; i++) {
        size_t at = buf.n;
        int usable = 0, n_tokens = 0;
        if (a->featurize(a, &ex->ex[i], &buf, &usable, &n_tokens, e) != 0) {
            qt_bytes_free(&buf);
            qt_features_free(out);
            return qt_fail_prefix(e, "example %d", i);
        }
        if (!usable) {
            buf.n = at;
            out->n_skipped++;
            continue;
        }
        out->offsets[out->n] = at;
        out->lengths[out->n] = n_tokens;
        out->kinds[out->n] = ex->ex[i].kind;
        out->counts[ex->ex[i].kind]++;
        out->n++;
    }
    out->data = buf.p;
    out->size = buf.n;
    if (cache_path && save_cache(cache_path, key, out, e) != 0) {
        qt_features_free(out);
        return -1;
    }
    return 0;
}

/* ---- batches ---- */

typedef struct len_idx {
    int32_t len;
    int idx;
} len_idx;

static int by_len(const void *a, const void *b)
{
    const len_idx *x = a, *y = b;
    if (x->len != y->len)
        return x->len < y->len ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

int qt_batches_plan(const int32_t *lengths, int n, int batch_size, int bucket_batches, uint64_t seed, int epoch,
                    qt_batch_plan *out, qt_err *e)
{
    memset(out, 0, sizeof *out);
    if (n <= 0 || batch_size <= 0)
        return qt_fail(e, "no training examples to batch");
    int n_batches = (n + batch_size - 1) / batch_size;
    len_idx *li = malloc((size_t)n * sizeof *li);
    int *perm = malloc((size_t)n_batches * sizeof *perm);
    out->order = malloc((size_t)n * sizeof *out->order);
    out->starts = malloc(((size_t)n_batches + 1) * sizeof *out->starts);
    if (!li || !perm || !out->order || !out->starts) {
        free(li);
        free(perm);
        qt_batches_free(out);
        return qt_fail(e, "out of memory for the batch plan");
    }
    qt_rng rng;
    qt_rng_seed(&rng, seed * 0x9E3779B97F4A7C15ull + (uint64_t)epoch * 0xD1B54A32D192ED03ull + 1);
    for (int i = 0; i < n; i++)
        li[i] = (len_idx){lengths[i], i};
    for (int i = n - 1; i > 0; i--) {
        int j = (int)qt_rng_below(&rng, (uint32_t)(i + 1));
        len_idx t = li[i];
        li[i] = li[j];
        li[j] = t;
    }
    int window = batch_size * (bucket_batches > 0 ? bucket_batches : 1);
    for (int w = 0; w < n; w += window)
        qsort(li + w, (size_t)(n - w < window ? n - w : window), sizeof *li, by_len);
    /* batches in a random order; each keeps its examples */
    for (int b = 0; b < n_batches; b++)
        perm[b] = b;
    for (int b = n_batches - 1; b > 0; b--) {
        int j = (int)qt_rng_below(&rng, (uint32_t)(b + 1));
        int t = perm[b];
        perm[b] = perm[j];
        perm[j] = t;
    }
    int at = 0;
    for (int k = 0; k < n_batches; k++) {
        int b = perm[k];
        int first = b * batch_size, last = first + batch_size < n ? first + batch_size : n;
        out->starts[k] = at;
        for (int i = first; i < last; i++)
            out->order[at++] = li[i].idx;
    }
    out->starts[n_batches] = at;
    out->n_batches = n_batches;
    free(li);
    free(perm);
    return 0;
}

void qt_batches_free(qt_batch_plan *p)
{
    free(p->order);
    free(p->starts);
    memset(p, 0, sizeof *p);
}
