/* The official SQuAD normalisation on UTF-8 strings; see normalize.h for the
 * four steps. Each step works on an array of code points, like Python. */
#include "qa/normalize.h"

#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

typedef struct cp_buf {
    uint32_t *v;
    size_t n, cap;
} cp_buf;

static int cp_push(cp_buf *b, uint32_t c)
{
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64;
        uint32_t *v = realloc(b->v, cap * sizeof *v);
        if (!v)
            return -1;
        b->v = v;
        b->cap = cap;
    }
    b->v[b->n++] = c;
    return 0;
}

/* Strict UTF-8 decoding; every byte that does not start a valid sequence
 * becomes U+FFFD (JSON input is validated earlier, so this is a fallback). */
static int decode_utf8(const char *s, cp_buf *out)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t len = strlen(s), i = 0;
    while (i < len) {
        unsigned c = p[i];
        uint32_t cp = 0xFFFD;
        size_t need = 0;
        if (c < 0x80) {
            cp = c;
        } else if (c >= 0xC2 && c <= 0xDF) {
            need = 1;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            need = 2;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            need = 3;
            cp = c & 0x07;
        }
        size_t used = 1;
        if (need) {
            int ok = i + need < len;
            for (size_t k = 1; ok && k <= need; k++) {
                if ((p[i + k] & 0xC0) != 0x80)
                    ok = 0;
                else
                    cp = (cp << 6) | (p[i + k] & 0x3F);
            }
            if (ok && ((need == 2 && cp < 0x800) || (need == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
                       (cp >= 0xD800 && cp <= 0xDFFF)))
                ok = 0;
            if (ok)
                used = need + 1;
            else
                cp = 0xFFFD;
        } else if (c >= 0x80) {
            cp = 0xFFFD;
        }
        if (cp_push(out, cp) != 0)
            return -1;
        i += used;
    }
    return 0;
}

static char *encode_utf8(const uint32_t *v, size_t n)
{
    char *out = malloc(n * 4 + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n; i++)
        o += (size_t)utf8proc_encode_char((utf8proc_int32_t)v[i], (utf8proc_uint8_t *)out + o);
    out[o] = '\0';
    return out;
}

static int in_ranges(uint32_t c, const uint32_t (*r)[2], size_t n)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (c < r[mid][0])
            hi = mid;
        else if (c > r[mid][1])
            lo = mid + 1;
        else
            return 1;
    }
    return 0;
}

int qt_py_isspace(uint32_t c)
{
    /* Python: bidirectional class WS, B or S, or category Zs. That gives
     * \t..\r, \x1c..\x1f, space, \x85, U+00A0, U+1680, U+2000..U+200A,
     * U+2028, U+2029, U+202F, U+205F, U+3000 (not U+200B, not U+FEFF). */
    if (c < 0x80)
        return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20);
    if (c > 0x10FFFF)
        return 0;
    const utf8proc_property_t *p = utf8proc_get_property((utf8proc_int32_t)c);
    return p->category == UTF8PROC_CATEGORY_ZS || p->bidi_class == UTF8PROC_BIDI_CLASS_WS ||
           p->bidi_class == UTF8PROC_BIDI_CLASS_B || p->bidi_class == UTF8PROC_BIDI_CLASS_S;
}

int qt_py_isalnum(uint32_t c)
{
    /* Python: alphabetic (Lu Ll Lt Lm Lo) or with a numeric value, which
     * covers Nd Nl No and CJK ideographs (already Lo). */
    if (c > 0x10FFFF)
        return 0;
    switch (utf8proc_category((utf8proc_int32_t)c)) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_NO:
        return 1;
    default:
        return 0;
    }
}

/* PropList.txt Other_Lowercase and Other_Uppercase (Unicode 15): characters
 * that are Cased without being Lu, Ll or Lt. utf8proc has no such table. */
static const uint32_t other_cased[][2] = {
    {0x00AA, 0x00AA},   {0x00BA, 0x00BA},   {0x02B0, 0x02B8},   {0x02C0, 0x02C1},
    {0x02E0, 0x02E4},   {0x0345, 0x0345},   {0x037A, 0x037A},   {0x10FC, 0x10FC},
    {0x1D2C, 0x1D6A},   {0x1D78, 0x1D78},   {0x1D9B, 0x1DBF},   {0x2071, 0x2071},
    {0x207F, 0x207F},   {0x2090, 0x209C},   {0x2160, 0x217F},   {0x24B6, 0x24E9},
    {0x2C7C, 0x2C7D},   {0xA69C, 0xA69D},   {0xA770, 0xA770},   {0xA7F2, 0xA7F4},
    {0xA7F8, 0xA7F9},   {0xAB5C, 0xAB5F},   {0xAB69, 0xAB69},   {0x10780, 0x10780},
    {0x10783, 0x10785}, {0x10787, 0x107B0}, {0x107B2, 0x107BA}, {0x1E030, 0x1E06D},
    {0x1F130, 0x1F149}, {0x1F150, 0x1F169}, {0x1F170, 0x1F189},
};

int qt_py_iscased(uint32_t c)
{
    if (c > 0x10FFFF)
        return 0;
    switch (utf8proc_category((utf8proc_int32_t)c)) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
        return 1;
    default:
        return in_ranges(c, other_cased, sizeof other_cased / sizeof *other_cased);
    }
}

