/* BertForQuestionAnswering training: the configuration, the parameter
 * table, init, and saving/loading in the Hugging Face layout (bert_train.h).
 * The forward, backward and loss are in bert_train_pass.c. */
#include "models/bert_train.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/checkpoint.h"
#include "nn/safetensors.h"
#include "qa/decode.h"
#include "util/file.h"
#include "util/json.h"

void qt_bert_train_config_default(qt_bert_train_config *c)
{
    memset(c, 0, sizeof *c);
    c->hidden_size = 192;
    c->num_layers = 3;
    c->num_heads = 3;
    c->intermediate_size = 768;
    c->max_position_embeddings = 320;
    c->type_vocab_size = 2;
    c->pad_token_id = 0;
    c->layer_norm_eps = 1e-12f;
    c->hidden_dropout = 0.1f;
    c->attention_dropout = 0.1f;
    c->null_threshold = 0.0;
}

int qt_bert_train_config_check(const qt_bert_train_config *c, const char *name, qt_err *e)
{
    struct {
        const char *key;
        long v, lo, hi;
    } ints[] = {
        {"vocab_size", c->vocab_size, 5, 1 << 22},
        {"hidden_size", c->hidden_size, 1, 8192},
        {"num_hidden_layers", c->num_layers, 1, QT_BERT_TRAIN_MAX_LAYERS},
        {"num_attention_heads", c->num_heads, 1, 256},
        {"intermediate_size", c->intermediate_size, 1, 65536},
        /* the training window is the engine's window: all positions, at most 384 */
        {"max_position_embeddings", c->max_position_embeddings, 16, QT_QA_MAX_SEQ_LEN},
        {"type_vocab_size", c->type_vocab_size, 2, 2},
        {"pad_token_id", c->pad_token_id, 0, c->vocab_size - 1},
    };
    for (size_t i = 0; i < sizeof ints / sizeof *ints; i++)
        if (ints[i].v < ints[i].lo || ints[i].v > ints[i].hi)
            return qt_fail(e, "%s: at $.%s: %ld is outside [%ld, %ld]", name, ints[i].key, ints[i].v,
                           ints[i].lo, ints[i].hi);
    if (c->hidden_size % c->num_heads)
        return qt_fail(e, "%s: at $.hidden_size: %d is not a multiple of num_attention_heads (%d)", name,
                       c->hidden_size, c->num_heads);
    if (!(c->layer_norm_eps > 0.0f) || !isfinite(c->layer_norm_eps))
        return qt_fail(e, "%s: at $.layer_norm_eps: expected a small positive number", name);
    if (!(c->hidden_dropout >= 0.0f && c->hidden_dropout < 1.0f))
        return qt_fail(e, "%s: at $.hidden_dropout_prob: expected a number in [0, 1)", name);
    if (!(c->attention_dropout >= 0.0f && c->attention_dropout < 1.0f))
        return qt_fail(e, "%s: at $.attention_probs_dropout_prob: expected a number in [0, 1)", name);
    if (!isfinite(c->null_threshold))
        return qt_fail(e, "%s: at $.qaterm_null_threshold: not a finite number", name);
    return 0;
}

cJSON *qt_bert_train_config_to_json(const qt_bert_train_config *c)
{
    cJSON *j = qt_json_hf_config_new("BertForQuestionAnswering", "bert");
    if (!j)
        return NULL;
    cJSON_AddNumberToObject(j, "vocab_size", c->vocab_size);
    cJSON_AddNumberToObject(j, "hidden_size", c->hidden_size);
    cJSON_AddNumberToObject(j, "num_hidden_layers", c->num_layers);
    cJSON_AddNumberToObject(j, "num_attention_heads", c->num_heads);
    cJSON_AddNumberToObject(j, "intermediate_size", c->intermediate_size);
    cJSON_AddStringToObject(j, "hidden_act", "gelu");
    cJSON_AddNumberToObject(j, "hidden_dropout_prob", qt_json_short_float(c->hidden_dropout));
    cJSON_AddNumberToObject(j, "attention_probs_dropout_prob", qt_json_short_float(c->attention_dropout));
    cJSON_AddNumberToObject(j, "max_position_embeddings", c->max_position_embeddings);
    cJSON_AddNumberToObject(j, "type_vocab_size", c->type_vocab_size);
    cJSON_AddNumberToObject(j, "initializer_range", 0.02);
    cJSON_AddNumberToObject(j, "layer_norm_eps", qt_json_short_float(c->layer_norm_eps));
    cJSON_AddNumberToObject(j, "pad_token_id", c->pad_token_id);
    cJSON_AddStringToObject(j, "position_embedding_type", "absolute");
    cJSON_AddNullToObject(j, "classifier_dropout");
    cJSON_AddBoolToObject(j, "use_cache", 1);
    cJSON_AddStringToObject(j, "torch_dtype", "float32");
    cJSON_AddNumberToObject(j, "qaterm_null_threshold", c->null_threshold);
    return j;
}

