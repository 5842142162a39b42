/* Ids back to text, as Hugging Face's Tokenizer.decode: ids become token
 * texts (added tokens first, then the model's vocabulary; unknown ids are
 * dropped, special tokens too when asked), the tokenizer.json's decoder
 * rewrites the list of token texts (each decoder's decode_chain in turn),
 * and the pieces are concatenated. Without a decoder the tokens are joined
 * with spaces. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tok/unigram.h"
#include "util/json.h"

typedef enum dec_kind {
    DEC_METASPACE,
    DEC_REPLACE,
    DEC_BYTE_FALLBACK,
    DEC_FUSE,
    DEC_STRIP,
    DEC_BYTE_LEVEL,
    DEC_WORDPIECE,
    DEC_BPE,
    DEC_SEQUENCE,
    DEC_UNSUPPORTED,
} dec_kind;

struct qt_tok_decoder {
    dec_kind kind;
    qt_metaspace ms;         /* Metaspace */
    char *from, *to;         /* Replace; WordPiece prefix in `from`; BPE suffix in `from` */
    uint32_t strip_cp;       /* Strip */
    size_t strip_start, strip_stop;
    bool cleanup;            /* WordPiece */
    char *type;              /* unsupported: the type, for the message */
    qt_tok_decoder **items;  /* Sequence */
    size_t n_items;
};

/* A growable list of malloc'd strings. */
typedef struct strs {
    char **v;
    size_t n, cap;
} strs;

static void strs_push(strs *l, char *s)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 16;
        l->v = qt_tok_xrealloc(l->v, l->cap * sizeof *l->v);
    }
    l->v[l->n++] = s;
}

static void strs_free(strs *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof *l);
}

/* A growable byte buffer. */
typedef struct buf {
    char *s;
    size_t len, cap;
} buf;

static void buf_add(buf *b, const void *p, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->s = qt_tok_xrealloc(b->s, b->cap);
    }
    memcpy(b->s + b->len, p, n);
    b->len += n;
    b->s[b->len] = 0;
}

static void buf_cp(buf *b, uint32_t cp)
{
    char u[4];
    buf_add(b, u, (size_t)qt_tok_utf8_encode(cp, u));
}

static char *buf_take(buf *b)
{
    if (!b->s)
        return qt_tok_xstrndup("", 0);
    return b->s;
}

/* ---- parsing ---- */

static const cJSON *jfield(const cJSON *j, const char *key)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(j, key);
    return it && !cJSON_IsNull(it) ? it : NULL;
}

static int need_string(const cJSON *j, const char *key, const char *name, const char *jpath, const char **out,
                       qt_err *e)
{
    const cJSON *it = jfield(j, key);
    if (!cJSON_IsString(it))
        return it ? qt_fail(e, "%s: at %s.%s: expected a string, got %s", name, jpath, key, qt_json_type_name(it))
                  : qt_fail(e, "%s: at %s: missing field '%s'", name, jpath, key);
    *out = it->valuestring;
    return 0;
}

static int need_count(const cJSON *j, const char *key, const char *name, const char *jpath, size_t *out, qt_err *e)
{
    const cJSON *it = jfield(j, key);
    if (!cJSON_IsNumber(it) || it->valuedouble < 0 || it->valuedouble > 1e6 ||
        it->valuedouble != (double)(long)it->valuedouble)
        return it ? qt_fail(e, "%s: at %s.%s: expected a count", name, jpath, key)
                  : qt_fail(e, "%s: at %s: missing field '%s'", name, jpath, key);
    *out = (size_t)it->valuedouble;
    return 0;
}

