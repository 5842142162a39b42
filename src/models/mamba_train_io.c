/* The trainable Mamba's config and checkpoints (mamba_train.h): config.json
 * in Hugging Face's MambaConfig form plus qaterm's keys, model.safetensors
 * in F32 and the tokenizer files. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/checkpoint.h"
#include "models/mamba_train.h"
#include "nn/safetensors.h"
#include "util/file.h"
#include "util/json.h"

void qt_mamba_train_config_default(qt_mamba_train_config *c)
{
    memset(c, 0, sizeof *c);
    c->hidden_size = 256;
    c->state_size = 16;
    c->num_layers = 4;
    c->expand = 2;
    c->conv_kernel = 4;
    c->dt_rank = (c->hidden_size + 15) / 16;
    c->eps = 1e-5f;
    c->dropout = 0.1f;
    c->rescale_prenorm_residual = 1;
    c->max_seq_len = 320;
    c->sep_id = 0;
    c->pad_id = 1;
    c->unk_id = 2;
}

int qt_mamba_train_config_check(const qt_mamba_train_config *c, const char *path, qt_err *e)
{
    struct {
        const char *name;
        long v, lo, hi;
    } checks[] = {
        {"vocab_size", c->vocab_size, 1, 1 << 24},      {"hidden_size", c->hidden_size, 1, 1 << 14},
        {"state_size", c->state_size, 1, 1024},         {"num_hidden_layers", c->num_layers, 1, QT_MAMBA_TRAIN_MAX_LAYERS},
        {"expand", c->expand, 1, 16},                   {"conv_kernel", c->conv_kernel, 1, 64},
        {"time_step_rank", c->dt_rank, 1, (long)c->expand * c->hidden_size},
        {"max_seq_len", c->max_seq_len, 8, 1 << 20},
        {"sep_token_id", c->sep_id, 0, c->vocab_size - 1}, {"pad_token_id", c->pad_id, 0, c->vocab_size - 1},
    };
    for (size_t i = 0; i < sizeof checks / sizeof *checks; i++)
        if (checks[i].v < checks[i].lo || checks[i].v > checks[i].hi)
            return qt_fail(e, "%s: %s is %ld, expected %ld..%ld", path, checks[i].name, checks[i].v, checks[i].lo,
                           checks[i].hi);
    if (!(c->eps > 0 && c->eps < 1))
        return qt_fail(e, "%s: layer_norm_epsilon %g is not in (0, 1)", path, c->eps);
    if (!(c->dropout >= 0 && c->dropout < 1))
        return qt_fail(e, "%s: dropout %g is not in [0, 1)", path, c->dropout);
    return 0;
}

cJSON *qt_mamba_train_config_json(const qt_mamba_train_config *c)
{
    cJSON *j = qt_json_hf_config_new("MambaForCausalLM", "mamba");
    if (!j)
        return NULL;
    cJSON_AddNumberToObject(j, "vocab_size", c->vocab_size);
    cJSON_AddNumberToObject(j, "hidden_size", c->hidden_size);
    cJSON_AddNumberToObject(j, "state_size", c->state_size);
    cJSON_AddNumberToObject(j, "num_hidden_layers", c->num_layers);
    cJSON_AddNumberToObject(j, "expand", c->expand);
    cJSON_AddNumberToObject(j, "intermediate_size", qt_mamba_train_d_inner(c));
    cJSON_AddNumberToObject(j, "conv_kernel", c->conv_kernel);
    cJSON_AddNumberToObject(j, "time_step_rank", c->dt_rank);
    cJSON_AddFalseToObject(j, "use_bias");
    cJSON_AddTrueToObject(j, "use_conv_bias");
    cJSON_AddNumberToObject(j, "layer_norm_epsilon", qt_json_short_float(c->eps));
    cJSON_AddStringToObject(j, "hidden_act", "silu");
    cJSON_AddNumberToObject(j, "initializer_range", 0.02);
    cJSON_AddTrueToObject(j, "residual_in_fp32");
    /* an init-only flag, already applied by our init: transformers (5.x)
     * applies it AGAIN to loaded weights (out_proj divided by sqrt(layers))
     * when it is true, so the saved config says false */
    cJSON_AddFalseToObject(j, "rescale_prenorm_residual");
    cJSON_AddStringToObject(j, "time_step_init_scheme", "random");
    /* "1.0", not 1: transformers' strict config classes refuse an int here */
    cJSON_AddRawToObject(j, "time_step_scale", "1.0");
    cJSON_AddNumberToObject(j, "time_step_min", 0.001);
    cJSON_AddNumberToObject(j, "time_step_max", 0.1);
    cJSON_AddNumberToObject(j, "time_step_floor", 0.0001);
    cJSON_AddTrueToObject(j, "use_cache");
    cJSON_AddTrueToObject(j, "tie_word_embeddings"); /* no lm_head saved: span mode never reads it */
    cJSON_AddNumberToObject(j, "bos_token_id", c->sep_id);
    cJSON_AddNumberToObject(j, "eos_token_id", c->sep_id);
    cJSON_AddNumberToObject(j, "pad_token_id", c->pad_id);
    cJSON_AddStringToObject(j, "qaterm_qa_mode", "span");
    cJSON_AddNumberToObject(j, "qaterm_sep_token_id", c->sep_id);
    cJSON_AddNumberToObject(j, "qaterm_train_max_seq_len", c->max_seq_len);
    cJSON_AddNumberToObject(j, "qaterm_train_dropout", qt_json_short_float(c->dropout));
    return j;
}