static int json_int(const cJSON *j, const char *key, int required, int def, const char *name, int *out,
                    qt_err *e)
{
    qt_err sub = {{0}};
    const cJSON *v = required ? qt_json_need(j, key, cJSON_Number, name, "$", e)
                              : qt_json_opt(j, key, cJSON_Number, name, "$", &sub);
    if (!v) {
        if (required || sub.msg[0])
            return required ? -1 : qt_fail(e, "%s", sub.msg);
        *out = def;
        return 0;
    }
    if (v->valuedouble != floor(v->valuedouble) || fabs(v->valuedouble) > 1e9)
        return qt_fail(e, "%s: at $.%s: expected an integer", name, key);
    *out = (int)v->valuedouble;
    return 0;
}

int qt_bert_train_config_from_json(const cJSON *j, const char *name, qt_bert_train_config *c, qt_err *e)
{
    qt_bert_train_config_default(c); /* the defaults of the float keys below */
    if (json_int(j, "vocab_size", 1, 0, name, &c->vocab_size, e) < 0 ||
        json_int(j, "hidden_size", 1, 0, name, &c->hidden_size, e) < 0 ||
        json_int(j, "num_hidden_layers", 1, 0, name, &c->num_layers, e) < 0 ||
        json_int(j, "num_attention_heads", 1, 0, name, &c->num_heads, e) < 0 ||
        json_int(j, "intermediate_size", 1, 0, name, &c->intermediate_size, e) < 0 ||
        json_int(j, "max_position_embeddings", 1, 0, name, &c->max_position_embeddings, e) < 0 ||
        json_int(j, "type_vocab_size", 0, 2, name, &c->type_vocab_size, e) < 0 ||
        json_int(j, "pad_token_id", 0, 0, name, &c->pad_token_id, e) < 0 ||
        qt_json_opt_float(j, "layer_norm_eps", name, "$", &c->layer_norm_eps, e) < 0 ||
        qt_json_opt_float(j, "hidden_dropout_prob", name, "$", &c->hidden_dropout, e) < 0 ||
        qt_json_opt_float(j, "attention_probs_dropout_prob", name, "$", &c->attention_dropout, e) < 0 ||
        qt_json_opt_double(j, "qaterm_null_threshold", name, "$", &c->null_threshold, e) < 0)
        return -1;
    qt_err sub = {{0}};
    const cJSON *act = qt_json_opt(j, "hidden_act", cJSON_String, name, "$", &sub);
    if (!act && sub.msg[0])
        return qt_fail(e, "%s", sub.msg);
    if (act && strcmp(act->valuestring, "gelu") != 0)
        return qt_fail(e, "%s: at $.hidden_act: training supports \"gelu\" only, got \"%s\"", name,
                       act->valuestring);
    return qt_bert_train_config_check(c, name, e);
}

/* ---- the parameter table ---- */

int qt_bert_train_param_count(const qt_bert_train_config *c)
{
    return 5 + 16 * c->num_layers + 2;
}

static void add_param(qt_bert_train_param *out, int *n, size_t *off, const char *name, size_t d0, size_t d1,
                      int decay)
{
    qt_bert_train_param *p = &out[(*n)++];
    snprintf(p->name, sizeof p->name, "%s", name);
    p->ndim = d1 ? 2 : 1;
    p->dims[0] = d0;
    p->dims[1] = d1;
    p->numel = d0 * (d1 ? d1 : 1);
    p->offset = *off;
    p->decay = decay;
    /* every tensor starts on a 64-byte boundary, so sgemm sees aligned rows */
    *off += (p->numel + 15) / 16 * 16;
}

/* The order here is the flat buffer's and bind()'s. Weight decay as
 * transformers' Trainer: none on biases and LayerNorm weights. */
