/* Engine loaders, one per architecture file in src/models. Each returns a
 * model whose ops/impl/info it filled, or NULL with e set. `config` is the
 * parsed config.json (owned by the caller; copy what you keep). */
#ifndef QT_ENGINES_H
#define QT_ENGINES_H

#include <cjson/cJSON.h>
#include "models/model.h"

typedef qt_model *(*qt_engine_load_fn)(const char *dir, const cJSON *config, qt_err *e);

typedef struct qt_engine {
    const char *model_type; /* config.json "model_type" */
    qt_engine_load_fn load;
} qt_engine;

/* The table in model.c, ended by a NULL model_type. */
extern const qt_engine qt_engines[];

qt_model *qt_mamba_load(const char *dir, const cJSON *config, qt_err *e);
qt_model *qt_bert_load(const char *dir, const cJSON *config, qt_err *e);
qt_model *qt_roberta_load(const char *dir, const cJSON *config, qt_err *e);
qt_model *qt_bilstm_load(const char *dir, const cJSON *config, qt_err *e);
qt_model *qt_t5_load(const char *dir, const cJSON *config, qt_err *e);

#endif
