/* The trainer's JSON config (train.h). Every field is optional except
 * "arch"; errors name the file and the JSON path. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "train/split.h"
#include "train/train.h"
#include "util/json.h"
#include "util/paths.h"

static void defaults(qt_train_config *c)
{
    memset(c, 0, sizeof *c);
    c->seed = 1234;
    snprintf(c->train_path, sizeof c->train_path, "train-v1.1.json");
    snprintf(c->dev_path, sizeof c->dev_path, "dev-v2.0-a.json");
    snprintf(c->dev_split, sizeof c->dev_split, "all");
    c->train_dev_repeat = 1;
    c->eval_questions = 1000;
    qt_neg_opts_default(&c->negatives);
    c->batch_size = 32;
    c->epochs = 1;
    c->lr = 2e-3f;
    c->warmup_steps = 100;
    c->weight_decay = 0.01;
    c->beta1 = 0.9;
    c->beta2 = 0.999;
    c->eps = 1e-8;
    c->clip_norm = 5.0;
    c->bucket_size = 50;
    c->eval_every = 0;
    c->checkpoint_minutes = 10;
    c->threads = 2;
    c->blas_threads = 1;
    c->keep_checkpoints = 1;
    c->tune_threshold = 1;
    snprintf(c->tune_split, sizeof c->tune_split, "a1");
}

typedef struct reader {
    const char *name;
    qt_err *e;
    int failed;
} reader;

static const cJSON *get(reader *r, const cJSON *obj, const char *key, int type, const char *jpath)
{
    if (r->failed || !obj)
        return NULL;
    r->e->msg[0] = 0;
    const cJSON *v = qt_json_opt(obj, key, type, r->name, jpath, r->e);
    if (!v && r->e->msg[0])
        r->failed = 1;
    return v;
}

static void get_num(reader *r, const cJSON *obj, const char *key, const char *jpath, double lo, double hi,
                    int integer, double *out)
{
    const cJSON *v = get(r, obj, key, cJSON_Number, jpath);
    if (!v)
        return;
    double d = v->valuedouble;
    if (!(d >= lo && d <= hi) || (integer && d != floor(d))) {
        qt_fail(r->e, "%s: at %s.%s: expected %s in %g..%g, got %g", r->name, jpath, key,
                integer ? "an integer" : "a number", lo, hi, d);
        r->failed = 1;
        return;
    }
    *out = d;
}

static void get_int(reader *r, const cJSON *obj, const char *key, const char *jpath, long lo, long hi, int *out)
{
    double d = *out;
    get_num(r, obj, key, jpath, (double)lo, (double)hi, 1, &d);
    *out = (int)d;
}

static void get_str(reader *r, const cJSON *obj, const char *key, const char *jpath, char *out, size_t size)
{
    const cJSON *v = get(r, obj, key, cJSON_String, jpath);
    if (v)
        snprintf(out, size, "%s", v->valuestring);
}

static void get_split(reader *r, const cJSON *obj, const char *key, const char *jpath, char *out, size_t size,
                      int allow_empty)
{
    get_str(r, obj, key, jpath, out, size);
    if (r->failed)
        return;
    int first, count;
    qt_err ignored;
    if (!((allow_empty && !*out) || (*out && qt_dev_split_range(1000, out, &first, &count, &ignored) == 0))) {
        qt_fail(r->e, "%s: at %s.%s: expected \"a1\", \"a2\", \"all\" or an article range \"N-M\"%s, got \"%s\"",
                r->name, jpath, key, allow_empty ? " or \"\"" : "", out);
        r->failed = 1;
    }
}

/* A data file: as given when it exists, else in the SQuAD folder. */
static void resolve_data(char *path, size_t size)
{
    if (!*path || path[0] == '/' || qt_path_is_file(path))
        return;
    const char *dir = qt_squad_dir();
    char p[8192];
    if (dir) {
        snprintf(p, sizeof p, "%s/%s", dir, path);
        if (qt_path_is_file(p) && strlen(p) < size)
            memcpy(path, p, strlen(p) + 1);
    }
}

