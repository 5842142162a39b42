#include "util/json.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/file.h"

long qt_utf8_invalid_offset(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        unsigned c = p[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t need;
        uint32_t cp;
        if (c >= 0xC2 && c <= 0xDF) {
            need = 1;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            need = 2;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            need = 3;
            cp = c & 0x07;
        } else {
            return (long)i;
        }
        for (size_t k = 1; k <= need; k++) {
            if (i + k >= len || (p[i + k] & 0xC0) != 0x80)
                return (long)i;
            cp = (cp << 6) | (p[i + k] & 0x3F);
        }
        if ((need == 2 && cp < 0x800) || (need == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return (long)i;
        i += need + 1;
    }
    return -1;
}

void qt_json_line_col(const char *data, size_t off, size_t *line, size_t *col)
{
    size_t l = 1, c = 1;
    for (size_t i = 0; i < off; i++) {
        if (data[i] == '\n') {
            l++;
            c = 1;
        } else {
            c++;
        }
    }
    *line = l;
    *col = c;
}

/* True when the text ends inside a string or an open array/object: the file
 * was most likely cut short, which deserves its own message. */
static int looks_truncated(const char *data, size_t len)
{
    long depth = 0;
    int in_string = 0;
    for (size_t i = 0; i < len; i++) {
        char c = data[i];
        if (in_string) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_string = 0;
        } else if (c == '"') {
            in_string = 1;
        } else if (c == '{' || c == '[') {
            depth++;
        } else if (c == '}' || c == ']') {
            depth--;
        }
    }
    return in_string || depth > 0;
}

cJSON *qt_json_parse(const char *name, const char *data, size_t len, qt_err *e)
{
    if (len == 0) {
        qt_fail(e, "%s: empty file, expected JSON", name);
        return NULL;
    }
    const char *nul = memchr(data, '\0', len);
    if (nul) {
        qt_fail(e, "%s: byte offset %zu: NUL byte, not a JSON text file", name, (size_t)(nul - data));
        return NULL;
    }
    long bad = qt_utf8_invalid_offset(data, len);
    if (bad >= 0) {
        size_t line, col;
        qt_json_line_col(data, (size_t)bad, &line, &col);
        qt_fail(e, "%s: byte offset %ld (line %zu, column %zu): invalid UTF-8", name, bad, line, col);
        return NULL;
    }
    return qt_json_parse_slice(name, data, len, 0, len, e);
}

/* Up to 20 bytes of text for an error message, kept on one line and cut at
 * a character boundary. */
static void snippet(char *out, size_t cap, const char *s, size_t n)
{
    size_t len = n < 20 ? n : 20;
    if (len >= cap)
        len = cap - 1;
    while (len > 0 && len < n && ((unsigned char)s[len] & 0xC0) == 0x80)
        len--;
    for (size_t i = 0; i < len; i++)
        out[i] = (unsigned char)s[i] < 0x20 ? ' ' : s[i];
    out[len] = '\0';
}

cJSON *qt_json_parse_slice(const char *name, const char *data, size_t len, size_t a, size_t b, qt_err *e)
{
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(data + a, b - a, &end, 0);
    size_t line, col;
    if (!root) {
        const char *at = cJSON_GetErrorPtr();
        size_t off = (at && at >= data + a && at <= data + b) ? (size_t)(at - data) : b;
        if (off >= b || looks_truncated(data + a, b - a)) {
            off = b;
            qt_json_line_col(data, off, &line, &col);
            if (b >= len)
                qt_fail(e, "%s: byte offset %zu (line %zu, column %zu): invalid JSON: unexpected end of file (truncated?)",
                        name, off, line, col);
            else
                qt_fail(e, "%s: byte offset %zu (line %zu, column %zu): invalid JSON: unterminated value",
                        name, off, line, col);
        } else {
            qt_json_line_col(data, off, &line, &col);
            char near[32];
            snippet(near, sizeof near, data + off, b - off);
            qt_fail(e, "%s: byte offset %zu (line %zu, column %zu): invalid JSON near '%s'", name, off,
                    line, col, near);
        }
        return NULL;
    }
    /* cJSON stops after the first value; anything but whitespace after it is an error. */
    size_t off = (size_t)(end - data);
    while (off < b && (data[off] == ' ' || data[off] == '\t' || data[off] == '\n' || data[off] == '\r'))
        off++;
    if (off < b) {
        qt_json_line_col(data, off, &line, &col);
        qt_fail(e, "%s: byte offset %zu (line %zu, column %zu): invalid JSON: unexpected data after the end",
                name, off, line, col);
        cJSON_Delete(root);
        return NULL;
    }
    return root;
}

cJSON *qt_json_load_file(const char *path, qt_err *e)
{
    char *data;
    size_t len;
    if (qt_read_file(path, 0, &data, &len, e) != 0)
        return NULL;
    cJSON *root = qt_json_parse(strcmp(path, "-") == 0 ? "<stdin>" : path, data, len, e);
    free(data);
    return root;
}

const char *qt_json_type_name(const cJSON *item)
{
    if (!item)
        return "nothing";
    if (cJSON_IsString(item))
        return "a string";
    if (cJSON_IsNumber(item))
        return "a number";
    if (cJSON_IsArray(item))
        return "an array";
    if (cJSON_IsObject(item))
        return "an object";
    if (cJSON_IsBool(item))
        return "a boolean";
    if (cJSON_IsNull(item))
        return "null";
    return "an unknown value";
}

static const char *want_name(int type)
{
    switch (type) {
    case cJSON_String:
        return "a string";
    case cJSON_Number:
        return "a number";
    case cJSON_Array:
        return "an array";
    case cJSON_Object:
        return "an object";
    case cJSON_True | cJSON_False:
        return "a boolean";
    default:
        return "a value";
    }
}

static int type_ok(const cJSON *item, int type)
{
    return (item->type & 0xFF & type) != 0;
}

const cJSON *qt_json_opt(const cJSON *obj, const char *key, int type, const char *name,
                         const char *jpath, qt_err *e)
{
    if (e)
        e->msg[0] = '\0';
    if (!cJSON_IsObject(obj)) {
        qt_fail(e, "%s: at %s: expected an object, got %s", name, jpath, qt_json_type_name(obj));
        return NULL;
    }
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!item)
        return NULL;
    if (!type_ok(item, type)) {
        qt_fail(e, "%s: at %s.%s: expected %s, got %s", name, jpath, key, want_name(type),
                qt_json_type_name(item));
        return NULL;
    }
    return item;
}

