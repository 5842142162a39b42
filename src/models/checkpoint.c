#include "models/checkpoint.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/json.h"

#define INDEX_NAME "model.safetensors.index.json"

typedef struct entry {
    const char *name;
    qt_safetensors *shard;
    const qt_st_tensor *t;
    int used;
} entry;

struct qt_ckpt {
    char *dir;
    char *config_path;
    char *weights_path; /* model.safetensors, or the index when sharded */
    cJSON *config;
    cJSON *index;
    qt_safetensors **shards;
    size_t n_shards;
    entry *entries; /* name order */
    size_t n;
    uint64_t disk_bytes;
};

static char *join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s%s%s", dir, dir[0] && dir[strlen(dir) - 1] == '/' ? "" : "/", name);
    return p;
}

static int is_file(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

static int entry_order(const void *a, const void *b)
{
    return strcmp(((const entry *)a)->name, ((const entry *)b)->name);
}

static const entry *find(const qt_ckpt *ck, const char *name)
{
    entry key = {.name = name};
    return bsearch(&key, ck->entries, ck->n, sizeof *ck->entries, entry_order);
}

static int add_shard(qt_ckpt *ck, const char *path, qt_err *e)
{
    qt_safetensors **s = realloc(ck->shards, (ck->n_shards + 1) * sizeof *s);
    if (!s)
        return qt_fail(e, "%s: out of memory", path);
    ck->shards = s;
    if (qt_safetensors_open(path, &ck->shards[ck->n_shards], e) != 0)
        return -1;
    ck->disk_bytes += qt_safetensors_file_size(ck->shards[ck->n_shards]);
    ck->n_shards++;
    return 0;
}

static int load_single(qt_ckpt *ck, qt_err *e)
{
    if (add_shard(ck, ck->weights_path, e) != 0)
        return -1;
    qt_safetensors *st = ck->shards[0];
    ck->n = qt_safetensors_count(st);
    ck->entries = calloc(ck->n ? ck->n : 1, sizeof *ck->entries);
    if (!ck->entries)
        return qt_fail(e, "%s: out of memory", ck->weights_path);
    for (size_t i = 0; i < ck->n; i++) {
        const qt_st_tensor *t = qt_safetensors_at(st, i);
        ck->entries[i] = (entry){.name = t->name, .shard = st, .t = t};
    }
    return 0; /* already in name order */
}

/* A shard must be a plain file name inside the directory. */
static int bad_shard_name(const char *s)
{
    return !s[0] || strchr(s, '/') || strcmp(s, ".") == 0 || strcmp(s, "..") == 0;
}

static int load_sharded(qt_ckpt *ck, qt_err *e)
{
    const char *ip = ck->weights_path;
    ck->index = qt_json_load_file(ip, e);
    if (!ck->index)
        return -1;
    const cJSON *map = qt_json_need(ck->index, "weight_map", cJSON_Object, ip, "$", e);
    if (!map)
        return -1;
    ck->n = (size_t)cJSON_GetArraySize(map);
    ck->entries = calloc(ck->n ? ck->n : 1, sizeof *ck->entries);
    const char **files = calloc(ck->n ? ck->n : 1, sizeof *files);
    size_t *per_shard = calloc(ck->n ? ck->n : 1, sizeof *per_shard);
    int rc = 0;
    if (!ck->entries || !files || !per_shard)
        rc = qt_fail(e, "%s: out of memory", ip);
    size_t n_files = 0, k = 0;
    /* Each distinct shard is opened once, in the order the map names it. */
    for (const cJSON *it = map->child; it && rc == 0; it = it->next, k++) {
        if (!cJSON_IsString(it) || bad_shard_name(it->valuestring)) {
            rc = qt_fail(e, "%s: at $.weight_map[\"%.200s\"]: expected a shard file name in this directory", ip,
                         it->string);
            break;
        }
        size_t f = 0;
        while (f < n_files && strcmp(files[f], it->valuestring) != 0)
            f++;
        if (f == n_files) {
            files[n_files++] = it->valuestring;
            char *sp = join(ck->dir, it->valuestring);
            rc = sp ? add_shard(ck, sp, e) : qt_fail(e, "%s: out of memory", ip);
            free(sp);
            if (rc != 0)
                break;
        }
        per_shard[f]++;
        ck->entries[k] = (entry){.name = it->string, .shard = ck->shards[f]};
    }
    if (rc == 0) {
        qsort(ck->entries, ck->n, sizeof *ck->entries, entry_order);
        for (size_t i = 1; i < ck->n && rc == 0; i++)
            if (strcmp(ck->entries[i - 1].name, ck->entries[i].name) == 0)
                rc = qt_fail(e, "%s: at $.weight_map: duplicate tensor name '%.200s'", ip, ck->entries[i].name);
    }
    for (size_t i = 0; i < ck->n && rc == 0; i++) {
        entry *en = &ck->entries[i];
        en->t = qt_safetensors_find(en->shard, en->name);
        if (!en->t)
            rc = qt_fail(e, "%s: tensor '%.200s' listed in " INDEX_NAME " is not in this shard",
                         qt_safetensors_path(en->shard), en->name);
    }
    /* Every mapped name was found, so a count mismatch means extra tensors. */
    for (size_t f = 0; f < n_files && rc == 0; f++) {
        qt_safetensors *st = ck->shards[f];
        if (qt_safetensors_count(st) == per_shard[f])
            continue;
        for (size_t i = 0; i < qt_safetensors_count(st); i++) {
            const qt_st_tensor *t = qt_safetensors_at(st, i);
            const entry *en = find(ck, t->name);
            if (!en || en->shard != st) {
                rc = qt_fail(e, "%s: holds tensor '%.200s' that " INDEX_NAME " does not map to it",
                             qt_safetensors_path(st), t->name);
                break;
            }
        }
    }
    free(files);
    free(per_shard);
    if (rc == 0 && is_file(ip)) {
        struct stat sb;
        if (stat(ip, &sb) == 0)
            ck->disk_bytes += (uint64_t)sb.st_size;
    }
    return rc;
}

qt_ckpt *qt_ckpt_open(const char *dir, qt_err *e)
{
    struct stat sb;
    if (stat(dir, &sb) != 0) {
        qt_fail(e, "%s: %s", dir, strerror(errno));
        return NULL;
    }
    if (!S_ISDIR(sb.st_mode)) {
        qt_fail(e, "%s: not a directory (a checkpoint is a directory with config.json and model.safetensors)",
                dir);
        return NULL;
    }
    qt_ckpt *ck = calloc(1, sizeof *ck);
    if (!ck || !(ck->dir = strdup(dir)) || !(ck->config_path = join(dir, "config.json"))) {
        qt_ckpt_close(ck);
        qt_fail(e, "%s: out of memory", dir);
        return NULL;
    }
    ck->config = qt_json_load_file(ck->config_path, e);
    if (!ck->config) {
        qt_ckpt_close(ck);
        return NULL;
    }
    if (!cJSON_IsObject(ck->config)) {
        qt_fail(e, "%s: expected a JSON object, got %s", ck->config_path, qt_json_type_name(ck->config));
        qt_ckpt_close(ck);
        return NULL;
    }
    int rc;
    char *single = join(dir, "model.safetensors");
    char *index = join(dir, INDEX_NAME);
    if (!single || !index) {
        rc = qt_fail(e, "%s: out of memory", dir);
    } else if (is_file(single)) {
        ck->weights_path = single;
        single = NULL;
        rc = load_single(ck, e);
    } else if (is_file(index)) {
        ck->weights_path = index;
        index = NULL;
        rc = load_sharded(ck, e);
    } else {
        char *bin = join(dir, "pytorch_model.bin");
        if (bin && is_file(bin))
            rc = qt_fail(e, "%s: only pytorch_model.bin (pickle), which qaterm does not read: convert it to "
                            "model.safetensors",
                         dir);
        else
            rc = qt_fail(e, "%s: no model.safetensors or " INDEX_NAME, dir);
        free(bin);
    }
    free(single);
    free(index);
    if (rc != 0) {
        qt_ckpt_close(ck);
        return NULL;
    }
    return ck;
}

void qt_ckpt_close(qt_ckpt *ck)
{
    if (!ck)
        return;
    for (size_t i = 0; i < ck->n_shards; i++)
        qt_safetensors_close(ck->shards[i]);
    free(ck->shards);
    free(ck->entries);
    cJSON_Delete(ck->config);
    cJSON_Delete(ck->index);
    free(ck->dir);
    free(ck->config_path);
    free(ck->weights_path);
    free(ck);
}

const char *qt_ckpt_dir(const qt_ckpt *ck)
{
    return ck->dir;
}

const cJSON *qt_ckpt_config(const qt_ckpt *ck)
{
    return ck->config;
}

char *qt_ckpt_file_path(const qt_ckpt *ck, const char *name)
{
    return join(ck->dir, name);
}

int qt_ckpt_config_int_opt(const qt_ckpt *ck, const char *key, long def, long *out, qt_err *e)
{
    qt_err sub;
    const cJSON *v = qt_json_opt(ck->config, key, cJSON_Number, ck->config_path, "$", &sub);
    if (!v) {
        if (sub.msg[0]) {
            *e = sub;
            return -1;
        }
        *out = def;
        return 0;
    }
    double d = v->valuedouble;
    if (!(d >= -9007199254740992.0 && d <= 9007199254740992.0) || d < (double)LONG_MIN ||
        d >= -(double)LONG_MIN || d != (double)(long)d)
        return qt_fail(e, "%s: at $.%s: expected an integer, got %g", ck->config_path, key, d);
    *out = (long)d;
    return 0;
}

int qt_ckpt_config_int(const qt_ckpt *ck, const char *key, long *out, qt_err *e)
{
    if (!cJSON_GetObjectItemCaseSensitive(ck->config, key))
        return qt_fail(e, "%s: at $: missing field '%s'", ck->config_path, key);
    return qt_ckpt_config_int_opt(ck, key, 0, out, e);
}

size_t qt_ckpt_count(const qt_ckpt *ck)
{
    return ck->n;
}

const char *qt_ckpt_name(const qt_ckpt *ck, size_t i)
{
    return i < ck->n ? ck->entries[i].name : NULL;
}

const qt_st_tensor *qt_ckpt_info(const qt_ckpt *ck, const char *name)
{
    const entry *en = find(ck, name);
    return en ? en->t : NULL;
}

float *qt_ckpt_tensor(qt_ckpt *ck, const char *name, size_t ndim, const size_t *dims, qt_err *e)
{
    entry *en = (entry *)find(ck, name);
    if (!en) {
        qt_fail(e, "%s: missing tensor '%.200s'", ck->weights_path, name);
        return NULL;
    }
    const qt_st_tensor *t = en->t;
    int same = t->ndim == ndim;
    for (size_t i = 0; same && i < ndim; i++)
        same = t->shape[i] == (uint64_t)dims[i];
    if (!same) {
        uint64_t want[16];
        size_t nw = ndim < 16 ? ndim : 16;
        for (size_t i = 0; i < nw; i++)
            want[i] = dims[i];
        char have_s[160], want_s[160];
        qt_shape_format(have_s, sizeof have_s, t->ndim, t->shape);
        qt_shape_format(want_s, sizeof want_s, nw, want);
        qt_fail(e, "%s: tensor '%.200s' has shape %s, config implies %s", qt_safetensors_path(en->shard), name,
                have_s, want_s);
        return NULL;
    }
    float *p = qt_safetensors_f32(en->shard, t, e);
    if (p)
        en->used = 1;
    return p;
}

int qt_ckpt_skip(qt_ckpt *ck, const char *name)
{
    entry *en = (entry *)find(ck, name);
    if (!en)
        return 0;
    en->used = 1;
    return 1;
}

int qt_ckpt_check_unused(const qt_ckpt *ck, qt_err *e)
{
    size_t unused = 0;
    const entry *first = NULL;
    for (size_t i = 0; i < ck->n; i++) {
        if (!ck->entries[i].used) {
            if (!first)
                first = &ck->entries[i];
            unused++;
        }
    }
    if (!first)
        return 0;
    if (unused == 1)
        return qt_fail(e, "%s: unexpected tensor '%.200s' (not used by the model)", qt_safetensors_path(first->shard),
                       first->name);
    return qt_fail(e, "%s: unexpected tensor '%.200s' (not used by the model) and %zu more",
                   qt_safetensors_path(first->shard), first->name, unused - 1);
}

uint64_t qt_ckpt_param_count(const qt_ckpt *ck)
{
    uint64_t total = 0;
    for (size_t i = 0; i < ck->n; i++)
        total += ck->entries[i].t->numel;
    return total;
}

uint64_t qt_ckpt_disk_bytes(const qt_ckpt *ck)
{
    return ck->disk_bytes;
}

size_t qt_ckpt_shard_count(const qt_ckpt *ck)
{
    return ck->n_shards;
}