static int parse(const cJSON *j, const char *name, const char *jpath, qt_tok_decoder *d, int depth, qt_err *e)
{
    if (depth > 16)
        return qt_fail(e, "%s: at %s: decoders nested too deeply", name, jpath);
    if (!cJSON_IsObject(j))
        return qt_fail(e, "%s: at %s: expected an object, got %s", name, jpath, qt_json_type_name(j));
    const char *type;
    if (need_string(j, "type", name, jpath, &type, e) != 0)
        return -1;
    const char *s;
    if (strcmp(type, "Metaspace") == 0) {
        d->kind = DEC_METASPACE;
        return qt_metaspace_from_json(j, name, jpath, &d->ms, e);
    }
    if (strcmp(type, "Replace") == 0) {
        d->kind = DEC_REPLACE;
        const cJSON *pat = jfield(jfield(j, "pattern"), "String");
        if (!cJSON_IsString(pat)) {
            /* only string patterns are written by the converters */
            d->kind = DEC_UNSUPPORTED;
            d->type = qt_tok_xstrndup("Replace with a Regex pattern", 28);
            return 0;
        }
        if (need_string(j, "content", name, jpath, &s, e) != 0)
            return -1;
        d->from = qt_tok_xstrndup(pat->valuestring, strlen(pat->valuestring));
        d->to = qt_tok_xstrndup(s, strlen(s));
        return 0;
    }
    if (strcmp(type, "ByteFallback") == 0) {
        d->kind = DEC_BYTE_FALLBACK;
        return 0;
    }
    if (strcmp(type, "Fuse") == 0) {
        d->kind = DEC_FUSE;
        return 0;
    }
    if (strcmp(type, "Strip") == 0) {
        d->kind = DEC_STRIP;
        uint32_t n;
        if (need_string(j, "content", name, jpath, &s, e) != 0 || need_count(j, "start", name, jpath, &d->strip_start, e) ||
            need_count(j, "stop", name, jpath, &d->strip_stop, e))
            return -1;
        if (!*s || (d->strip_cp = qt_tok_utf8_decode(s, &n), s[n] != 0))
            return qt_fail(e, "%s: at %s.content: expected exactly one character", name, jpath);
        return 0;
    }
    if (strcmp(type, "ByteLevel") == 0) {
        d->kind = DEC_BYTE_LEVEL;
        return 0;
    }
    if (strcmp(type, "WordPiece") == 0) {
        d->kind = DEC_WORDPIECE;
        const cJSON *prefix = jfield(j, "prefix"), *cleanup = jfield(j, "cleanup");
        s = cJSON_IsString(prefix) ? prefix->valuestring : "##";
        d->from = qt_tok_xstrndup(s, strlen(s));
        d->cleanup = cleanup ? cJSON_IsTrue(cleanup) : true;
        return 0;
    }
    if (strcmp(type, "BPEDecoder") == 0) {
        d->kind = DEC_BPE;
        const cJSON *suffix = jfield(j, "suffix");
        s = cJSON_IsString(suffix) ? suffix->valuestring : "</w>";
        d->from = qt_tok_xstrndup(s, strlen(s));
        return 0;
    }
    if (strcmp(type, "Sequence") == 0) {
        d->kind = DEC_SEQUENCE;
        const cJSON *items = jfield(j, "decoders");
        if (!cJSON_IsArray(items))
            return qt_fail(e, "%s: at %s.decoders: expected an array, got %s", name, jpath, qt_json_type_name(items));
        size_t n = (size_t)cJSON_GetArraySize(items);
        d->items = qt_tok_xcalloc(n, sizeof *d->items);
        const cJSON *it;
        cJSON_ArrayForEach(it, items)
        {
            char sub[256];
            snprintf(sub, sizeof sub, "%s.decoders[%zu]", jpath, d->n_items);
            qt_tok_decoder *child = qt_tok_xcalloc(1, sizeof *child);
            d->items[d->n_items++] = child;
            if (parse(it, name, sub, child, depth + 1, e) != 0)
                return -1;
        }
        return 0;
    }
    d->kind = DEC_UNSUPPORTED;
    d->type = qt_tok_xstrndup(type, strlen(type));
    return 0;
}

int qt_tok_decoder_from_json(const cJSON *j, const char *name, const char *jpath, qt_tok_decoder **out, qt_err *e)
{
    qt_tok_decoder *d = qt_tok_xcalloc(1, sizeof *d);
    if (parse(j, name, jpath, d, 0, e) != 0) {
        qt_tok_decoder_free(d);
        *out = NULL;
        return -1;
    }
    *out = d;
    return 0;
}

void qt_tok_decoder_free(qt_tok_decoder *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->n_items; i++)
        qt_tok_decoder_free(d->items[i]);
    free(d->items);
    free(d->from);
    free(d->to);
    free(d->type);
    free(d);
}

/* ---- decode_chain of each decoder ---- */

/* s with every occurrence of `from` replaced by `to` (from non-empty). */
static char *replace_all(const char *s, const char *from, const char *to)
{
    buf b = {0};
    size_t flen = strlen(from), tlen = strlen(to);
    const char *p = s, *hit;
    while (flen && (hit = strstr(p, from))) {
        buf_add(&b, p, (size_t)(hit - p));
        buf_add(&b, to, tlen);
        p = hit + flen;
    }
    buf_add(&b, p, strlen(p));
    return buf_take(&b);
}

