/* Character classes and normalization forms as Hugging Face's tokenizers
 * see them. utf8proc (Unicode 15) gives the categories; HF takes some of
 * its classes from tables of other Unicode versions, so each class below
 * lists the code points where HF differs from utf8proc. Those lists were
 * found by asking the npm `tokenizers` package about every code point
 * (tests/ref/tokenizers_ref.js unicode) and are checked by test_tok. */
#include <stdlib.h>
#include <utf8proc.h>

#include "tok/tok_internal.h"

typedef struct cp_range {
    uint32_t lo, hi;
} cp_range;

static bool in_ranges(const cp_range *r, size_t n, uint32_t c)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (c < r[mid].lo)
            hi = mid;
        else if (c > r[mid].hi)
            lo = mid + 1;
        else
            return true;
    }
    return false;
}

#define N_RANGES(t) (sizeof(t) / sizeof((t)[0]))

/* Punctuation (P*) in utf8proc that HF's punctuation table predates. */
static const cp_range punct_not_hf[] = {
    {0x061D, 0x061D},   {0x09FD, 0x09FD},   {0x0A76, 0x0A76},   {0x0C77, 0x0C77},   {0x0C84, 0x0C84},
    {0x1B7D, 0x1B7E},   {0x2E43, 0x2E4F},   {0x2E52, 0x2E5D},   {0x10EAD, 0x10EAD}, {0x10F55, 0x10F59},
    {0x10F86, 0x10F89}, {0x1144B, 0x1144F}, {0x1145A, 0x1145B}, {0x1145D, 0x1145D}, {0x11660, 0x1166C},
    {0x116B9, 0x116B9}, {0x1183B, 0x1183B}, {0x11944, 0x11946}, {0x119E2, 0x119E2}, {0x11A3F, 0x11A46},
    {0x11A9A, 0x11A9C}, {0x11A9E, 0x11AA2}, {0x11B00, 0x11B09}, {0x11C41, 0x11C45}, {0x11C70, 0x11C71},
    {0x11EF7, 0x11EF8}, {0x11F43, 0x11F4F}, {0x11FFF, 0x11FFF}, {0x12FF1, 0x12FF2}, {0x16E97, 0x16E9A},
    {0x16FE2, 0x16FE2}, {0x1E95E, 0x1E95F},
};

/* Punctuation in HF's (older) table that utf8proc files elsewhere. */
static const cp_range punct_only_hf[] = {
    {0x166D, 0x166D},
    {0x111C9, 0x111C9},
};

/* Format characters (Cf) that HF's table predates, so clean_text keeps them. */
static const cp_range control_not_hf[] = {
    {0x0890, 0x0891},
    {0x08E2, 0x08E2},
    {0x110CD, 0x110CD},
    {0x13430, 0x1343F},
};

/* Letters and numbers that HF's regex engine (a newer Unicode) knows and
 * utf8proc does not yet. */
static const cp_range letter_extra[] = {
    {0x1C89, 0x1C8A},   {0xA7CB, 0xA7CD},   {0xA7DA, 0xA7DC},   {0x105C0, 0x105F3}, {0x10D4A, 0x10D65},
    {0x10D6F, 0x10D85}, {0x10EC2, 0x10EC4}, {0x1123F, 0x11240}, {0x11380, 0x11389}, {0x1138B, 0x1138B},
    {0x1138E, 0x1138E}, {0x11390, 0x113B5}, {0x113B7, 0x113B7}, {0x113D1, 0x113D1}, {0x113D3, 0x113D3},
    {0x11BC0, 0x11BE0}, {0x11F02, 0x11F02}, {0x11F04, 0x11F10}, {0x11F12, 0x11F33}, {0x1342F, 0x1342F},
    {0x13441, 0x13446}, {0x13460, 0x143FA}, {0x16100, 0x1611D}, {0x16D40, 0x16D6C}, {0x18CFF, 0x18CFF},
    {0x1B132, 0x1B132}, {0x1B155, 0x1B155}, {0x1DF25, 0x1DF2A}, {0x1E030, 0x1E06D}, {0x1E4D0, 0x1E4EB},
    {0x1E5D0, 0x1E5ED}, {0x1E5F0, 0x1E5F0}, {0x2B739, 0x2B739}, {0x2EBF0, 0x2EE5D}, {0x31350, 0x323AF},
};

