/* SQuAD JSON loader. The top level is walked by a small scanner and each
 * article is handed to cJSON on its own, so a 40 MB file never becomes one
 * giant tree. */
#include "qa/squad.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/file.h"
#include "util/json.h"

/* ---- growable arrays ---------------------------------------------------- */

static int grow(void **items, int *cap, int need, size_t size)
{
    if (need <= *cap)
        return 0;
    int ncap = *cap ? *cap : 16;
    while (ncap < need)
        ncap *= 2;
    void *p = realloc(*items, (size_t)ncap * size);
    if (!p)
        return -1;
    *items = p;
    *cap = ncap;
    return 0;
}

typedef struct loader {
    const char *name; /* file name for messages */
    const char *data;
    size_t len;
    qt_squad *s;
    int cap_articles, cap_paragraphs, cap_questions;
} loader;

/* ---- UTF-8 offsets ------------------------------------------------------ */

long qt_utf8_byte_offset(const char *s, size_t len, long cp)
{
    if (cp < 0)
        return -1;
    size_t b = 0;
    for (long i = 0; i < cp; i++) {
        if (b >= len)
            return -1;
        b++;
        while (b < len && ((unsigned char)s[b] & 0xC0) == 0x80)
            b++;
    }
    return (long)b;
}

long qt_utf8_char_index(const char *s, size_t b)
{
    long n = 0;
    for (size_t i = 0; i < b; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            n++;
    return n;
}

/* ---- id index (open addressing, FNV-1a) --------------------------------- */

typedef struct id_index {
    size_t cap; /* power of two */
    int *slots; /* question index + 1; 0 = empty */
} id_index;

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

/* Builds the index. A repeated id keeps its first question (SQuAD 1.1 train
 * repeats 155 ids: the same question asked twice of one paragraph) and is
 * counted in n_duplicate_ids. Returns -1 when out of memory. */
static int build_index(qt_squad *s)
{
    id_index *ix = calloc(1, sizeof *ix);
    if (!ix)
        return -1;
    ix->cap = 16;
    while (ix->cap < (size_t)s->n_questions * 2)
        ix->cap *= 2;
    ix->slots = calloc(ix->cap, sizeof *ix->slots);
    if (!ix->slots) {
        free(ix);
        return -1;
    }
    s->index = ix;
    for (int q = 0; q < s->n_questions; q++) {
        size_t i = fnv1a(s->questions[q].id) & (ix->cap - 1);
        int dup = 0;
        while (ix->slots[i] && !dup) {
            dup = strcmp(s->questions[ix->slots[i] - 1].id, s->questions[q].id) == 0;
            i = (i + 1) & (ix->cap - 1);
        }
        if (dup)
            s->n_duplicate_ids++;
        else
            ix->slots[i] = q + 1;
    }
    return 0;
}

const qt_question *qt_squad_find(const qt_squad *s, const char *id)
{
    const id_index *ix = s->index;
    if (!ix)
        return NULL;
    size_t i = fnv1a(id) & (ix->cap - 1);
    while (ix->slots[i]) {
        const qt_question *q = &s->questions[ix->slots[i] - 1];
        if (strcmp(q->id, id) == 0)
            return q;
        i = (i + 1) & (ix->cap - 1);
    }
    return NULL;
}

/* ---- one article -------------------------------------------------------- */

static char *dup_str(loader *L, const char *s, qt_err *e)
{
    char *d = strdup(s);
    if (!d)
        qt_fail(e, "%s: out of memory", L->name);
    return d;
}

static int load_answers(loader *L, const cJSON *arr, const qt_paragraph *p, const char *jpath,
                        qt_answer **out, int *n_out, qt_err *e)
{
    int n = cJSON_GetArraySize(arr);
    *out = NULL;
    *n_out = 0;
    if (n == 0)
        return 0;
    qt_answer *ans = calloc((size_t)n, sizeof *ans);
    if (!ans)
        return qt_fail(e, "%s: out of memory", L->name);
    *out = ans;
    int k = 0;
    const cJSON *a;
    cJSON_ArrayForEach(a, arr)
    {
        char path[1024];
        snprintf(path, sizeof path, "%s[%d]", jpath, k);
        const cJSON *text = qt_json_need(a, "text", cJSON_String, L->name, path, e);
        if (!text)
            return -1;
        const cJSON *start = qt_json_opt(a, "answer_start", cJSON_Number, L->name, path, e);
        if (!start && e->msg[0])
            return -1;
        qt_answer *an = &ans[k];
        if (!(an->text = dup_str(L, text->valuestring, e)))
            return -1;
        *n_out = ++k;
        an->start_char = start ? (long)start->valuedouble : -1;
        an->start_byte = -1;
        size_t tl = strlen(an->text);
        long b = qt_utf8_byte_offset(p->context, p->context_len, an->start_char);
        if (b >= 0 && (size_t)b + tl <= p->context_len && memcmp(p->context + b, an->text, tl) == 0) {
            an->start_byte = b;
        } else if (tl > 0) {
            /* Offsets in some files are off; the first occurrence is the best guess. */
            const char *hit = strstr(p->context, an->text);
            if (hit)
                an->start_byte = hit - p->context;
        }
    }
    return 0;
}

static int load_question(loader *L, const cJSON *qa, int para, const char *jpath, qt_err *e)
{
    qt_squad *s = L->s;
    if (grow((void **)&s->questions, &L->cap_questions, s->n_questions + 1, sizeof(qt_question)))
        return qt_fail(e, "%s: out of memory", L->name);
    qt_question *q = &s->questions[s->n_questions];
    memset(q, 0, sizeof *q);
    s->n_questions++; /* counted now so qt_squad_free releases partial work */
    q->paragraph = para;

    const cJSON *id = qt_json_opt(qa, "id", cJSON_String, L->name, jpath, e);
    if (!id) {
        /* Some files use numeric ids; accept them as their decimal text. */
        const cJSON *num = cJSON_GetObjectItemCaseSensitive(qa, "id");
        if (!num || !cJSON_IsNumber(num))
            return qt_fail(e, "%s: at %s: missing field 'id' (a string)", L->name, jpath);
        char buf[64];
        snprintf(buf, sizeof buf, "%.17g", num->valuedouble);
        if (!(q->id = dup_str(L, buf, e)))
            return -1;
    } else if (!(q->id = dup_str(L, id->valuestring, e))) {
        return -1;
    }
    const cJSON *text = qt_json_need(qa, "question", cJSON_String, L->name, jpath, e);
    if (!text || !(q->text = dup_str(L, text->valuestring, e)))
        return -1;
    const cJSON *imp = qt_json_opt(qa, "is_impossible", cJSON_True | cJSON_False, L->name, jpath, e);
    if (!imp && e->msg[0])
        return -1;
    const cJSON *answers = qt_json_need(qa, "answers", cJSON_Array, L->name, jpath, e);
    if (!answers)
        return -1;
    char path[1024];
    snprintf(path, sizeof path, "%s.answers", jpath);
    const qt_paragraph *p = &s->paragraphs[para];
    if (load_answers(L, answers, p, path, &q->answers, &q->n_answers, e))
        return -1;
    const cJSON *plaus = qt_json_opt(qa, "plausible_answers", cJSON_Array, L->name, jpath, e);
    if (!plaus && e->msg[0])
        return -1;
    if (plaus) {
        snprintf(path, sizeof path, "%s.plausible_answers", jpath);
        if (load_answers(L, plaus, p, path, &q->plausible, &q->n_plausible, e))
            return -1;
    }
    q->is_impossible = imp ? cJSON_IsTrue(imp) : q->n_answers == 0;
    if (q->is_impossible && q->n_answers > 0)
        return qt_fail(e, "%s: at %s: is_impossible is true but answers is not empty", L->name, jpath);
    if (!q->is_impossible && q->n_answers == 0)
        return qt_fail(e, "%s: at %s: answerable question with no answers", L->name, jpath);
    if (q->is_impossible)
        s->n_unanswerable++;
    else
        s->n_answerable++;
    return 0;
}

static int load_article(loader *L, const cJSON *art, int index, qt_err *e)
{
    qt_squad *s = L->s;
    char jpath[512];
    snprintf(jpath, sizeof jpath, "data[%d]", index);
    if (!cJSON_IsObject(art))
        return qt_fail(e, "%s: at %s: expected an object, got %s", L->name, jpath, qt_json_type_name(art));
    const cJSON *title = qt_json_opt(art, "title", cJSON_String, L->name, jpath, e);
    if (!title && e->msg[0])
        return -1;
    const cJSON *paras = qt_json_need(art, "paragraphs", cJSON_Array, L->name, jpath, e);
    if (!paras)
        return -1;
    if (grow((void **)&s->articles, &L->cap_articles, s->n_articles + 1, sizeof(qt_article)))
        return qt_fail(e, "%s: out of memory", L->name);
    qt_article *a = &s->articles[s->n_articles];
    memset(a, 0, sizeof *a);
    s->n_articles++;
    if (!(a->title = dup_str(L, title ? title->valuestring : "", e)))
        return -1;
    a->first_paragraph = s->n_paragraphs;

    int pi = 0;
    const cJSON *para;
    cJSON_ArrayForEach(para, paras)
    {
        char ppath[600];
        snprintf(ppath, sizeof ppath, "%s.paragraphs[%d]", jpath, pi);
        if (!cJSON_IsObject(para))
            return qt_fail(e, "%s: at %s: expected an object, got %s", L->name, ppath, qt_json_type_name(para));
        const cJSON *ctx = qt_json_need(para, "context", cJSON_String, L->name, ppath, e);
        if (!ctx)
            return -1;
        const cJSON *qas = qt_json_need(para, "qas", cJSON_Array, L->name, ppath, e);
        if (!qas)
            return -1;
        if (grow((void **)&s->paragraphs, &L->cap_paragraphs, s->n_paragraphs + 1, sizeof(qt_paragraph)))
            return qt_fail(e, "%s: out of memory", L->name);
        qt_paragraph *p = &s->paragraphs[s->n_paragraphs];
        memset(p, 0, sizeof *p);
        int para_index = s->n_paragraphs++;
        a->n_paragraphs++;
        if (!(p->context = dup_str(L, ctx->valuestring, e)))
            return -1;
        p->context_len = strlen(p->context);
        p->article = s->n_articles - 1;
        p->first_question = s->n_questions;
        int qi = 0;
        const cJSON *qa;
        cJSON_ArrayForEach(qa, qas)
        {
            char qpath[700];
            snprintf(qpath, sizeof qpath, "%s.qas[%d]", ppath, qi++);
            if (!cJSON_IsObject(qa))
                return qt_fail(e, "%s: at %s: expected an object, got %s", L->name, qpath, qt_json_type_name(qa));
            if (load_question(L, qa, para_index, qpath, e))
                return -1;
            s->paragraphs[para_index].n_questions++;
        }
        pi++;
    }
    return 0;
}

/* ---- top-level scanner -------------------------------------------------- */

static size_t skip_ws(const loader *L, size_t i)
{
    while (i < L->len && (L->data[i] == ' ' || L->data[i] == '\t' || L->data[i] == '\n' || L->data[i] == '\r'))
        i++;
    return i;
}

static int fail_at(const loader *L, size_t off, const char *what, qt_err *e)
{
    size_t line, col;
    qt_json_line_col(L->data, off, &line, &col);
    if (off >= L->len)
        return qt_fail(e, "%s: byte offset %zu (line %zu, column %zu): unexpected end of file (truncated?), %s",
                       L->name, off, line, col, what);
    return qt_fail(e, "%s: byte offset %zu (line %zu, column %zu): %s", L->name, off, line, col, what);
}

/* Moves *i past one JSON value without interpreting it (cJSON checks it
 * afterwards); only strings and nesting are tracked. */
static int skip_value(const loader *L, size_t *i, qt_err *e)
{
    size_t p = *i;
    int depth = 0;
    do {
        if (p >= L->len)
            return fail_at(L, p, "a value is not finished", e);
        char c = L->data[p];
        if (c == '"') {
            for (p++; p < L->len && L->data[p] != '"'; p++)
                if (L->data[p] == '\\')
                    p++;
            if (p >= L->len)
                return fail_at(L, L->len, "a string is not closed", e);
            p++;
        } else if (c == '{' || c == '[') {
            depth++;
            p++;
        } else if (c == '}' || c == ']') {
            if (depth == 0)
                return fail_at(L, p, "expected a value", e);
            depth--;
            p++;
        } else if (depth == 0 && (c == ',' || c == ':')) {
            return fail_at(L, p, "expected a value", e);
        } else {
            p++;
            /* a scalar at depth 0 ends at a delimiter */
            if (depth == 0)
                while (p < L->len && !strchr(",}] \t\r\n", L->data[p]))
                    p++;
        }
    } while (depth > 0);
    *i = p;
    return 0;
}

static int expect(const loader *L, size_t *i, char c, const char *what, qt_err *e)
{
    *i = skip_ws(L, *i);
    if (*i >= L->len || L->data[*i] != c)
        return fail_at(L, *i, what, e);
    (*i)++;
    return 0;
}

static int load_data_array(loader *L, size_t *i, qt_err *e)
{
    if (expect(L, i, '[', "expected an array for \"data\"", e))
        return -1;
    *i = skip_ws(L, *i);
    if (*i < L->len && L->data[*i] == ']') {
        (*i)++;
        return 0;
    }
    for (int index = 0;; index++) {
        size_t a = skip_ws(L, *i);
        size_t b = a;
        if (skip_value(L, &b, e))
            return -1;
        cJSON *art = qt_json_parse_slice(L->name, L->data, L->len, a, b, e);
        if (!art)
            return -1;
        int rc = load_article(L, art, index, e);
        cJSON_Delete(art);
        if (rc)
            return -1;
        *i = skip_ws(L, b);
        if (*i < L->len && L->data[*i] == ',') {
            (*i)++;
            continue;
        }
        return expect(L, i, ']', "expected ',' or ']' after an article", e);
    }
}

int qt_squad_load_buffer(const char *name, const char *data, size_t len, qt_squad *out, qt_err *e)
{
    memset(out, 0, sizeof *out);
    loader L = {.name = name, .data = data, .len = len, .s = out};
    int rc = -1, seen_data = 0;
    if (!(out->path = strdup(name)) || !(out->version = strdup("")))
        goto fail_oom;
    if (len == 0) {
        qt_fail(e, "%s: empty file, expected SQuAD JSON", name);
        goto done;
    }
    if (memchr(data, '\0', len)) {
        qt_fail(e, "%s: byte offset %zu: NUL byte, not a JSON text file", name,
                (size_t)((const char *)memchr(data, '\0', len) - data));
        goto done;
    }
    long bad = qt_utf8_invalid_offset(data, len);
    if (bad >= 0) {
        fail_at(&L, (size_t)bad, "invalid UTF-8", e);
        goto done;
    }
    size_t i = 0;
    if (expect(&L, &i, '{', "expected a JSON object with a \"data\" array (is this a SQuAD file?)", e))
        goto done;
    i = skip_ws(&L, i);
    if (i < len && data[i] == '}')
        i++;
    else
        for (;;) {
            size_t ks = skip_ws(&L, i), ke = ks;
            if (ks >= len || data[ks] != '"') {
                fail_at(&L, ks, "expected a key string", e);
                goto done;
            }
            if (skip_value(&L, &ke, e))
                goto done;
            i = ke;
            if (expect(&L, &i, ':', "expected ':' after a key", e))
                goto done;
            i = skip_ws(&L, i);
            if (ke - ks == 6 && memcmp(data + ks, "\"data\"", 6) == 0) {
                if (load_data_array(&L, &i, e))
                    goto done;
                seen_data = 1;
            } else {
                size_t vs = i;
                if (skip_value(&L, &i, e))
                    goto done;
                cJSON *v = qt_json_parse_slice(name, data, len, vs, i, e);
                if (!v)
                    goto done;
                if (ke - ks == 9 && memcmp(data + ks, "\"version\"", 9) == 0 && cJSON_IsString(v)) {
                    free(out->version);
                    out->version = strdup(v->valuestring);
                }
                cJSON_Delete(v);
                if (!out->version)
                    goto fail_oom;
            }
            i = skip_ws(&L, i);
            if (i < len && data[i] == ',') {
                i++;
                continue;
            }
            if (expect(&L, &i, '}', "expected ',' or '}' in the top-level object", e))
                goto done;
            break;
        }
    i = skip_ws(&L, i);
    if (i < len) {
        fail_at(&L, i, "unexpected data after the end of the JSON object", e);
        goto done;
    }
    if (!seen_data) {
        qt_fail(e, "%s: at $: missing field 'data' (is this a SQuAD file?)", name);
        goto done;
    }
    if (build_index(out))
        goto fail_oom;
    rc = 0;
    goto done;
fail_oom:
    qt_fail(e, "%s: out of memory", name);
done:
    if (rc)
        qt_squad_free(out);
    return rc;
}

int qt_squad_load(const char *path, qt_squad *out, qt_err *e)
{
    char *data;
    size_t len;
    memset(out, 0, sizeof *out);
    if (qt_read_file(path, 0, &data, &len, e))
        return -1;
    int rc = qt_squad_load_buffer(path, data, len, out, e);
    free(data);
    return rc;
}

static void free_answers(qt_answer *a, int n)
{
    for (int i = 0; i < n; i++)
        free(a[i].text);
    free(a);
}

void qt_squad_free(qt_squad *s)
{
    for (int i = 0; i < s->n_questions; i++) {
        qt_question *q = &s->questions[i];
        free(q->id);
        free(q->text);
        free_answers(q->answers, q->n_answers);
        free_answers(q->plausible, q->n_plausible);
    }
    for (int i = 0; i < s->n_paragraphs; i++)
        free(s->paragraphs[i].context);
    for (int i = 0; i < s->n_articles; i++)
        free(s->articles[i].title);
    if (s->index) {
        free(((id_index *)s->index)->slots);
        free(s->index);
    }
    free(s->questions);
    free(s->paragraphs);
    free(s->articles);
    free(s->path);
    free(s->version);
    memset(s, 0, sizeof *s);
}
