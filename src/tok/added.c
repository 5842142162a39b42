/* Added tokens ([CLS], <|endoftext|>, GPT-NeoX's runs of spaces, ...):
 * found in the text before anything else runs, leftmost-longest and not
 * overlapping, with HF's single_word / lstrip / rstrip rules. */
#include <stdlib.h>
#include <string.h>

#include "tok/tok_internal.h"

/* Whether the character ending at byte `end` of s is a word character. */
static bool ends_with_word(const char *s, uint32_t end)
{
    if (end == 0)
        return false;
    uint32_t i = end - 1;
    while (i > 0 && ((unsigned char)s[i] & 0xC0) == 0x80)
        i--;
    uint32_t n;
    return qt_uc_is_word(qt_tok_utf8_decode(s + i, &n));
}

static bool starts_with_word(const char *s, uint32_t len, uint32_t at)
{
    if (at >= len)
        return false;
    uint32_t n;
    return qt_uc_is_word(qt_tok_utf8_decode(s + at, &n));
}

/* Start of the run of whitespace that ends at byte `end`. */
static uint32_t space_run_start(const char *s, uint32_t end)
{
    uint32_t i = end;
    while (i > 0) {
        uint32_t j = i - 1;
        while (j > 0 && ((unsigned char)s[j] & 0xC0) == 0x80)
            j--;
        uint32_t n;
        if (!qt_uc_is_whitespace(qt_tok_utf8_decode(s + j, &n)))
            break;
        i = j;
    }
    return i;
}

/* End of the run of whitespace that starts at byte `at`. */
static uint32_t space_run_end(const char *s, uint32_t len, uint32_t at)
{
    uint32_t i = at;
    while (i < len) {
        uint32_t n;
        if (!qt_uc_is_whitespace(qt_tok_utf8_decode(s + i, &n)))
            break;
        i += n;
    }
    return i;
}

void qt_added_split(const qt_added_token *toks, size_t n, bool want_normalized, const qt_nstr *ns,
                    qt_splits *out)
{
    bool first_byte[256] = {false};
    bool any = false;
    for (size_t k = 0; k < n; k++) {
        if (toks[k].normalized == want_normalized && toks[k].match_len) {
            first_byte[(unsigned char)toks[k].match[0]] = true;
            any = true;
        }
    }
    const char *s = ns->s;
    uint32_t len = ns->len;
    uint32_t done = 0; /* end of the last split pushed */
    for (uint32_t i = 0; any && i < len;) {
        if (!first_byte[(unsigned char)s[i]]) {
            i++;
            continue;
        }
        const qt_added_token *best = NULL;
        for (size_t k = 0; k < n; k++) {
            const qt_added_token *t = &toks[k];
            if (t->normalized != want_normalized || !t->match_len || t->match_len > len - i)
                continue;
            if ((!best || t->match_len > best->match_len) && memcmp(s + i, t->match, t->match_len) == 0)
                best = t;
        }
        if (!best) {
            i++;
            continue;
        }
        uint32_t start = i, stop = i + best->match_len;
        i = stop; /* the next match starts after this one, used or not */
        if (best->single_word) {
            bool start_space = start == 0 || !ends_with_word(s, start);
            bool stop_space = stop == len || !starts_with_word(s, len, stop);
            if (!start_space || !stop_space)
                continue;
        }
        if (best->lstrip) {
            uint32_t ns_start = space_run_start(s, start);
            start = ns_start > done ? ns_start : done;
        }
        if (best->rstrip)
            stop = space_run_end(s, len, stop);
        if (start > done)
            qt_splits_push_slice(out, ns, done, start, -1);
        qt_splits_push_slice(out, ns, start, stop, best->id);
        done = stop;
    }
    if (done < len)
        qt_splits_push_slice(out, ns, done, len, -1);
}