static const cp_range number_extra[] = {
    {0x10D40, 0x10D49}, {0x116D0, 0x116E3}, {0x11BF0, 0x11BF9}, {0x11F50, 0x11F59}, {0x16130, 0x16139},
    {0x16D70, 0x16D79}, {0x1CCF0, 0x1CCF9}, {0x1D2C0, 0x1D2D3}, {0x1E4F0, 0x1E4F9}, {0x1E5F1, 0x1E5FA},
};

/* Non-spacing marks (Mn) that HF's (older) table lacks, so BERT's
 * strip_accents keeps them; and one it still counts as Mn. */
static const cp_range nonspacing_not_hf[] = {
    {0x07FD, 0x07FD},   {0x0898, 0x089F},   {0x08CA, 0x08E1},   {0x09FE, 0x09FE},   {0x0AFA, 0x0AFF},
    {0x0B55, 0x0B55},   {0x0C04, 0x0C04},   {0x0C3C, 0x0C3C},   {0x0D00, 0x0D00},   {0x0D3B, 0x0D3C},
    {0x0D81, 0x0D81},   {0x0EBA, 0x0EBA},   {0x0ECE, 0x0ECE},   {0x180F, 0x180F},   {0x1885, 0x1886},
    {0x1ABF, 0x1ACE},   {0x1DF6, 0x1DFB},   {0xA82C, 0xA82C},   {0xA8C5, 0xA8C5},   {0xA8FF, 0xA8FF},
    {0xA9BD, 0xA9BD},   {0x10D24, 0x10D27}, {0x10EAB, 0x10EAC}, {0x10EFD, 0x10EFF}, {0x10F46, 0x10F50},
    {0x10F82, 0x10F85}, {0x11070, 0x11070}, {0x11073, 0x11074}, {0x110C2, 0x110C2}, {0x111C9, 0x111C9},
    {0x111CF, 0x111CF}, {0x1123E, 0x1123E}, {0x11241, 0x11241}, {0x1133B, 0x1133B}, {0x11438, 0x1143F},
    {0x11442, 0x11444}, {0x11446, 0x11446}, {0x1145E, 0x1145E}, {0x1182F, 0x11837}, {0x11839, 0x1183A},
    {0x11938, 0x11938}, {0x1193B, 0x1193C}, {0x1193E, 0x1193E}, {0x11943, 0x11943}, {0x119D4, 0x119D7},
    {0x119DA, 0x119DB}, {0x119E0, 0x119E0}, {0x11A01, 0x11A0A}, {0x11A33, 0x11A38}, {0x11A3B, 0x11A3E},
    {0x11A47, 0x11A47}, {0x11A51, 0x11A56}, {0x11A59, 0x11A5B}, {0x11A8A, 0x11A96}, {0x11A98, 0x11A99},
    {0x11C30, 0x11C36}, {0x11C38, 0x11C3D}, {0x11C3F, 0x11C3F}, {0x11C92, 0x11CA7}, {0x11CAA, 0x11CB0},
    {0x11CB2, 0x11CB3}, {0x11CB5, 0x11CB6}, {0x11D31, 0x11D36}, {0x11D3A, 0x11D3A}, {0x11D3C, 0x11D3D},
    {0x11D3F, 0x11D45}, {0x11D47, 0x11D47}, {0x11D90, 0x11D91}, {0x11D95, 0x11D95}, {0x11D97, 0x11D97},
    {0x11EF3, 0x11EF4}, {0x11F00, 0x11F01}, {0x11F36, 0x11F3A}, {0x11F40, 0x11F40}, {0x11F42, 0x11F42},
    {0x13440, 0x13440}, {0x13447, 0x13455}, {0x16F4F, 0x16F4F}, {0x16FE4, 0x16FE4}, {0x1CF00, 0x1CF2D},
    {0x1CF30, 0x1CF46}, {0x1E000, 0x1E006}, {0x1E008, 0x1E018}, {0x1E01B, 0x1E021}, {0x1E023, 0x1E024},
    {0x1E026, 0x1E02A}, {0x1E08F, 0x1E08F}, {0x1E130, 0x1E136}, {0x1E2AE, 0x1E2AE}, {0x1E2EC, 0x1E2EF},
    {0x1E4EC, 0x1E4EF}, {0x1E944, 0x1E94A},
};
#define NONSPACING_ONLY_HF 0x1734