static size_t table(const qt_bert_train_config *c, qt_bert_train_param *out, int *count)
{
    const size_t h = (size_t)c->hidden_size, I = (size_t)c->intermediate_size;
    int n = 0;
    size_t off = 0;
    add_param(out, &n, &off, "bert.embeddings.word_embeddings.weight", (size_t)c->vocab_size, h, 1);
    add_param(out, &n, &off, "bert.embeddings.position_embeddings.weight", (size_t)c->max_position_embeddings,
              h, 1);
    add_param(out, &n, &off, "bert.embeddings.token_type_embeddings.weight", (size_t)c->type_vocab_size, h, 1);
    add_param(out, &n, &off, "bert.embeddings.LayerNorm.weight", h, 0, 0);
    add_param(out, &n, &off, "bert.embeddings.LayerNorm.bias", h, 0, 0);
    static const char *const lin[] = {"attention.self.query", "attention.self.key", "attention.self.value",
                                      "attention.output.dense"};
    for (int l = 0; l < c->num_layers; l++) {
        char name[96];
        for (int i = 0; i < 4; i++) {
            snprintf(name, sizeof name, "bert.encoder.layer.%d.%s.weight", l, lin[i]);
            add_param(out, &n, &off, name, h, h, 1);
            snprintf(name, sizeof name, "bert.encoder.layer.%d.%s.bias", l, lin[i]);
            add_param(out, &n, &off, name, h, 0, 0);
        }
        snprintf(name, sizeof name, "bert.encoder.layer.%d.attention.output.LayerNorm.weight", l);
        add_param(out, &n, &off, name, h, 0, 0);
        snprintf(name, sizeof name, "bert.encoder.layer.%d.attention.output.LayerNorm.bias", l);
        add_param(out, &n, &off, name, h, 0, 0);
        snprintf(name, sizeof name, "bert.encoder.layer.%d.intermediate.dense.weight", l);
        add_param(out, &n, &off, name, I, h, 1);
        snprintf(name, sizeof name, "bert.encoder.layer.%d.intermediate.dense.bias", l);
        add_param(out, &n, &off, name, I, 0, 0);
        snprintf(name, sizeof name, "bert.encoder.layer.%d.output.dense.weight", l);
        add_param(out, &n, &off, name, h, I, 1);
        snprintf(name, sizeof name, "bert.encoder.layer.%d.output.dense.bias", l);
        add_param(out, &n, &off, name, h, 0, 0);
        snprintf(name, sizeof name, "bert.encoder.layer.%d.output.LayerNorm.weight", l);
        add_param(out, &n, &off, name, h, 0, 0);
        snprintf(name, sizeof name, "bert.encoder.layer.%d.output.LayerNorm.bias", l);
        add_param(out, &n, &off, name, h, 0, 0);
    }
    add_param(out, &n, &off, "qa_outputs.weight", 2, h, 1);
    add_param(out, &n, &off, "qa_outputs.bias", 2, 0, 0);
    *count = n;
    return off;
}

int qt_bert_train_params(const qt_bert_train_config *c, qt_bert_train_param *out)
{
    int n;
    table(c, out, &n);
    return n;
}

size_t qt_bert_train_param_floats(const qt_bert_train_config *c)
{
    int n = qt_bert_train_param_count(c);
    qt_bert_train_param *p = malloc((size_t)n * sizeof *p);
    if (!p)
        return 0;
    size_t floats = table(c, p, &n);
    free(p);
    return floats;
}

void qt_bert_train_bind(const qt_bert_train_config *c, qt_bert_train_weights *w, float *flat)
{
    int n = qt_bert_train_param_count(c);
    qt_bert_train_param *p = malloc((size_t)n * sizeof *p);
    memset(w, 0, sizeof *w);
    if (!p)
        return;
    table(c, p, &n);
    int k = 0;
    float **emb[] = {&w->word, &w->pos, &w->type, &w->emb_ln_w, &w->emb_ln_b};
    for (int i = 0; i < 5; i++)
        *emb[i] = flat + p[k++].offset;
    for (int l = 0; l < c->num_layers; l++) {
        qt_bert_train_layer *L = &w->layers[l];
        float **slots[] = {&L->wq, &L->bq, &L->wk, &L->bk, &L->wv, &L->bv, &L->wo, &L->bo,
                           &L->ln1_w, &L->ln1_b, &L->wi, &L->bi, &L->wf, &L->bf, &L->ln2_w, &L->ln2_b};
        for (int i = 0; i < 16; i++)
            *slots[i] = flat + p[k++].offset;
    }
    w->qa_w = flat + p[k++].offset;
    w->qa_b = flat + p[k++].offset;
    free(p);
}

