/* Word and sentence scanning for the negatives generator (textscan.h). */
#include "train/textscan.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static int is_letter(unsigned char c)
{
    return isalpha(c) || c >= 0x80;
}

static int is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static int push(qt_wtoks *w, int start, int len, int is_number, int sent_start)
{
    if (w->n == w->cap) {
        int cap = w->cap ? 2 * w->cap : 64;
        qt_wtok *t = realloc(w->t, (size_t)cap * sizeof *t);
        if (!t)
            return -1;
        w->t = t;
        w->cap = cap;
    }
    w->t[w->n++] = (qt_wtok){start, len, is_number, sent_start};
    return 0;
}

int qt_wtok_scan(qt_wtoks *w, const char *text, size_t len)
{
    const unsigned char *s = (const unsigned char *)text;
    w->n = 0;
    size_t i = 0;
    int at_sentence_start = 1;
    while (i < len) {
        unsigned char c = s[i];
        if (c == '.' || c == '!' || c == '?') {
            at_sentence_start = 1;
            i++;
            continue;
        }
        if (!is_letter(c) && !is_digit(c)) {
            i++;
            continue;
        }
        size_t j = i + 1;
        int number = is_digit(c);
        if (number) {
            /* 1,000  3.5  1990s  20th */
            while (j < len && (is_digit(s[j]) || ((s[j] == ',' || s[j] == '.') && j + 1 < len && is_digit(s[j + 1]))))
                j++;
            while (j < len && is_letter(s[j]) && s[j] < 0x80)
                j++;
        } else {
            while (j < len && (is_letter(s[j]) || is_digit(s[j]) ||
                               ((s[j] == '-' || s[j] == '\'') && j + 1 < len && is_letter(s[j + 1]))))
                j++;
        }
        if (push(w, (int)i, (int)(j - i), number, at_sentence_start) < 0)
            return -1;
        at_sentence_start = 0;
        i = j;
    }
    return 0;
}

void qt_wtoks_free(qt_wtoks *w)
{
    free(w->t);
    memset(w, 0, sizeof *w);
}

/* A '.' after one capital letter ("J.") or a common abbreviation does not end a sentence. */
static int is_abbreviation(const char *text, size_t dot)
{
    size_t k = dot;
    while (k > 0 && isalpha((unsigned char)text[k - 1]))
        k--;
    size_t n = dot - k;
    if (n == 1 && isupper((unsigned char)text[k]))
        return 1;
    static const char *abbr[] = {"Mr", "Mrs", "Ms", "Dr", "St", "Jr", "Sr", "vs", "Mt", "No", "Co", "Inc", "Ltd", "Gen", "Col", "Lt", "Rev", "Prof"};
    for (size_t a = 0; a < sizeof abbr / sizeof *abbr; a++)
        if (strlen(abbr[a]) == n && strncmp(abbr[a], text + k, n) == 0)
            return 1;
    return 0;
}

int *qt_sentences(const char *text, size_t len, int *n_out)
{
    int cap = 16, n = 0;
    int *r = malloc((size_t)cap * 2 * sizeof *r);
    if (!r)
        return NULL;
    size_t start = 0;
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        if (c != '.' && c != '!' && c != '?')
            continue;
        size_t j = i + 1;
        while (j < len && (text[j] == '"' || text[j] == '\'' || text[j] == ')'))
            j++;
        if (j < len && text[j] != ' ' && text[j] != '\n')
            continue;
        size_t k = j;
        while (k < len && (text[k] == ' ' || text[k] == '\n'))
            k++;
        if (k < len) {
            unsigned char d = (unsigned char)text[k];
            if (!(isupper(d) || isdigit(d) || d == '"' || d == '\'' || d >= 0x80))
                continue;
        }
        if (c == '.' && is_abbreviation(text, i))
            continue;
        if (n == cap) {
            cap *= 2;
            int *t = realloc(r, (size_t)cap * 2 * sizeof *r);
            if (!t) {
                free(r);
                return NULL;
            }
            r = t;
        }
        r[2 * n] = (int)start;
        r[2 * n + 1] = (int)j;
        n++;
        start = k;
        i = k > 0 ? k - 1 : k;
    }
    if (start < len || n == 0) {
        if (n == cap) {
            int *t = realloc(r, (size_t)(cap + 1) * 2 * sizeof *r);
            if (!t) {
                free(r);
                return NULL;
            }
            r = t;
        }
        r[2 * n] = (int)start;
        r[2 * n + 1] = (int)len;
        n++;
    }
    *n_out = n;
    return r;
}

static int ieq(const char *a, const char *b, int n)
{
    for (int i = 0; i < n; i++)
        if (tolower((unsigned char)a[i]) != tolower((unsigned char)b[i]))
            return 0;
    return 1;
}

int qt_word_eq(const char *s, int n, const char *w)
{
    return (int)strlen(w) == n && ieq(s, w, n);
}

int qt_phrase_in(const char *text, size_t a, size_t b, const char *phrase)
{
    qt_wtoks pt = {0}, tt = {0};
    int found = 0;
    if (qt_wtok_scan(&pt, phrase, strlen(phrase)) < 0 || qt_wtok_scan(&tt, text + a, b - a) < 0 || pt.n == 0)
        goto done;
    for (int i = 0; i + pt.n <= tt.n && !found; i++) {
        int all = 1;
        for (int k = 0; k < pt.n && all; k++) {
            const qt_wtok *x = &tt.t[i + k], *y = &pt.t[k];
            all = x->len == y->len && ieq(text + a + x->start, phrase + y->start, x->len);
        }
        found = all;
    }
done:
    qt_wtoks_free(&pt);
    qt_wtoks_free(&tt);
    return found;
}