/* Lower-case pairs of a newer Unicode than utf8proc's that Rust knows:
 * [lo, hi] maps to [lo + delta, hi + delta]. */
static const struct {
    uint32_t lo, hi;
    int32_t delta;
} lower_extra[] = {
    {0x1C89, 0x1C89, 1},           {0xA7CB, 0xA7CB, 0x264 - 0xA7CB}, {0xA7CC, 0xA7CC, 1}, {0xA7CE, 0xA7CE, 1},
    {0xA7D2, 0xA7D2, 1},           {0xA7D4, 0xA7D4, 1},              {0xA7DA, 0xA7DA, 1}, {0xA7DC, 0xA7DC, 0x19B - 0xA7DC},
    {0x10D50, 0x10D65, 0x20},      {0x16EA0, 0x16EB8, 0x1B},
};

/* Decompositions newer than HF's normalization tables: HF leaves these
 * characters as they are (canonical: also never composes them). */
static const cp_range canonical_not_hf[] = {
    {0x11938, 0x11938},
};
static const cp_range compat_not_hf[] = {
    {0x32FF, 0x32FF},   {0xA7F2, 0xA7F4},   {0xAB69, 0xAB69},   {0x10781, 0x10785}, {0x10787, 0x107B0},
    {0x107B2, 0x107BA}, {0x1E030, 0x1E06D}, {0x1F16C, 0x1F16C}, {0x1FBF0, 0x1FBF9},
};