/* Rust's String::from_utf8_lossy: each maximal invalid subpart -> U+FFFD. */
static void lossy_utf8(buf *out, const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned char c = s[i];
        size_t need = c < 0x80 ? 0 : c >= 0xC2 && c <= 0xDF ? 1 : c >= 0xE0 && c <= 0xEF ? 2 : c >= 0xF0 && c <= 0xF4 ? 3 : 9;
        if (need == 0) {
            buf_add(out, s + i, 1);
            i++;
            continue;
        }
        if (need == 9) {
            buf_cp(out, 0xFFFD);
            i++;
            continue;
        }
        size_t k = 1;
        for (; k <= need && i + k < n; k++) {
            unsigned char lo = 0x80, hi = 0xBF;
            if (k == 1) {
                if (c == 0xE0)
                    lo = 0xA0;
                else if (c == 0xED)
                    hi = 0x9F;
                else if (c == 0xF0)
                    lo = 0x90;
                else if (c == 0xF4)
                    hi = 0x8F;
            }
            if (s[i + k] < lo || s[i + k] > hi)
                break;
        }
        if (k == need + 1) {
            buf_add(out, s + i, k);
        } else {
            buf_cp(out, 0xFFFD);
        }
        i += k;
    }
}

/* "<0xNN>" as Rust's u8::from_str_radix(&token[3..5], 16) reads it. */
static int byte_token(const char *t)
{
    if (strlen(t) != 6 || strncmp(t, "<0x", 3) != 0 || t[5] != '>')
        return -1;
    int v = 0;
    for (int i = 3; i < 5; i++) {
        char c = t[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (i == 3 && c == '+')
            continue; /* a leading sign is allowed */
        if (d < 0)
            return -1;
        v = v * 16 + d;
    }
    return v;
}

static void flush_bytes(strs *out, buf *bytes)
{
    if (!bytes->len)
        return;
    if (qt_utf8_invalid_offset(bytes->s, bytes->len) < 0) {
        strs_push(out, qt_tok_xstrndup(bytes->s, bytes->len));
    } else {
        for (size_t i = 0; i < bytes->len; i++)
            strs_push(out, qt_tok_xstrndup("\xEF\xBF\xBD", 3));
    }
    bytes->len = 0;
}

static const char *const wordpiece_cleanups[][2] = {
    {" .", "."}, {" ?", "?"}, {" !", "!"}, {" ,", ","}, {" ' ", "'"}, {" n't", "n't"},
    {" 'm", "'m"}, {" do not", " don't"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"},
};

static int decode_chain(const qt_tok_decoder *d, strs *toks, qt_err *e)
{
    strs out = {0};
    switch (d->kind) {
    case DEC_SEQUENCE:
        for (size_t i = 0; i < d->n_items; i++)
            if (decode_chain(d->items[i], toks, e) != 0)
                return -1;
        return 0;
    case DEC_UNSUPPORTED:
        return qt_fail(e, "decoding with a %s decoder is not supported", d->type);
    case DEC_METASPACE:
        for (size_t i = 0; i < toks->n; i++) {
            buf b = {0};
            for (const char *p = toks->v[i]; *p;) {
                uint32_t n, c = qt_tok_utf8_decode(p, &n);
                if (c != d->ms.replacement)
                    buf_add(&b, p, n);
                else if (i != 0 || d->ms.prepend == QT_PREPEND_NEVER)
                    buf_add(&b, " ", 1);
                p += n;
            }
            strs_push(&out, buf_take(&b));
        }
        break;
    case DEC_REPLACE:
        for (size_t i = 0; i < toks->n; i++)
            strs_push(&out, replace_all(toks->v[i], d->from, d->to));
        break;
    case DEC_BPE:
        for (size_t i = 0; i < toks->n; i++)
            strs_push(&out, replace_all(toks->v[i], d->from, i + 1 == toks->n ? "" : " "));
        break;
    case DEC_BYTE_FALLBACK: {
        buf bytes = {0};
        for (size_t i = 0; i < toks->n; i++) {
            int b = byte_token(toks->v[i]);
            if (b >= 0) {
                unsigned char c = (unsigned char)b;
                buf_add(&bytes, &c, 1);
                continue;
            }
            flush_bytes(&out, &bytes);
            strs_push(&out, qt_tok_xstrndup(toks->v[i], strlen(toks->v[i])));
        }
        flush_bytes(&out, &bytes);
        free(bytes.s);
        break;
    }
    case DEC_FUSE: {
        buf b = {0};
        for (size_t i = 0; i < toks->n; i++)
            buf_add(&b, toks->v[i], strlen(toks->v[i]));
        strs_push(&out, buf_take(&b));
        break;
    }
    case DEC_STRIP:
        for (size_t i = 0; i < toks->n; i++) {
            const char *t = toks->v[i];
            size_t len = strlen(t), a = 0, z = len;
            uint32_t n;
            for (size_t k = 0; k < d->strip_start && a < len && qt_tok_utf8_decode(t + a, &n) == d->strip_cp; k++)
                a += n;
            for (size_t k = 0; k < d->strip_stop && z > a; k++) {
                size_t p = z - 1;
                while (p > a && ((unsigned char)t[p] & 0xC0) == 0x80)
                    p--;
                if (qt_tok_utf8_decode(t + p, &n) != d->strip_cp)
                    break;
                z = p;
            }
            strs_push(&out, qt_tok_xstrndup(t + a, z - a));
        }
        break;
    case DEC_BYTE_LEVEL: {
        buf raw = {0}, b = {0};
        for (size_t i = 0; i < toks->n; i++) {
            size_t mark = raw.len;
            bool all = true;
            for (const char *p = toks->v[i]; *p && all;) {
                uint32_t n;
                int byte = qt_byte_level_byte(qt_tok_utf8_decode(p, &n));
                if (byte < 0) {
                    all = false;
                } else {
                    unsigned char c = (unsigned char)byte;
                    buf_add(&raw, &c, 1);
                }
                p += n;
            }
            if (!all) {
                raw.len = mark;
                buf_add(&raw, toks->v[i], strlen(toks->v[i]));
            }
        }
        lossy_utf8(&b, (const unsigned char *)raw.s, raw.len);
        free(raw.s);
        strs_push(&out, buf_take(&b));
        break;
    }
    case DEC_WORDPIECE:
        for (size_t i = 0; i < toks->n; i++) {
            const char *t = toks->v[i];
            size_t plen = strlen(d->from);
            char *s;
            if (i == 0) {
                s = qt_tok_xstrndup(t, strlen(t));
            } else if (strncmp(t, d->from, plen) == 0) {
                s = qt_tok_xstrndup(t + plen, strlen(t + plen));
            } else {
                buf b = {0};
                buf_add(&b, " ", 1);
                buf_add(&b, t, strlen(t));
                s = buf_take(&b);
            }
            if (d->cleanup)
                for (size_t k = 0; k < sizeof wordpiece_cleanups / sizeof *wordpiece_cleanups; k++) {
                    char *r = replace_all(s, wordpiece_cleanups[k][0], wordpiece_cleanups[k][1]);
                    free(s);
                    s = r;
                }
            strs_push(&out, s);
        }
        break;
    }
    strs_free(toks);
    *toks = out;
    return 0;
}

char *qt_tok_decode_tokens(const qt_tok_decoder *d, const char *const *tokens, size_t n, qt_err *e)
{
    buf b = {0};
    if (!d) {
        for (size_t i = 0; i < n; i++) {
            if (i)
                buf_add(&b, " ", 1);
            buf_add(&b, tokens[i], strlen(tokens[i]));
        }
        return buf_take(&b);
    }
    strs toks = {0};
    for (size_t i = 0; i < n; i++)
        strs_push(&toks, qt_tok_xstrndup(tokens[i], strlen(tokens[i])));
    if (decode_chain(d, &toks, e) != 0) {
        strs_free(&toks);
        return NULL;
    }
    for (size_t i = 0; i < toks.n; i++)
        buf_add(&b, toks.v[i], strlen(toks.v[i]));
    strs_free(&toks);
    return buf_take(&b);
}

/* HF's is_special_token: the text of a special added token. */
static bool is_special(const qt_tokenizer *t, const char *tok)
{
    for (size_t i = 0; i < t->n_added; i++)
        if (t->added[i].special && strcmp(t->added[i].content, tok) == 0)
            return true;
    return false;
}

int qt_tokenizer_decode(const qt_tokenizer *t, const int32_t *ids, size_t n, int skip_special, char **out, qt_err *e)
{
    const char **toks = qt_tok_xcalloc(n, sizeof *toks);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        const char *tok = qt_tokenizer_id_to_token(t, ids[i]);
        if (tok && !(skip_special && is_special(t, tok)))
            toks[k++] = tok;
    }
    *out = qt_tok_decode_tokens(t->decoder, toks, k, e);
    free(toks);
    return *out ? 0 : -1;
}