int qt_train_config_load(const char *path, qt_train_config *c, qt_err *e)
{
    defaults(c);
    cJSON *j = qt_json_load_file(path, e);
    if (!j)
        return -1;
    c->json = j;
    reader r = {path, e, 0};
    if (!cJSON_IsObject(j)) {
        qt_train_config_free(c);
        return qt_fail(e, "%s: at $: expected an object, got %s", path, qt_json_type_name(j));
    }
    const cJSON *arch = qt_json_need(j, "arch", cJSON_String, path, "$", e);
    if (!arch) {
        qt_train_config_free(c);
        return -1;
    }
    snprintf(c->arch, sizeof c->arch, "%s", arch->valuestring);
    double seed = (double)c->seed;
    get_num(&r, j, "seed", "$", 0, 9007199254740991.0, 1, &seed);
    c->seed = (uint64_t)seed;
    c->negatives.seed = c->seed;

    const cJSON *data = get(&r, j, "data", cJSON_Object, "$");
    get_str(&r, data, "train", "$.data", c->train_path, sizeof c->train_path);
    get_str(&r, data, "dev", "$.data", c->dev_path, sizeof c->dev_path);
    get_split(&r, data, "dev_split", "$.data", c->dev_split, sizeof c->dev_split, 0);
    get_split(&r, data, "train_dev_unanswerable", "$.data", c->train_dev_split, sizeof c->train_dev_split, 1);
    get_int(&r, data, "train_dev_repeat", "$.data", 1, 100, &c->train_dev_repeat);
    get_int(&r, data, "max_train_questions", "$.data", 0, 100000000, &c->max_train_questions);
    get_int(&r, data, "eval_questions", "$.data", 0, 100000000, &c->eval_questions);
    if (!r.failed && c->train_dev_split[0] && !c->dev_path[0]) {
        qt_fail(e, "%s: at $.data.train_dev_unanswerable: needs $.data.dev, the file its questions come from", path);
        r.failed = 1;
    }

    const cJSON *neg = get(&r, j, "negatives", cJSON_Object, "$");
    get_num(&r, neg, "share", "$.negatives", 0, 0.9, 0, &c->negatives.share);
    const cJSON *w = get(&r, neg, "weights", cJSON_Object, "$.negatives");
    get_num(&r, w, "other_paragraph", "$.negatives.weights", 0, 1e6, 0, &c->negatives.w_other);
    get_num(&r, w, "entity", "$.negatives.weights", 0, 1e6, 0, &c->negatives.w_entity);
    get_num(&r, w, "number", "$.negatives.weights", 0, 1e6, 0, &c->negatives.w_number);
    get_num(&r, w, "negation", "$.negatives.weights", 0, 1e6, 0, &c->negatives.w_negation);
    get_num(&r, w, "antonym", "$.negatives.weights", 0, 1e6, 0, &c->negatives.w_antonym);

    const cJSON *t = get(&r, j, "train", cJSON_Object, "$");
    double lr = c->lr;
    get_int(&r, t, "batch_size", "$.train", 1, 4096, &c->batch_size);
    get_int(&r, t, "epochs", "$.train", 1, 1000, &c->epochs);
    get_int(&r, t, "max_steps", "$.train", 0, 100000000, &c->max_steps);
    get_num(&r, t, "lr", "$.train", 0, 10, 0, &lr);
    c->lr = (float)lr;
    get_int(&r, t, "warmup_steps", "$.train", 0, 100000000, &c->warmup_steps);
    get_num(&r, t, "weight_decay", "$.train", 0, 10, 0, &c->weight_decay);
    get_num(&r, t, "beta1", "$.train", 0, 0.999999, 0, &c->beta1);
    get_num(&r, t, "beta2", "$.train", 0, 0.999999999, 0, &c->beta2);
    get_num(&r, t, "eps", "$.train", 0, 1, 0, &c->eps);
    get_num(&r, t, "clip_norm", "$.train", 0, 1e9, 0, &c->clip_norm);
    get_int(&r, t, "bucket_batches", "$.train", 1, 1000000, &c->bucket_size);

    c->pretrain_lr = c->lr;
    c->pretrain_warmup_steps = c->warmup_steps;
    const cJSON *pt = get(&r, j, "pretrain", cJSON_Object, "$");
    double plr = c->pretrain_lr;
    get_int(&r, pt, "steps", "$.pretrain", 0, 100000000, &c->pretrain_steps);
    get_num(&r, pt, "lr", "$.pretrain", 0, 10, 0, &plr);
    c->pretrain_lr = (float)plr;
    get_int(&r, pt, "warmup_steps", "$.pretrain", 0, 100000000, &c->pretrain_warmup_steps);

    get_int(&r, j, "eval_every_steps", "$", 0, 100000000, &c->eval_every);
    get_num(&r, j, "checkpoint_minutes", "$", 0, 1e6, 0, &c->checkpoint_minutes);
    get_int(&r, j, "checkpoint_every_steps", "$", 0, 100000000, &c->checkpoint_every);
    get_int(&r, j, "threads", "$", 1, 64, &c->threads);
    get_int(&r, j, "blas_threads", "$", 1, 64, &c->blas_threads);
    get_int(&r, j, "keep_checkpoints", "$", 0, 1000, &c->keep_checkpoints);
    const cJSON *tune = get(&r, j, "tune_threshold", cJSON_True | cJSON_False, "$");
    if (tune)
        c->tune_threshold = cJSON_IsTrue(tune);
    get_split(&r, j, "tune_split", "$", c->tune_split, sizeof c->tune_split, 0);
    get_int(&r, j, "debug_stop_at_step", "$", 0, 100000000, &c->stop_at_step);
    const cJSON *model = get(&r, j, "model", cJSON_Object, "$");
    if (r.failed) {
        qt_train_config_free(c);
        return -1;
    }
    c->model = model ? cJSON_Duplicate(model, 1) : cJSON_CreateObject();
    resolve_data(c->train_path, sizeof c->train_path);
    resolve_data(c->dev_path, sizeof c->dev_path);
    return 0;
}

void qt_train_config_free(qt_train_config *c)
{
    cJSON_Delete(c->model);
    cJSON_Delete(c->json);
    c->model = c->json = NULL;
}
