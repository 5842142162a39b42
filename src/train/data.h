/* The tokenised training set and its batches.
 *
 * Features are made once per (data, tokenizer, config) and cached in one
 * binary file: "QTFEAT01", a 64-byte key (hex sha256), counts, per record
 * its length/kind/offset, then the records. A cache whose key differs is
 * rebuilt; the file is written to a temporary name and renamed.
 *
 * Batches: each epoch shuffles the examples with an RNG seeded from (seed,
 * epoch), sorts windows of bucket_batches * batch_size examples by length
 * (so a batch pads little), cuts them into batches and shuffles the batch
 * order. The plan depends only on (lengths, seed, epoch): a resumed run
 * finds its place again from the epoch and the batch index. */
#ifndef QT_TRAIN_DATA_H
#define QT_TRAIN_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "train/arch.h"
#include "train/negatives.h"
#include "util/err.h"

typedef struct qt_feature_set {
    uint8_t *data;      /* all records */
    size_t size;
    uint64_t *offsets;  /* [n] */
    int32_t *lengths;   /* [n] tokens, for bucketing */
    int32_t *kinds;     /* [n] qt_ex_kind */
    int n;
    int n_skipped;      /* examples the architecture could not use */
    int counts[QT_EX_KINDS];
} qt_feature_set;

/* Loads cache_path when it holds `key`, else featurizes every example with
 * a and writes the cache. *from_cache tells which happened. */
int qt_features_get(qt_train_arch *a, const qt_example_set *ex, const char *cache_path, const char *key,
                    qt_feature_set *out, int *from_cache, qt_err *e);
void qt_features_free(qt_feature_set *f);

typedef struct qt_batch_plan {
    int *order;       /* example indices, batch after batch */
    int *starts;      /* [n_batches + 1]: batch b is order[starts[b] .. starts[b+1]) */
    int n_batches;
} qt_batch_plan;

int qt_batches_plan(const int32_t *lengths, int n, int batch_size, int bucket_batches, uint64_t seed, int epoch,
                    qt_batch_plan *out, qt_err *e);
void qt_batches_free(qt_batch_plan *p);

#endif
