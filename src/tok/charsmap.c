/* SentencePiece's precompiled_charsmap as Hugging Face's Precompiled
 * normalizer applies it, and Replace with a run-of-one-character regex.
 *
 * The charsmap is what sentencepiece's normalizer builder writes
 * (normalizer_spec.precompiled_charsmap): a u32 with the size in bytes of a
 * Darts-clone double array, the array's 32-bit units, then NUL-terminated
 * replacement strings. A key is a UTF-8 byte string; the value at its leaf
 * is the offset of its replacement in the strings.
 *
 * HF (spm_precompiled + normalizers/precompiled.rs) differs from
 * sentencepiece itself, and we follow HF: the text is cut into extended
 * grapheme clusters; a cluster under 6 bytes is looked up whole and, when
 * a key is a prefix of it, the SHORTEST such key's replacement stands for
 * the whole cluster; otherwise each character is looked up alone (its
 * shortest matching prefix, i.e. the character itself or nothing). The
 * alignment bookkeeping copies HF's `replace` helper, quirks included:
 * growth marks the last new characters as insertions, shrinkage is charged
 * to the last character written so far (even one from an earlier cluster),
 * and a deletion with nothing written before it is not recorded at all. */
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "tok/unigram.h"
#include "util/json.h"

struct qt_charsmap {
    uint32_t *units;
    size_t n_units;
    char *strings; /* NUL-terminated entries, plus one NUL at the very end */
    size_t strings_len;
};

/* ---- loading ---- */

static int b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* Standard base64; padding optional, nothing else allowed. */
static int b64_decode(const char *s, uint8_t **out, size_t *out_len, qt_err *e)
{
    size_t n = strlen(s);
    while (n > 0 && s[n - 1] == '=')
        n--;
    if (strlen(s) - n > 2 || n % 4 == 1)
        return qt_fail(e, "bad base64 length");
    uint8_t *buf = qt_tok_xrealloc(NULL, n / 4 * 3 + 3);
    size_t len = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        int v = b64_value((unsigned char)s[i]);
        if (v < 0) {
            free(buf);
            return qt_fail(e, "character %zu is not base64", i);
        }
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            buf[len++] = (uint8_t)(acc >> bits);
        }
    }
    *out = buf;
    *out_len = len;
    return 0;
}

int qt_charsmap_from_blob(const uint8_t *blob, size_t len, qt_charsmap **out, qt_err *e)
{
    *out = NULL;
    if (len < 4)
        return qt_fail(e, "charsmap of %zu bytes is too short for its header", len);
    uint32_t trie_bytes = (uint32_t)blob[0] | (uint32_t)blob[1] << 8 | (uint32_t)blob[2] << 16 |
                          (uint32_t)blob[3] << 24;
    size_t n_units = trie_bytes / 4;
    if (n_units > (len - 4) / 4)
        return qt_fail(e, "charsmap trie of %u bytes does not fit in %zu bytes", trie_bytes, len);
    const uint8_t *strings = blob + 4 + n_units * 4;
    size_t strings_len = len - 4 - n_units * 4;
    if (qt_utf8_invalid_offset((const char *)strings, strings_len) >= 0)
        return qt_fail(e, "charsmap replacement strings are not valid UTF-8");
    qt_charsmap *cm = qt_tok_xcalloc(1, sizeof *cm);
    cm->n_units = n_units;
    cm->units = qt_tok_xrealloc(NULL, (n_units ? n_units : 1) * sizeof *cm->units);
    for (size_t i = 0; i < n_units; i++) {
        const uint8_t *p = blob + 4 + 4 * i;
        cm->units[i] = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    }
    cm->strings = qt_tok_xstrndup((const char *)strings, strings_len);
    cm->strings_len = strings_len;
    *out = cm;
    return 0;
}

int qt_charsmap_from_base64(const char *b64, qt_charsmap **out, qt_err *e)
{
    uint8_t *blob = NULL;
    size_t len = 0;
    *out = NULL;
    if (b64_decode(b64, &blob, &len, e) != 0)
        return -1;
    int rc = qt_charsmap_from_blob(blob, len, out, e);
    free(blob);
    return rc;
}

