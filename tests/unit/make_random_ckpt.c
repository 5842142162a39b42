/* Writes a random-weight BERT/RoBERTa question-answering checkpoint for
 * tests that need a real model bigger (slower) than the committed fixtures,
 * e.g. the TUI's spinner, cancel and kill -9 cases. Nothing is committed:
 * the test makes it in its scratch folder and deletes it afterwards.
 *
 *   make_random_ckpt [--shards N] [--seed S] FIXTURE_DIR OUT_DIR [KEY=JSON ...]
 *
 * FIXTURE_DIR is a BERT or RoBERTa checkpoint (tests/fixtures/bert): its
 * config.json is the starting point, KEY=JSON pairs override it (e.g.
 * num_hidden_layers=8 hidden_size=512), and its tokenizer files are copied.
 * The weights follow transformers' initialisation (normal with
 * initializer_range, LayerNorm 1 and 0, biases 0), from a fixed seed. With
 * --shards N > 1 they are split into model-0000i-of-0000N.safetensors files
 * with a model.safetensors.index.json, the way Hugging Face saves big
 * checkpoints. Prints the parameter count and the bytes written. */
#include <cjson/cJSON.h>
#include <getopt.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/safetensors.h"
#include "util/err.h"
#include "util/file.h"
#include "util/json.h"
#include "util/paths.h"

#define MAX_TENSORS 4096
#define MAX_SHARDS 16

typedef struct tensor_spec {
    char name[256];
    size_t ndim;
    size_t shape[2];
    enum { INIT_NORMAL, INIT_ONES, INIT_ZEROS } init;
    float *data;
} tensor_spec;

typedef struct ckpt_plan {
    tensor_spec t[MAX_TENSORS];
    size_t n;
} ckpt_plan;

static uint64_t rng_state;