/* Word_Break MidLetter, MidNumLet and Single_Quote: the Case_Ignorable
 * characters that general categories do not give. */
static const uint32_t word_break_mid[][2] = {
    {0x0027, 0x0027}, {0x002E, 0x002E}, {0x003A, 0x003A}, {0x00B7, 0x00B7}, {0x0387, 0x0387},
    {0x055F, 0x055F}, {0x05F4, 0x05F4}, {0x2018, 0x2019}, {0x2024, 0x2024}, {0x2027, 0x2027},
    {0xFE13, 0xFE13}, {0xFE52, 0xFE52}, {0xFE55, 0xFE55}, {0xFF07, 0xFF07}, {0xFF0E, 0xFF0E},
    {0xFF1A, 0xFF1A},
};

int qt_py_iscaseignorable(uint32_t c)
{
    if (c > 0x10FFFF)
        return 0;
    switch (utf8proc_category((utf8proc_int32_t)c)) {
    case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_ME:
    case UTF8PROC_CATEGORY_CF:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_SK:
        return 1;
    default:
        return in_ranges(c, word_break_mid, sizeof word_break_mid / sizeof *word_break_mid);
    }
}

/* Python's rule for U+03A3 (unicodeobject.c, handle_capital_sigma): it
 * becomes final sigma when preceded by a cased letter (skipping
 * case-ignorables) and not followed by one (again skipping them). */
static uint32_t lower_capital_sigma(const uint32_t *v, size_t n, size_t i)
{
    size_t j = i;
    while (j > 0 && qt_py_iscaseignorable(v[j - 1]))
        j--;
    if (j == 0 || !qt_py_iscased(v[j - 1]))
        return 0x03C3;
    for (j = i + 1; j < n && qt_py_iscaseignorable(v[j]); j++)
        ;
    return (j == n || !qt_py_iscased(v[j])) ? 0x03C2 : 0x03C3;
}

/* str.lower on code points: utf8proc's simple lowercase mapping, plus the
 * two places where Python does more: U+0130 has a two-character full
 * mapping (SpecialCasing.txt), and U+03A3 depends on its context. */
static int lower_cps(const cp_buf *in, cp_buf *out)
{
    for (size_t i = 0; i < in->n; i++) {
        uint32_t c = in->v[i];
        if (c == 0x0130) {
            if (cp_push(out, 'i') != 0 || cp_push(out, 0x0307) != 0)
                return -1;
            continue;
        }
        uint32_t l = c == 0x03A3 ? lower_capital_sigma(in->v, in->n, i)
                                 : (uint32_t)utf8proc_tolower((utf8proc_int32_t)c);
        if (cp_push(out, l) != 0)
            return -1;
    }
    return 0;
}

char *qt_py_lower(const char *s)
{
    cp_buf in = {0}, low = {0};
    char *out = NULL;
    if (decode_utf8(s, &in) == 0 && lower_cps(&in, &low) == 0)
        out = encode_utf8(low.v, low.n);
    free(in.v);
    free(low.v);
    return out;
}

static int is_ascii_punct(uint32_t c)
{
    /* string.punctuation */
    return c < 0x80 && c != 0 && strchr("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", (int)c) != NULL;
}

static int is_word(uint32_t c)
{
    return c == '_' || qt_py_isalnum(c);
}

/* \b(a|an|the)\b matches exactly the maximal runs of word characters that
 * spell a, an or the: the two \b force the match to start and end a run. */
static int is_article(const uint32_t *w, size_t n)
{
    static const char *const articles[] = {"a", "an", "the"};
    for (size_t k = 0; k < 3; k++) {
        size_t len = strlen(articles[k]);
        if (len != n)
            continue;
        size_t i = 0;
        while (i < n && w[i] == (uint32_t)(unsigned char)articles[k][i])
            i++;
        if (i == n)
            return 1;
    }
    return 0;
}

char *qt_squad_normalize(const char *s)
{
    cp_buf in = {0}, low = {0}, out = {0};
    char *result = NULL;
    if (decode_utf8(s, &in) != 0 || lower_cps(&in, &low) != 0)
        goto done;

    /* Punctuation, in place. */
    size_t n = 0;
    for (size_t i = 0; i < low.n; i++)
        if (!is_ascii_punct(low.v[i]))
            low.v[n++] = low.v[i];
    low.n = n;

    /* Articles become a space; then whitespace runs become one space and
     * leading/trailing whitespace goes. One pass does both: pending_space
     * remembers a separator seen since the last token character. */
    int pending_space = 0;
    for (size_t i = 0; i < low.n;) {
        uint32_t c = low.v[i];
        size_t run = 0;
        while (i + run < low.n && is_word(low.v[i + run]))
            run++;
        if (run > 0 && is_article(low.v + i, run)) {
            pending_space = 1; /* the replacement " " is whitespace */
            i += run;
            continue;
        }
        size_t take = run > 0 ? run : 1;
        if (run == 0 && qt_py_isspace(c)) {
            pending_space = 1;
            i++;
            continue;
        }
        if (pending_space && out.n > 0 && cp_push(&out, ' ') != 0)
            goto done;
        pending_space = 0;
        for (size_t k = 0; k < take; k++)
            if (cp_push(&out, low.v[i + k]) != 0)
                goto done;
        i += take;
    }
    result = encode_utf8(out.v, out.n);
done:
    free(in.v);
    free(low.v);
    free(out.v);
    return result;
}
