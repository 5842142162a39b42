/* A Hugging Face checkpoint directory: config.json, the weights
 * (model.safetensors, or model.safetensors.index.json and its shards) and
 * the tokenizer files, which other loaders read through qt_ckpt_file_path.
 *
 * Model loaders fetch every tensor they need with qt_ckpt_tensor (which
 * checks the shape the config implies), mark tensors they deliberately
 * ignore with qt_ckpt_skip, then call qt_ckpt_check_unused so that a
 * checkpoint with extra tensors is refused instead of half-loaded. */
#ifndef QT_CHECKPOINT_H
#define QT_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>

#include "nn/safetensors.h"
#include "util/err.h"

typedef struct qt_ckpt qt_ckpt;

/* Opens DIR: reads config.json (must be an object), maps the weights,
 * validates every shard and the index. NULL and e filled on error. */
qt_ckpt *qt_ckpt_open(const char *dir, qt_err *e);
void qt_ckpt_close(qt_ckpt *ck);

const char *qt_ckpt_dir(const qt_ckpt *ck);
const cJSON *qt_ckpt_config(const qt_ckpt *ck);
/* DIR/NAME in a malloc'd string (NULL when out of memory). */
char *qt_ckpt_file_path(const qt_ckpt *ck, const char *name);

/* config[key] as an integer; "config.json: at $: missing field 'x'" and the
 * like on error. The _opt form stores def when the key is absent. */
int qt_ckpt_config_int(const qt_ckpt *ck, const char *key, long *out, qt_err *e);
int qt_ckpt_config_int_opt(const qt_ckpt *ck, const char *key, long def, long *out, qt_err *e);

/* Tensor names in strcmp order, 0 <= i < count. */
size_t qt_ckpt_count(const qt_ckpt *ck);
const char *qt_ckpt_name(const qt_ckpt *ck, size_t i);
/* dtype and shape of a tensor, NULL when absent. */
const qt_st_tensor *qt_ckpt_info(const qt_ckpt *ck, const char *name);

/* The tensor as floats, after checking that its shape is exactly dims
 * (ndim entries): "PATH: tensor 'x' has shape [3,4], config implies [3,5]".
 * F32 is zero-copy when aligned; F16/BF16/F64 are converted once. The
 * memory belongs to ck and is writable (private to this process). Marks
 * the tensor as used. */
float *qt_ckpt_tensor(qt_ckpt *ck, const char *name, size_t ndim, const size_t *dims, qt_err *e);

/* Marks a tensor the model does not need (e.g. a position_ids buffer) as
 * used. Returns 1 when it exists, 0 when not. */
int qt_ckpt_skip(qt_ckpt *ck, const char *name);

/* Fails with "PATH: unexpected tensor 'foo' (not used by the model)" when
 * some tensor was neither fetched nor skipped. */
int qt_ckpt_check_unused(const qt_ckpt *ck, qt_err *e);

/* Sum of the element counts of all tensors, and the bytes of the weight
 * files on disk (the index included). */
uint64_t qt_ckpt_param_count(const qt_ckpt *ck);
uint64_t qt_ckpt_disk_bytes(const qt_ckpt *ck);
size_t qt_ckpt_shard_count(const qt_ckpt *ck);

#endif
