/* Parsing untrusted JSON files with errors that name the file, the byte
 * offset (line:column) or the JSON path, and what is wrong. */
#ifndef QT_JSON_H
#define QT_JSON_H

#include <stddef.h>
#include <cjson/cJSON.h>
#include "util/err.h"

/* Returns the offset of the first byte that is not valid UTF-8 (overlong
 * forms, surrogates and code points above U+10FFFF are invalid), or -1. */
long qt_utf8_invalid_offset(const char *s, size_t len);

/* Parses len bytes of JSON. `name` is used in messages (usually the path).
 * Rejects invalid UTF-8, NUL bytes, syntax errors and trailing garbage. */
cJSON *qt_json_parse(const char *name, const char *data, size_t len, qt_err *e);

/* Parses the bytes [a, b) of data (already checked for UTF-8 and NULs);
 * error offsets are reported relative to the start of data. */
cJSON *qt_json_parse_slice(const char *name, const char *data, size_t len, size_t a, size_t b, qt_err *e);

/* 1-based line and column of byte offset off. */
void qt_json_line_col(const char *data, size_t off, size_t *line, size_t *col);

/* Reads and parses a whole file ("-" for stdin). */
cJSON *qt_json_load_file(const char *path, qt_err *e);

/* Fetches obj[key] and checks its type (cJSON_String, cJSON_Number,
 * cJSON_Array, cJSON_Object, or cJSON_True|cJSON_False for a boolean).
 * On failure, fills e with "NAME: at JPATH: ..." and returns NULL. */
const cJSON *qt_json_need(const cJSON *obj, const char *key, int type, const char *name,
                          const char *jpath, qt_err *e);

/* Like qt_json_need, but a missing key is not an error (returns NULL with
 * e->msg[0] == 0); a key of the wrong type is. */
const cJSON *qt_json_opt(const cJSON *obj, const char *key, int type, const char *name,
                         const char *jpath, qt_err *e);

const char *qt_json_type_name(const cJSON *item);

/* obj[key] as a number into *out (a float: rounded from the double read).
 * Absent: *out is left as it is and 0 returned; not a number: -1 with e
 * filled as qt_json_opt does. */
int qt_json_opt_double(const cJSON *obj, const char *key, const char *name, const char *jpath, double *out,
                       qt_err *e);
int qt_json_opt_float(const cJSON *obj, const char *key, const char *name, const char *jpath, float *out,
                      qt_err *e);

/* ---- writing Hugging Face style files ---- */

/* x as the shortest decimal that reads back as the same float, for a
 * config.json that says 0.1 and 1e-05 rather than 0.10000000149011612 and
 * 9.99999974737875e-06. */
double qt_json_short_float(float x);

/* A new config.json object that starts {"architectures": [architecture],
 * "model_type": model_type}, or NULL when out of memory. */
cJSON *qt_json_hf_config_new(const char *architecture, const char *model_type);

/* Writes j pretty-printed, with a final newline, to dir/name (atomically),
 * then deletes j. j may be NULL, from a builder that ran out of memory:
 * then fails with "out of memory". Returns 0 or -1. */
int qt_json_save(const char *dir, const char *name, cJSON *j, qt_err *e);

#endif