void qt_bert_train_init(const qt_bert_train_config *c, qt_bert_train_weights *w, qt_rng *rng)
{
    const size_t h = (size_t)c->hidden_size, I = (size_t)c->intermediate_size;
    qt_rng_fill_normal(rng, w->word, (size_t)c->vocab_size * h, 0.0f, 0.02f);
    memset(w->word + (size_t)c->pad_token_id * h, 0, h * sizeof(float)); /* padding_idx */
    qt_rng_fill_normal(rng, w->pos, (size_t)c->max_position_embeddings * h, 0.0f, 0.02f);
    qt_rng_fill_normal(rng, w->type, (size_t)c->type_vocab_size * h, 0.0f, 0.02f);
    for (size_t i = 0; i < h; i++)
        w->emb_ln_w[i] = 1.0f, w->emb_ln_b[i] = 0.0f;
    for (int l = 0; l < c->num_layers; l++) {
        qt_bert_train_layer *L = &w->layers[l];
        float *mats[] = {L->wq, L->wk, L->wv, L->wo};
        float *biases[] = {L->bq, L->bk, L->bv, L->bo};
        for (int i = 0; i < 4; i++) {
            qt_rng_fill_normal(rng, mats[i], h * h, 0.0f, 0.02f);
            memset(biases[i], 0, h * sizeof(float));
        }
        qt_rng_fill_normal(rng, L->wi, I * h, 0.0f, 0.02f);
        memset(L->bi, 0, I * sizeof(float));
        qt_rng_fill_normal(rng, L->wf, h * I, 0.0f, 0.02f);
        memset(L->bf, 0, h * sizeof(float));
        for (size_t i = 0; i < h; i++) {
            L->ln1_w[i] = L->ln2_w[i] = 1.0f;
            L->ln1_b[i] = L->ln2_b[i] = 0.0f;
        }
    }
    qt_rng_fill_normal(rng, w->qa_w, 2 * h, 0.0f, 0.02f);
    w->qa_b[0] = w->qa_b[1] = 0.0f;
}

/* ---- saving and loading ---- */

int qt_bert_train_save(const qt_bert_train_config *c, const float *flat, const char *dir, qt_err *e)
{
    int n = qt_bert_train_param_count(c);
    qt_bert_train_param *p = malloc((size_t)n * sizeof *p);
    qt_st_out *outs = calloc((size_t)n, sizeof *outs);
    int rc = -1;
    if (!p || !outs) {
        qt_fail(e, "out of memory");
        goto done;
    }
    table(c, p, &n);
    for (int i = 0; i < n; i++)
        outs[i] = (qt_st_out){p[i].name, QT_DT_F32, (size_t)p[i].ndim, p[i].dims, flat + p[i].offset};
    char path[4200];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    if (qt_safetensors_write(path, outs, (size_t)n, NULL, 0, e) != 0)
        goto done;
    rc = qt_json_save(dir, "config.json", qt_bert_train_config_to_json(c), e);
done:
    free(outs);
    free(p);
    return rc;
}

int qt_bert_train_load_config(const char *dir, qt_bert_train_config *c, qt_err *e)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/config.json", dir);
    cJSON *j = qt_json_load_file(path, e);
    if (!j)
        return -1;
    int rc = qt_bert_train_config_from_json(j, path, c, e);
    cJSON_Delete(j);
    return rc;
}

int qt_bert_train_load_weights(const qt_bert_train_config *c, const char *dir, float *flat, qt_err *e)
{
    qt_ckpt *ck = qt_ckpt_open(dir, e);
    if (!ck)
        return -1;
    int n = qt_bert_train_param_count(c);
    qt_bert_train_param *p = malloc((size_t)n * sizeof *p);
    int rc = -1;
    if (!p) {
        qt_fail(e, "out of memory");
        goto done;
    }
    table(c, p, &n);
    for (int i = 0; i < n; i++) {
        const float *src = qt_ckpt_tensor(ck, p[i].name, (size_t)p[i].ndim, p[i].dims, e);
        if (!src)
            goto done;
        memcpy(flat + p[i].offset, src, p[i].numel * sizeof(float));
    }
    rc = qt_ckpt_check_unused(ck, e);
done:
    free(p);
    qt_ckpt_close(ck);
    return rc;
}