static int get_int(const cJSON *j, const char *key, int required, int *out, const char *path, qt_err *e)
{
    const cJSON *v = required ? qt_json_need(j, key, cJSON_Number, path, "$", e)
                              : qt_json_opt(j, key, cJSON_Number, path, "$", e);
    if (!v)
        return required || e->msg[0] ? -1 : 0;
    if (v->valuedouble != floor(v->valuedouble) || fabs(v->valuedouble) > 1e9)
        return qt_fail(e, "%s: at $.%s: %g is not an integer", path, key, v->valuedouble);
    *out = (int)v->valuedouble;
    return 0;
}

int qt_mamba_train_config_from_json(const cJSON *j, const char *path, qt_mamba_train_config *c, qt_err *e)
{
    qt_mamba_train_config_default(c);
    e->msg[0] = 0;
    if (get_int(j, "vocab_size", 1, &c->vocab_size, path, e) || get_int(j, "hidden_size", 1, &c->hidden_size, path, e) ||
        get_int(j, "state_size", 0, &c->state_size, path, e) ||
        get_int(j, "num_hidden_layers", 1, &c->num_layers, path, e) || get_int(j, "expand", 0, &c->expand, path, e) ||
        get_int(j, "conv_kernel", 0, &c->conv_kernel, path, e) ||
        get_int(j, "qaterm_sep_token_id", 0, &c->sep_id, path, e) ||
        get_int(j, "pad_token_id", 0, &c->pad_id, path, e) ||
        get_int(j, "qaterm_train_max_seq_len", 0, &c->max_seq_len, path, e) ||
        qt_json_opt_float(j, "layer_norm_epsilon", path, "$", &c->eps, e) ||
        qt_json_opt_float(j, "qaterm_train_dropout", path, "$", &c->dropout, e))
        return -1;
    c->dt_rank = (c->hidden_size + 15) / 16;
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(j, "time_step_rank");
    if (r && !(cJSON_IsString(r) && strcmp(r->valuestring, "auto") == 0) &&
        get_int(j, "time_step_rank", 1, &c->dt_rank, path, e))
        return -1;
    const cJSON *rs = cJSON_GetObjectItemCaseSensitive(j, "rescale_prenorm_residual");
    if (rs)
        c->rescale_prenorm_residual = cJSON_IsTrue(rs);
    /* what the training code supports of MambaConfig */
    const cJSON *b = cJSON_GetObjectItemCaseSensitive(j, "use_bias");
    const cJSON *cb = cJSON_GetObjectItemCaseSensitive(j, "use_conv_bias");
    if ((b && !cJSON_IsFalse(b)) || (cb && !cJSON_IsTrue(cb)))
        return qt_fail(e, "%s: training supports use_bias false and use_conv_bias true only", path);
    return qt_mamba_train_config_check(c, path, e);
}