const cJSON *qt_json_need(const cJSON *obj, const char *key, int type, const char *name,
                          const char *jpath, qt_err *e)
{
    const cJSON *item = qt_json_opt(obj, key, type, name, jpath, e);
    if (!item && e && !e->msg[0])
        qt_fail(e, "%s: at %s: missing field '%s'", name, jpath, key);
    return item;
}

int qt_json_opt_double(const cJSON *obj, const char *key, const char *name, const char *jpath, double *out,
                       qt_err *e)
{
    const cJSON *v = qt_json_opt(obj, key, cJSON_Number, name, jpath, e);
    if (v)
        *out = v->valuedouble;
    return v || !e->msg[0] ? 0 : -1;
}

int qt_json_opt_float(const cJSON *obj, const char *key, const char *name, const char *jpath, float *out,
                      qt_err *e)
{
    const cJSON *v = qt_json_opt(obj, key, cJSON_Number, name, jpath, e);
    if (v)
        *out = (float)v->valuedouble;
    return v || !e->msg[0] ? 0 : -1;
}

double qt_json_short_float(float x)
{
    char buf[32];
    for (int digits = 1; digits <= 9; digits++) { /* 9 digits always read back */
        snprintf(buf, sizeof buf, "%.*g", digits, (double)x);
        if ((float)strtod(buf, NULL) == x)
            break;
    }
    return strtod(buf, NULL);
}

cJSON *qt_json_hf_config_new(const char *architecture, const char *model_type)
{
    cJSON *j = cJSON_CreateObject();
    cJSON *arch = cJSON_CreateArray();
    if (!j || !arch) {
        cJSON_Delete(j);
        cJSON_Delete(arch);
        return NULL;
    }
    cJSON_AddItemToArray(arch, cJSON_CreateString(architecture));
    cJSON_AddItemToObject(j, "architectures", arch);
    cJSON_AddStringToObject(j, "model_type", model_type);
    return j;
}

int qt_json_save(const char *dir, const char *name, cJSON *j, qt_err *e)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    char *text = j ? cJSON_Print(j) : NULL;
    cJSON_Delete(j);
    if (!text)
        return qt_fail(e, "out of memory");
    size_t n = strlen(text);
    text[n] = '\n'; /* over the NUL: the length is passed */
    int rc = qt_write_file_atomic(path, text, n + 1, e);
    free(text);
    return rc;
}