void qt_charsmap_free(qt_charsmap *cm)
{
    if (!cm)
        return;
    free(cm->units);
    free(cm->strings);
    free(cm);
}

/* ---- lookup: Darts-clone's unit layout ---- */

static bool unit_has_leaf(uint32_t u)
{
    return (u >> 8) & 1;
}

static uint32_t unit_value(uint32_t u)
{
    return u & 0x7FFFFFFFu;
}

static uint32_t unit_label(uint32_t u)
{
    return u & (0x80000000u | 0xFFu);
}

static uint32_t unit_offset(uint32_t u)
{
    return (u >> 10) << ((u & (1u << 9)) >> 6);
}

const char *qt_charsmap_lookup(const qt_charsmap *cm, const char *s, size_t len, size_t *out_len)
{
    if (cm->n_units == 0)
        return NULL;
    size_t pos = unit_offset(cm->units[0]);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == 0) /* the trie's keys are C strings */
            return NULL;
        pos ^= c;
        if (pos >= cm->n_units || unit_label(cm->units[pos]) != c)
            return NULL;
        uint32_t u = cm->units[pos];
        pos ^= unit_offset(u);
        if (unit_has_leaf(u)) {
            /* the first leaf is the shortest key: HF takes that one */
            if (pos >= cm->n_units)
                return NULL;
            size_t at = unit_value(cm->units[pos]);
            if (at > cm->strings_len || (at < cm->strings_len && (cm->strings[at] & 0xC0) == 0x80))
                return NULL; /* points outside the strings or into a character */
            *out_len = strlen(cm->strings + at);
            return cm->strings + at;
        }
    }
    return NULL;
}

/* ---- the normalizer ---- */

static uint32_t count_chars(const char *s, size_t len)
{
    uint32_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += ((unsigned char)s[i] & 0xC0) != 0x80;
    return n;
}

/* HF's `replace(transformations, old, new)`. */
static void push_replacement(qt_tok_edits *ed, uint32_t old_chars, const char *rep, size_t rep_len)
{
    size_t first = ed->n;
    for (size_t i = 0; i < rep_len;) {
        uint32_t n;
        uint32_t c = qt_tok_utf8_decode(rep + i, &n);
        qt_tok_edits_push(ed, c, 0);
        i += n;
    }
    int64_t diff = (int64_t)(ed->n - first) - (int64_t)old_chars;
    if (diff > 0) {
        for (size_t k = ed->n; k > ed->n - (size_t)diff; k--)
            ed->v[k - 1].change = 1;
    } else if (diff < 0 && ed->n > 0) {
        ed->v[ed->n - 1].change += (int32_t)diff;
    }
}

/* End (bytes) of the extended grapheme cluster that starts at byte i. */
static uint32_t grapheme_end(const char *s, uint32_t len, uint32_t i)
{
    uint32_t n;
    utf8proc_int32_t prev = (utf8proc_int32_t)qt_tok_utf8_decode(s + i, &n);
    utf8proc_int32_t state = 0;
    i += n;
    while (i < len) {
        utf8proc_int32_t c = (utf8proc_int32_t)qt_tok_utf8_decode(s + i, &n);
        if (utf8proc_grapheme_break_stateful(prev, c, &state))
            break;
        prev = c;
        i += n;
    }
    return i;
}

void qt_charsmap_normalize(const qt_charsmap *cm, qt_nstr *ns)
{
    qt_tok_edits ed = {0};
    bool modified = false;
    size_t rep_len;
    for (uint32_t g = 0; g < ns->len;) {
        uint32_t end = grapheme_end(ns->s, ns->len, g);
        const char *rep;
        if (end - g < 6 && (rep = qt_charsmap_lookup(cm, ns->s + g, end - g, &rep_len))) {
            modified = true;
            push_replacement(&ed, count_chars(ns->s + g, end - g), rep, rep_len);
            g = end;
            continue;
        }
        while (g < end) {
            uint32_t n;
            uint32_t c = qt_tok_utf8_decode(ns->s + g, &n);
            if ((rep = qt_charsmap_lookup(cm, ns->s + g, n, &rep_len))) {
                modified = true;
                push_replacement(&ed, 1, rep, rep_len);
            } else {
                qt_tok_edits_push(&ed, c, 0);
            }
            g += n;
        }
    }
    if (modified)
        qt_nstr_transform(ns, ed.v, ed.n, 0);
    free(ed.v);
}