int qt_mamba_train_save(const qt_mamba_train_config *c, const float *flat, const char *tokenizer_json,
                        const char *eos_text, const char *pad_text, const char *unk_text, const char *dir,
                        qt_err *e)
{
    qt_mamba_train_param ps[QT_MAMBA_TRAIN_MAX_PARAMS];
    qt_st_out outs[QT_MAMBA_TRAIN_MAX_PARAMS];
    int n = qt_mamba_train_params(c, ps);
    for (int i = 0; i < n; i++)
        outs[i] = (qt_st_out){ps[i].name, QT_DT_F32, (size_t)ps[i].ndim, ps[i].dims, flat + ps[i].offset};
    char path[4200];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    const char *meta[] = {"qaterm_arch", "mamba"};
    if (qt_safetensors_write(path, outs, (size_t)n, meta, 1, e) != 0)
        return -1;
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    if (qt_write_file_atomic(path, tokenizer_json, strlen(tokenizer_json), e) != 0)
        return -1;
    /* what transformers' AutoTokenizer reads beside tokenizer.json */
    cJSON *tc = cJSON_CreateObject(), *sm = cJSON_CreateObject();
    if (tc) {
        cJSON_AddStringToObject(tc, "tokenizer_class", "PreTrainedTokenizerFast");
        cJSON_AddStringToObject(tc, "bos_token", eos_text);
        cJSON_AddStringToObject(tc, "eos_token", eos_text);
        cJSON_AddStringToObject(tc, "pad_token", pad_text);
        cJSON_AddStringToObject(tc, "unk_token", unk_text);
        cJSON_AddTrueToObject(tc, "do_lower_case");
        cJSON_AddFalseToObject(tc, "add_bos_token");
    }
    if (sm) {
        cJSON_AddStringToObject(sm, "bos_token", eos_text);
        cJSON_AddStringToObject(sm, "eos_token", eos_text);
        cJSON_AddStringToObject(sm, "pad_token", pad_text);
        cJSON_AddStringToObject(sm, "unk_token", unk_text);
    }
    if (qt_json_save(dir, "tokenizer_config.json", tc, e) || qt_json_save(dir, "special_tokens_map.json", sm, e))
        return -1;
    /* config.json last: a directory with it is complete */
    return qt_json_save(dir, "config.json", qt_mamba_train_config_json(c), e);
}

int qt_mamba_train_load(const char *dir, qt_mamba_train_config *c, float **flat, qt_err *e)
{
    *flat = NULL;
    qt_ckpt *ck = qt_ckpt_open(dir, e);
    if (!ck)
        return -1;
    int rc = -1;
    char *path = qt_ckpt_file_path(ck, "config.json");
    if (!path) {
        qt_fail(e, "out of memory");
        goto done;
    }
    if (qt_mamba_train_config_from_json(qt_ckpt_config(ck), path, c, e) != 0)
        goto done;
    if (!(*flat = qt_floats_alloc(qt_mamba_train_param_floats(c)))) {
        qt_fail(e, "out of memory for the Mamba weights");
        goto done;
    }
    qt_mamba_train_param ps[QT_MAMBA_TRAIN_MAX_PARAMS];
    int n = qt_mamba_train_params(c, ps);
    for (int i = 0; i < n; i++) {
        const float *src = qt_ckpt_tensor(ck, ps[i].name, (size_t)ps[i].ndim, ps[i].dims, e);
        if (!src)
            goto done;
        memcpy(*flat + ps[i].offset, src, ps[i].numel * sizeof(float));
    }
    rc = qt_ckpt_check_unused(ck, e);
done:
    if (rc != 0) {
        qt_floats_free(*flat);
        *flat = NULL;
    }
    free(path);
    qt_ckpt_close(ck);
    return rc;
}
