/* Model loading by model_type, timing, and what all engines share. */
#include "models/model.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "models/engines.h"
#include "util/json.h"
#include "util/paths.h"

/* One line per engine; the architecture files define the loaders. */
const qt_engine qt_engines[] = {
    {"mamba", qt_mamba_load},
    {"bert", qt_bert_load},
    {"roberta", qt_roberta_load},
    {"qaterm_bilstm", qt_bilstm_load},
    {"t5", qt_t5_load},
    {NULL, NULL},
};

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
}

qt_model *qt_model_load(const char *dir, qt_err *e)
{
    if (!qt_path_is_dir(dir)) {
        qt_fail(e, "%s: not a model directory (expected a folder with config.json and weights)", dir);
        return NULL;
    }
    char cfg_path[4200];
    snprintf(cfg_path, sizeof cfg_path, "%s/config.json", dir);
    cJSON *config = qt_json_load_file(cfg_path, e);
    if (!config)
        return NULL;
    const cJSON *type = qt_json_need(config, "model_type", cJSON_String, cfg_path, "$", e);
    qt_model *m = NULL;
    if (type) {
        const qt_engine *eng = qt_engines;
        while (eng->model_type && strcmp(eng->model_type, type->valuestring) != 0)
            eng++;
        if (eng->model_type)
            m = eng->load(dir, config, e);
        else
            qt_fail(e, "%s: model_type '%s' is not supported by this qaterm", cfg_path, type->valuestring);
    }
    cJSON_Delete(config);
    return m;
}

int qt_model_answer(qt_model *m, const char *question, const char *context, qt_qa_answer *out, qt_err *e)
{
    memset(out, 0, sizeof *out);
    double t0 = now_ms();
    int rc = m->ops->answer(m, question, context, out, e);
    out->latency_ms = now_ms() - t0;
    return rc;
}

void qt_qa_answer_free(qt_qa_answer *a)
{
    free(a->text);
    free(a->best_text);
    memset(a, 0, sizeof *a);
}

void qt_model_free(qt_model *m)
{
    if (m)
        m->ops->free(m);
}

static long long dir_bytes(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    long long total = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        char p[4608];
        struct stat st;
        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        if (de->d_name[0] != '.' && stat(p, &st) == 0 && S_ISREG(st.st_mode))
            total += st.st_size;
    }
    closedir(d);
    return total;
}

void qt_model_info_init(qt_model_info *info, const char *dir, const struct cJSON *config, const char *arch)
{
    memset(info, 0, sizeof *info);
    snprintf(info->path, sizeof info->path, "%s", dir);
    snprintf(info->arch, sizeof info->arch, "%s", arch);
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(config, "qaterm_name");
    const cJSON *variant = cJSON_GetObjectItemCaseSensitive(config, "qaterm_variant");
    if (cJSON_IsString(name)) {
        snprintf(info->name, sizeof info->name, "%s", name->valuestring);
    } else {
        size_t n = strlen(dir);
        while (n > 1 && dir[n - 1] == '/')
            n--;
        size_t s = n;
        while (s > 0 && dir[s - 1] != '/')
            s--;
        snprintf(info->name, sizeof info->name, "%.*s", (int)(n - s), dir + s);
    }
    if (cJSON_IsString(variant))
        snprintf(info->variant, sizeof info->variant, "%s", variant->valuestring);
    info->bytes_on_disk = dir_bytes(dir);
}

int qt_default_model_dirs(char paths[][4096], int max)
{
    static const char *names[] = {"bert", "t5", "lstm", "mamba"};
    const char *assets = qt_assets_dir();
    int n = 0;
    for (size_t i = 0; assets && i < sizeof names / sizeof *names && n < max; i++) {
        snprintf(paths[n], 4096, "%s/models/%s", assets, names[i]);
        char cfg[4200];
        snprintf(cfg, sizeof cfg, "%s/config.json", paths[n]);
        if (qt_path_is_file(cfg))
            n++;
    }
    return n;
}