/* ---- Replace with a run regex ---- */

/* A decimal count at *p (advanced); -1 when none. */
static long parse_count(const char **p)
{
    if (**p < '0' || **p > '9')
        return -1;
    long v = 0;
    while (**p >= '0' && **p <= '9') {
        v = v * 10 + (**p - '0');
        if (v > 1000000)
            return -1;
        (*p)++;
    }
    return v;
}

int qt_tok_run_regex_parse(const char *pattern, qt_tok_run_regex *out)
{
    const char *p = pattern;
    uint32_t n;
    if (!*p)
        return -1;
    if (*p == '\\') {
        p++;
        /* an escaped punctuation character stands for itself */
        if (!*p || (unsigned char)*p >= 0x80 || !strchr(" .^$|?*+()[]{}\\/-", *p))
            return -1;
        out->cp = (unsigned char)*p++;
    } else {
        if (qt_utf8_invalid_offset(p, strlen(p)) >= 0 || strchr(".^$|?*+()[]{}", *p))
            return -1;
        out->cp = qt_tok_utf8_decode(p, &n);
        p += n;
    }
    if (*p == '+') {
        out->min = 1;
        out->max = 0;
        p++;
    } else if (*p == '{') {
        p++;
        long lo = parse_count(&p), hi = lo;
        if (lo < 1)
            return -1;
        if (*p == ',') {
            p++;
            hi = *p == '}' ? 0 : parse_count(&p);
            if (hi != 0 && hi < lo)
                return -1;
        }
        if (*p++ != '}')
            return -1;
        out->min = (uint32_t)lo;
        out->max = (uint32_t)hi;
    } else {
        return -1;
    }
    return *p ? -1 : 0;
}

void qt_tok_replace_runs(qt_nstr *ns, const qt_tok_run_regex *re, const char *with)
{
    char cbuf[4];
    int clen = qt_tok_utf8_encode(re->cp, cbuf);
    size_t wlen = strlen(with);
    /* at most one replacement per min characters matched */
    size_t cap = (size_t)ns->len + (size_t)ns->len / re->min * wlen + 1;
    char *s = NULL;
    qt_tok_align *al = NULL;
    size_t len = 0;
    uint32_t copied = 0; /* ns bytes before this are in s */
    for (uint32_t i = 0; i < ns->len;) {
        if (ns->len - i < (uint32_t)clen || memcmp(ns->s + i, cbuf, (size_t)clen) != 0) {
            i++;
            continue;
        }
        uint32_t run = 0, j = i;
        while (j + (uint32_t)clen <= ns->len && memcmp(ns->s + j, cbuf, (size_t)clen) == 0) {
            run++;
            j += (uint32_t)clen;
        }
        /* greedy matches from the start of the run */
        uint32_t at = i, left = run;
        while (left >= re->min) {
            uint32_t take = re->max && left > re->max ? re->max : left;
            if (!s) {
                s = qt_tok_xrealloc(NULL, cap);
                al = qt_tok_xrealloc(NULL, cap * sizeof *al);
            }
            memcpy(s + len, ns->s + copied, at - copied);
            memcpy(al + len, ns->al + copied, (at - copied) * sizeof *al);
            len += at - copied;
            uint32_t end = at + take * (uint32_t)clen;
            qt_tok_align a = ns->al[end - 1];
            memcpy(s + len, with, wlen);
            for (size_t k = 0; k < wlen; k++)
                al[len + k] = a;
            len += wlen;
            copied = at = end;
            left -= take;
        }
        i = j;
    }
    if (!s)
        return;
    memcpy(s + len, ns->s + copied, ns->len - copied);
    memcpy(al + len, ns->al + copied, (ns->len - copied) * sizeof *al);
    len += ns->len - copied;
    s[len] = 0;
    free(ns->s);
    free(ns->al);
    ns->s = s;
    ns->al = al;
    ns->len = (uint32_t)len;
}