/* splitmix64: a fixed, portable stream, so the same seed gives the same file */
static uint64_t rng_next(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double rng_uniform(void)
{
    return ((double)(rng_next() >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

/* Box-Muller; one value per call is plenty fast for a few million. */
static float rng_normal(double std)
{
    double u = rng_uniform(), v = rng_uniform();
    return (float)(std * sqrt(-2.0 * log(u)) * cos(2.0 * M_PI * v));
}

static int add(ckpt_plan *p, const char *name, size_t d0, size_t d1, int init)
{
    if (p->n == MAX_TENSORS) {
        fprintf(stderr, "make_random_ckpt: more than %d tensors\n", MAX_TENSORS);
        return -1;
    }
    tensor_spec *t = &p->t[p->n++];
    snprintf(t->name, sizeof t->name, "%s", name);
    t->ndim = d1 ? 2 : 1;
    t->shape[0] = d0;
    t->shape[1] = d1;
    t->init = init;
    return 0;
}

static int add_linear(ckpt_plan *p, const char *prefix, size_t out, size_t in)
{
    char w[256], b[256];
    snprintf(w, sizeof w, "%s.weight", prefix);
    snprintf(b, sizeof b, "%s.bias", prefix);
    return add(p, w, out, in, INIT_NORMAL) || add(p, b, out, 0, INIT_ZEROS) ? -1 : 0;
}

static int add_layer_norm(ckpt_plan *p, const char *prefix, size_t h)
{
    char w[256], b[256];
    snprintf(w, sizeof w, "%s.weight", prefix);
    snprintf(b, sizeof b, "%s.bias", prefix);
    return add(p, w, h, 0, INIT_ONES) || add(p, b, h, 0, INIT_ZEROS) ? -1 : 0;
}

static long config_int(const cJSON *cfg, const char *key, long def)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(cfg, key);
    return cJSON_IsNumber(v) ? (long)v->valuedouble : def;
}

/* The tensors transformers' BertForQuestionAnswering (RobertaFor...) saves. */
static int plan_bert(ckpt_plan *p, const cJSON *cfg, const char *prefix)
{
    long h = config_int(cfg, "hidden_size", -1), layers = config_int(cfg, "num_hidden_layers", -1);
    long inter = config_int(cfg, "intermediate_size", -1), vocab = config_int(cfg, "vocab_size", -1);
    long max_pos = config_int(cfg, "max_position_embeddings", -1), types = config_int(cfg, "type_vocab_size", 2);
    if (h <= 0 || layers <= 0 || inter <= 0 || vocab <= 0 || max_pos <= 0 || types <= 0) {
        fprintf(stderr, "make_random_ckpt: config.json needs positive hidden_size, num_hidden_layers, "
                        "intermediate_size, vocab_size and max_position_embeddings\n");
        return -1;
    }
    char name[200];
    snprintf(name, sizeof name, "%s.embeddings.word_embeddings.weight", prefix);
    if (add(p, name, (size_t)vocab, (size_t)h, INIT_NORMAL))
        return -1;
    snprintf(name, sizeof name, "%s.embeddings.position_embeddings.weight", prefix);
    if (add(p, name, (size_t)max_pos, (size_t)h, INIT_NORMAL))
        return -1;
    snprintf(name, sizeof name, "%s.embeddings.token_type_embeddings.weight", prefix);
    if (add(p, name, (size_t)types, (size_t)h, INIT_NORMAL))
        return -1;
    snprintf(name, sizeof name, "%s.embeddings.LayerNorm", prefix);
    if (add_layer_norm(p, name, (size_t)h))
        return -1;
    for (long l = 0; l < layers; l++) {
        static const char *const square[] = {"attention.self.query", "attention.self.key",
                                             "attention.self.value", "attention.output.dense"};
        for (size_t i = 0; i < 4; i++) {
            snprintf(name, sizeof name, "%s.encoder.layer.%ld.%s", prefix, l, square[i]);
            if (add_linear(p, name, (size_t)h, (size_t)h))
                return -1;
        }
        snprintf(name, sizeof name, "%s.encoder.layer.%ld.attention.output.LayerNorm", prefix, l);
        if (add_layer_norm(p, name, (size_t)h))
            return -1;
        snprintf(name, sizeof name, "%s.encoder.layer.%ld.intermediate.dense", prefix, l);
        if (add_linear(p, name, (size_t)inter, (size_t)h))
            return -1;
        snprintf(name, sizeof name, "%s.encoder.layer.%ld.output.dense", prefix, l);
        if (add_linear(p, name, (size_t)h, (size_t)inter))
            return -1;
        snprintf(name, sizeof name, "%s.encoder.layer.%ld.output.LayerNorm", prefix, l);
        if (add_layer_norm(p, name, (size_t)h))
            return -1;
    }
    return add_linear(p, "qa_outputs", 2, (size_t)h);
}

static size_t numel(const tensor_spec *t)
{
    return t->shape[0] * (t->ndim == 2 ? t->shape[1] : 1);
}

static int fill(ckpt_plan *p, double std)
{
    for (size_t i = 0; i < p->n; i++) {
        tensor_spec *t = &p->t[i];
        size_t n = numel(t);
        t->data = malloc(n * sizeof *t->data);
        if (!t->data) {
            fprintf(stderr, "make_random_ckpt: out of memory for %s\n", t->name);
            return -1;
        }
        for (size_t k = 0; k < n; k++)
            t->data[k] = t->init == INIT_NORMAL ? rng_normal(std) : t->init == INIT_ONES ? 1.0f : 0.0f;
    }
    return 0;
}

static int copy_if_present(const char *from_dir, const char *to_dir, const char *name)
{
    char a[4200], b[4200];
    snprintf(a, sizeof a, "%s/%s", from_dir, name);
    snprintf(b, sizeof b, "%s/%s", to_dir, name);
    if (!qt_path_is_file(a))
        return 0;
    char *data;
    size_t len;
    qt_err e = {{0}};
    int rc = qt_read_file(a, 0, &data, &len, &e);
    if (rc == 0) {
        rc = qt_write_file_atomic(b, data, len, &e);
        free(data);
    }
    if (rc != 0)
        qt_err_print(&e);
    return rc;
}

static int write_json(const char *path, const cJSON *j)
{
    char *text = cJSON_Print(j);
    qt_err e = {{0}};
    int rc = text ? qt_write_file_atomic(path, text, strlen(text), &e) : qt_fail(&e, "out of memory");
    free(text);
    if (rc != 0)
        qt_err_print(&e);
    return rc;
}

/* Shard s holds the tensors in [first[s], first[s + 1]), split by bytes. */
static int write_weights(const ckpt_plan *p, const char *out_dir, int shards, uint64_t *bytes)
{
    qt_st_out *outs = calloc(p->n, sizeof *outs);
    if (!outs)
        return -1;
    uint64_t total = 0;
    for (size_t i = 0; i < p->n; i++) {
        outs[i] = (qt_st_out){.name = p->t[i].name, .dtype = QT_DT_F32, .ndim = p->t[i].ndim,
                              .shape = p->t[i].shape, .data = p->t[i].data};
        total += numel(&p->t[i]) * sizeof(float);
    }
    *bytes = total;
    qt_err e = {{0}};
    char path[4300];
    int rc = 0;
    if (shards <= 1) {
        snprintf(path, sizeof path, "%s/model.safetensors", out_dir);
        rc = qt_safetensors_write(path, outs, p->n, NULL, 0, &e);
        if (rc != 0)
            qt_err_print(&e);
        free(outs);
        return rc;
    }
    cJSON *index = cJSON_CreateObject(), *meta = cJSON_AddObjectToObject(index, "metadata");
    cJSON *map = cJSON_AddObjectToObject(index, "weight_map");
    cJSON_AddNumberToObject(meta, "total_size", (double)total);
    size_t start = 0;
    uint64_t done = 0;
    for (int s = 0; s < shards && rc == 0; s++) {
        size_t end = start;
        uint64_t goal = total * (uint64_t)(s + 1) / (uint64_t)shards;
        while (end < p->n && (end == start || done < goal || s == shards - 1)) {
            done += numel(&p->t[end]) * sizeof(float);
            end++;
        }
        char file[64];
        snprintf(file, sizeof file, "model-%05d-of-%05d.safetensors", s + 1, shards);
        snprintf(path, sizeof path, "%s/%s", out_dir, file);
        rc = qt_safetensors_write(path, outs + start, end - start, NULL, 0, &e);
        if (rc != 0)
            qt_err_print(&e);
        for (size_t i = start; i < end; i++)
            cJSON_AddStringToObject(map, p->t[i].name, file);
        start = end;
    }
    if (rc == 0 && start != p->n) {
        fprintf(stderr, "make_random_ckpt: %d shards are more than the %zu tensors allow\n", shards, p->n);
        rc = -1;
    }
    if (rc == 0) {
        snprintf(path, sizeof path, "%s/model.safetensors.index.json", out_dir);
        rc = write_json(path, index);
    }
    cJSON_Delete(index);
    free(outs);
    return rc;
}

/* KEY=JSON into cfg; a value that is not JSON is taken as a string. */
static int override(cJSON *cfg, const char *arg)
{
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg) {
        fprintf(stderr, "make_random_ckpt: expected KEY=VALUE, got '%s'\n", arg);
        return -1;
    }
    char key[128];
    snprintf(key, sizeof key, "%.*s", (int)(eq - arg), arg);
    cJSON *v = cJSON_Parse(eq + 1);
    if (!v)
        v = cJSON_CreateString(eq + 1);
    if (!v)
        return -1;
    cJSON_DeleteItemFromObjectCaseSensitive(cfg, key);
    cJSON_AddItemToObject(cfg, key, v);
    return 0;
}

static void usage(void)
{
    fprintf(stderr, "usage: make_random_ckpt [--shards N] [--seed S] FIXTURE_DIR OUT_DIR [KEY=JSON ...]\n");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"shards", required_argument, NULL, 's'}, {"seed", required_argument, NULL, 'r'}, {NULL, 0, NULL, 0}};
    int shards = 1, c;
    rng_state = 20240611;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 's')
            shards = atoi(optarg);
        else if (c == 'r')
            rng_state = strtoull(optarg, NULL, 10);
        else {
            usage();
            return 2;
        }
    }
    if (argc - optind < 2 || shards < 1 || shards > MAX_SHARDS) {
        usage();
        return 2;
    }
    const char *from = argv[optind], *out = argv[optind + 1];
    char path[4200];
    snprintf(path, sizeof path, "%s/config.json", from);
    qt_err e = {{0}};
    cJSON *cfg = qt_json_load_file(path, &e);
    if (!cfg) {
        qt_err_print(&e);
        return 1;
    }
    for (int i = optind + 2; i < argc; i++)
        if (override(cfg, argv[i]) < 0)
            return 1;
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(cfg, "model_type");
    const char *prefix = NULL;
    if (cJSON_IsString(type) && strcmp(type->valuestring, "bert") == 0)
        prefix = "bert";
    else if (cJSON_IsString(type) && strcmp(type->valuestring, "roberta") == 0)
        prefix = "roberta";
    if (!prefix) {
        fprintf(stderr, "make_random_ckpt: %s: model_type must be bert or roberta\n", path);
        return 1;
    }
    const cJSON *range = cJSON_GetObjectItemCaseSensitive(cfg, "initializer_range");
    double std = cJSON_IsNumber(range) && range->valuedouble > 0 ? range->valuedouble : 0.02;

    static ckpt_plan plan;
    if (plan_bert(&plan, cfg, prefix) < 0 || fill(&plan, std) < 0)
        return 1;
    if (qt_mkdir_p(out, &e) < 0) {
        qt_err_print(&e);
        return 1;
    }
    snprintf(path, sizeof path, "%s/config.json", out);
    uint64_t bytes = 0;
    static const char *const tokenizer_files[] = {"vocab.txt", "tokenizer_config.json", "tokenizer.json",
                                                  "merges.txt", "vocab.json", "special_tokens_map.json"};
    int rc = write_json(path, cfg);
    for (size_t i = 0; rc == 0 && i < sizeof tokenizer_files / sizeof *tokenizer_files; i++)
        rc = copy_if_present(from, out, tokenizer_files[i]);
    if (rc == 0)
        rc = write_weights(&plan, out, shards, &bytes);
    uint64_t params = 0;
    for (size_t i = 0; i < plan.n; i++) {
        params += numel(&plan.t[i]);
        free(plan.t[i].data);
    }
    cJSON_Delete(cfg);
    if (rc != 0)
        return 1;
    printf("%s: %llu parameters, %llu bytes of weights in %d file(s)\n", out, (unsigned long long)params,
           (unsigned long long)bytes, shards);
    return 0;
}