bool qt_uc_is_whitespace(uint32_t c)
{
    if (c < 0x80)
        return c == ' ' || (c >= 0x09 && c <= 0x0D);
    return c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 ||
           c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

bool qt_uc_is_bert_control(uint32_t c)
{
    if (c == '\t' || c == '\n' || c == '\r')
        return false;
    if (c == 0 || c == 0xFFFD)
        return true;
    switch (utf8proc_category((utf8proc_int32_t)c)) {
    case UTF8PROC_CATEGORY_CC:
    case UTF8PROC_CATEGORY_CO:
    case UTF8PROC_CATEGORY_CS:
        return true;
    case UTF8PROC_CATEGORY_CF:
        return !in_ranges(control_not_hf, N_RANGES(control_not_hf), c);
    default:
        return false;
    }
}

bool qt_uc_is_bert_punct(uint32_t c)
{
    if (c < 0x80)
        return (c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126);
    switch (utf8proc_category((utf8proc_int32_t)c)) {
    case UTF8PROC_CATEGORY_PC:
    case UTF8PROC_CATEGORY_PD:
    case UTF8PROC_CATEGORY_PS:
    case UTF8PROC_CATEGORY_PE:
    case UTF8PROC_CATEGORY_PI:
    case UTF8PROC_CATEGORY_PF:
    case UTF8PROC_CATEGORY_PO:
        return !in_ranges(punct_not_hf, N_RANGES(punct_not_hf), c);
    default:
        return in_ranges(punct_only_hf, N_RANGES(punct_only_hf), c);
    }
}

bool qt_uc_is_cjk(uint32_t c)
{
    return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
           (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
           (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

bool qt_uc_is_nonspacing_mark(uint32_t c)
{
    if (c < 0x300)
        return false;
    if (c == NONSPACING_ONLY_HF)
        return true;
    return utf8proc_category((utf8proc_int32_t)c) == UTF8PROC_CATEGORY_MN &&
           !in_ranges(nonspacing_not_hf, N_RANGES(nonspacing_not_hf), c);
}

bool qt_uc_is_mark(uint32_t c)
{
    if (c < 0x300)
        return false;
    utf8proc_category_t cat = utf8proc_category((utf8proc_int32_t)c);
    return cat == UTF8PROC_CATEGORY_MN || cat == UTF8PROC_CATEGORY_MC || cat == UTF8PROC_CATEGORY_ME;
}

bool qt_uc_is_letter(uint32_t c)
{
    if (c < 0x80)
        return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
    switch (utf8proc_category((utf8proc_int32_t)c)) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
        return true;
    case UTF8PROC_CATEGORY_CN:
        return in_ranges(letter_extra, N_RANGES(letter_extra), c);
    default:
        return false;
    }
}

bool qt_uc_is_number(uint32_t c)
{
    if (c < 0x80)
        return c >= '0' && c <= '9';
    switch (utf8proc_category((utf8proc_int32_t)c)) {
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_NO:
        return true;
    case UTF8PROC_CATEGORY_CN:
        return in_ranges(number_extra, N_RANGES(number_extra), c);
    default:
        return false;
    }
}

bool qt_uc_is_word(uint32_t c)
{
    if (c < 0x80)
        return qt_uc_is_letter(c) || (c >= '0' && c <= '9') || c == '_';
    if (c == 0x200C || c == 0x200D)
        return true;
    switch (utf8proc_category((utf8proc_int32_t)c)) {
    case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_MC:
    case UTF8PROC_CATEGORY_ME:
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_PC:
        return true;
    default:
        return qt_uc_is_letter(c);
    }
}

int qt_uc_lowercase(uint32_t c, uint32_t out[3])
{
    if (c < 0x80) {
        out[0] = (c >= 'A' && c <= 'Z') ? c + 32 : c;
        return 1;
    }
    if (c == 0x130) { /* the one unconditional multi-character lower-case mapping */
        out[0] = 'i';
        out[1] = 0x307;
        return 2;
    }
    out[0] = (uint32_t)utf8proc_tolower((utf8proc_int32_t)c);
    if (out[0] == c && c >= 0x1C89) {
        for (size_t i = 0; i < N_RANGES(lower_extra); i++)
            if (c >= lower_extra[i].lo && c <= lower_extra[i].hi)
                out[0] = (uint32_t)((int32_t)c + lower_extra[i].delta);
    }
    return 1;
}

/* ---- normalization forms ----
 * Mirrors the iterator HF uses (unicode-normalization with alignments):
 * each character's decomposition yields its first character as a
 * replacement (0) and the rest as insertions (+1); runs of combining marks
 * are stably sorted by combining class; composing a character into its
 * starter adds its change to the starter's, minus one. */

typedef struct nf_item {
    uint32_t cp;
    int32_t change;
    uint8_t ccc;
} nf_item;

typedef struct nf_buf {
    nf_item *v;
    size_t n, cap;
} nf_buf;

static void nf_push(nf_buf *b, uint32_t cp, int32_t change, uint8_t ccc)
{
    if (b->n == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 64;
        b->v = qt_tok_xrealloc(b->v, b->cap * sizeof *b->v);
    }
    b->v[b->n++] = (nf_item){cp, change, ccc};
}

static uint8_t combining_class(uint32_t c)
{
    return c < 0x300 ? 0 : (uint8_t)utf8proc_get_property((utf8proc_int32_t)c)->combining_class;
}

/* Stable insertion sort of v[a, b) by combining class. */
static void sort_by_class(nf_item *v, size_t a, size_t b)
{
    for (size_t i = a + 1; i < b; i++) {
        nf_item x = v[i];
        size_t j = i;
        while (j > a && v[j - 1].ccc > x.ccc) {
            v[j] = v[j - 1];
            j--;
        }
        v[j] = x;
    }
}

static void decompose(const char *s, uint32_t len, bool compat, nf_buf *out)
{
    size_t pending = 0; /* start of the run not yet sorted */
    utf8proc_int32_t dec[32];
    for (uint32_t i = 0; i < len;) {
        uint32_t n;
        uint32_t c = qt_tok_utf8_decode(s + i, &n);
        i += n;
        utf8proc_ssize_t k = 0;
        bool keep = in_ranges(canonical_not_hf, N_RANGES(canonical_not_hf), c) ||
                    (compat && in_ranges(compat_not_hf, N_RANGES(compat_not_hf), c));
        if (c >= 0xA0 && !keep) {
            int bc = 0;
            k = utf8proc_decompose_char((utf8proc_int32_t)c, dec, 32,
                                        UTF8PROC_DECOMPOSE | (compat ? UTF8PROC_COMPAT : 0), &bc);
            if (k < 1 || k > 32)
                k = 0;
        }
        if (k == 0) {
            dec[0] = (utf8proc_int32_t)c;
            k = 1;
        }
        for (utf8proc_ssize_t j = 0; j < k; j++) {
            uint32_t d = (uint32_t)dec[j];
            uint8_t ccc = combining_class(d);
            if (ccc == 0) {
                sort_by_class(out->v, pending, out->n);
                pending = out->n;
            }
            nf_push(out, d, j == 0 ? 0 : 1, ccc);
        }
    }
    sort_by_class(out->v, pending, out->n);
}

/* The primary composite of a and b, or 0. */
static uint32_t compose_pair(uint32_t a, uint32_t b)
{
    if (a < 0x80 && b < 0x80)
        return 0;
    utf8proc_int32_t buf[2] = {(utf8proc_int32_t)a, (utf8proc_int32_t)b};
    /* STABLE: no composition exclusions */
    utf8proc_ssize_t n = utf8proc_normalize_utf32(buf, 2, UTF8PROC_COMPOSE | UTF8PROC_STABLE);
    if (n != 1 || in_ranges(canonical_not_hf, N_RANGES(canonical_not_hf), (uint32_t)buf[0]))
        return 0;
    return (uint32_t)buf[0];
}

static void recompose(const nf_buf *in, qt_tok_edits *out)
{
    bool have_composee = false;
    nf_item composee = {0, 0, 0};
    int last_ccc = -1; /* -1: none */
    /* Characters blocked from the composee wait in `waiting` and follow it. */
    nf_buf waiting = {0};
    for (size_t i = 0; i < in->n; i++) {
        nf_item ch = in->v[i];
        if (!have_composee) {
            if (ch.ccc != 0) {
                qt_tok_edits_push(out, ch.cp, ch.change);
                continue;
            }
            composee = ch;
            have_composee = true;
            continue;
        }
        if (last_ccc < 0) {
            uint32_t r = compose_pair(composee.cp, ch.cp);
            if (r) {
                composee.cp = r;
                composee.change = composee.change + ch.change - 1;
                continue;
            }
            if (ch.ccc == 0) {
                qt_tok_edits_push(out, composee.cp, composee.change);
                composee = ch;
                continue;
            }
            nf_push(&waiting, ch.cp, ch.change, ch.ccc);
            last_ccc = ch.ccc;
            continue;
        }
        if (last_ccc >= ch.ccc) { /* blocked from the composee */
            if (ch.ccc == 0) {
                qt_tok_edits_push(out, composee.cp, composee.change);
                for (size_t k = 0; k < waiting.n; k++)
                    qt_tok_edits_push(out, waiting.v[k].cp, waiting.v[k].change);
                waiting.n = 0;
                composee = ch;
                last_ccc = -1;
                continue;
            }
            nf_push(&waiting, ch.cp, ch.change, ch.ccc);
            last_ccc = ch.ccc;
            continue;
        }
        uint32_t r = compose_pair(composee.cp, ch.cp);
        if (r) {
            composee.cp = r;
            composee.change = composee.change + ch.change - 1;
            continue;
        }
        nf_push(&waiting, ch.cp, ch.change, ch.ccc);
        last_ccc = ch.ccc;
    }
    if (have_composee)
        qt_tok_edits_push(out, composee.cp, composee.change);
    for (size_t k = 0; k < waiting.n; k++)
        qt_tok_edits_push(out, waiting.v[k].cp, waiting.v[k].change);
    free(waiting.v);
}

void qt_uc_normalize_edits(qt_nf form, const char *s, uint32_t len, qt_tok_edits *out)
{
    nf_buf d = {0};
    decompose(s, len, form == QT_NF_KC || form == QT_NF_KD, &d);
    if (form == QT_NF_D || form == QT_NF_KD) {
        for (size_t i = 0; i < d.n; i++)
            qt_tok_edits_push(out, d.v[i].cp, d.v[i].change);
    } else {
        recompose(&d, out);
    }
    free(d.v);
}
