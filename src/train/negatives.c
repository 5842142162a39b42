/* Unanswerable training examples made from SQuAD 1.1 (see negatives.h). */
#include "train/negatives.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "train/textscan.h"

static const char *const kind_names[QT_EX_KINDS] = {
    "answerable", "other_paragraph", "entity", "number", "negation", "antonym", "dev_unanswerable",
};

const char *qt_ex_kind_name(qt_ex_kind k)
{
    return k >= 0 && k < QT_EX_KINDS ? kind_names[k] : "?";
}

void qt_neg_opts_default(qt_neg_opts *o)
{
    o->share = 1.0 / 3.0;
    o->w_other = 0.2;
    o->w_entity = 0.25;
    o->w_number = 0.15;
    o->w_negation = 0.2;
    o->w_antonym = 0.2;
    o->seed = 1234;
}

void qt_example_set_free(qt_example_set *s)
{
    for (int i = 0; i < s->n; i++)
        free(s->ex[i].question);
    free(s->ex);
    memset(s, 0, sizeof *s);
}

int qt_example_set_add(qt_example_set *s, const char *question, const char *context, size_t context_len,
                       long ans_start, long ans_end, int kind, int article, qt_err *e)
{
    if (s->n == s->cap) {
        int cap = s->cap ? 2 * s->cap : 1024;
        qt_example *t = realloc(s->ex, (size_t)cap * sizeof *t);
        if (!t)
            return qt_fail(e, "out of memory for %d training examples", cap);
        s->ex = t;
        s->cap = cap;
    }
    char *q = strdup(question);
    if (!q)
        return qt_fail(e, "out of memory");
    s->ex[s->n++] = (qt_example){q, context, context_len, ans_start, ans_end, kind, article};
    s->counts[kind]++;
    return 0;
}

/* ---- the checks ---- */

/* Bytes [a, b) of the answer's sentence and its neighbours. */
static void near_answer(const char *context, size_t len, long ans_start, size_t *a, size_t *b)
{
    int n = 0;
    int *sent = qt_sentences(context, len, &n);
    *a = 0;
    *b = len;
    if (!sent)
        return;
    int k = 0;
    while (k + 1 < n && sent[2 * (k + 1)] <= ans_start)
        k++;
    int lo = k > 0 ? k - 1 : 0, hi = k + 1 < n ? k + 1 : k;
    *a = (size_t)sent[2 * lo];
    *b = (size_t)sent[2 * hi + 1];
    free(sent);
}

int qt_neg_absent_near_answer(const char *context, size_t len, long ans_start, const char *inserted)
{
    size_t a, b;
    near_answer(context, len, ans_start, &a, &b);
    return !qt_phrase_in(context, a, b, inserted);
}

static const char *const negations[] = {"not", "never", "no", "none", "neither", "nor", "without", "cannot"};

static int is_negation(const char *s, int n)
{
    for (size_t i = 0; i < sizeof negations / sizeof *negations; i++)
        if (qt_word_eq(s, n, negations[i]))
            return 1;
    return n > 3 && strncmp(s + n - 3, "n't", 3) == 0;
}

int qt_neg_negated_near_answer(const char *context, size_t len, long ans_start)
{
    size_t a, b;
    near_answer(context, len, ans_start, &a, &b);
    qt_wtoks w = {0};
    int found = 0;
    if (qt_wtok_scan(&w, context + a, b - a) < 0)
        return 1; /* out of memory: refuse */
    for (int i = 0; i < w.n && !found; i++)
        found = is_negation(context + a + w.t[i].start, w.t[i].len);
    qt_wtoks_free(&w);
    return found;
}

/* ---- candidates from text ---- */

typedef struct strlist {
    char **s;
    int n, cap;
} strlist;

static void strlist_free(strlist *l)
{
    for (int i = 0; i < l->n; i++)
        free(l->s[i]);
    free(l->s);
    memset(l, 0, sizeof *l);
}

/* Adds a copy of s[0..n) unless already there (ASCII case-insensitive). */
static int strlist_add(strlist *l, const char *s, int n)
{
    for (int i = 0; i < l->n; i++)
        if ((int)strlen(l->s[i]) == n && strncasecmp(l->s[i], s, (size_t)n) == 0)
            return 0;
    if (l->n == l->cap) {
        int cap = l->cap ? 2 * l->cap : 32;
        char **t = realloc(l->s, (size_t)cap * sizeof *t);
        if (!t)
            return -1;
        l->s = t;
        l->cap = cap;
    }
    if (!(l->s[l->n] = strndup(s, (size_t)n)))
        return -1;
    l->n++;
    return 0;
}

/* Capitalised words that start a sentence without being a name. */
static const char *const cap_stop[] = {
    "the", "a", "an", "in", "on", "at", "of", "for", "by", "with", "from", "to", "as", "after", "before",
    "during", "what", "which", "who", "whom", "whose", "when", "where", "why", "how", "is", "was", "are",
    "were", "did", "does", "do", "can", "could", "will", "would", "has", "have", "had", "should", "may",
    "might", "must", "this", "that", "these", "those", "it", "its", "there", "according", "since", "while",
    "although", "however", "if", "other", "another", "many", "most", "some", "name", "besides", "along",
    "under", "between", "among", "approximately", "about", "around", "in", "he", "she", "they", "his",
    "her", "their", "we", "i", "also", "but", "and", "or", "not", "one", "two", "three", "following",
    "despite", "unlike", "like", "through", "today", "then", "thus", "although", "because", "both",
    "each", "every", "all", "such", "further", "later", "early", "when", "whereas", "until", "once",
};

static int in_list(const char *s, int n, const char *const *list, size_t count)
{
    for (size_t i = 0; i < count; i++)
        if (qt_word_eq(s, n, list[i]))
            return 1;
    return 0;
}

static const char *const months[] = {"january", "february", "march", "april", "may", "june", "july",
                                     "august", "september", "october", "november", "december"};

static const char *const connectors[] = {"of", "de", "la", "von", "van", "der", "du", "del", "da"};

static int is_cap(const char *s, const qt_wtok *t)
{
    return !t->is_number && isupper((unsigned char)s[t->start]);
}

/* Calls fn for each capitalised name in text: a run of capitalised tokens
 * (with "of", "de", ... between them) separated by single spaces; a
 * sentence-initial stop word is dropped, and a lone capitalised word at a
 * sentence start is not a name. */
typedef int (*name_fn)(void *ctx, const char *s, int start, int end, int n_words);

static int scan_names(const char *text, const qt_wtoks *w, name_fn fn, void *ctx)
{
    for (int i = 0; i < w->n;) {
        if (!is_cap(text, &w->t[i])) {
            i++;
            continue;
        }
        int j = i + 1;
        while (j < w->n) {
            const qt_wtok *p = &w->t[j - 1], *t = &w->t[j];
            if (t->start != p->start + p->len + 1 || text[t->start - 1] != ' ' || t->sent_start)
                break;
            if (is_cap(text, t)) {
                j++;
                continue;
            }
            /* a connector counts only when a capitalised word follows it */
            if (j + 1 < w->n && in_list(text + t->start, t->len, connectors, sizeof connectors / sizeof *connectors) &&
                is_cap(text, &w->t[j + 1]) && w->t[j + 1].start == t->start + t->len + 1) {
                j += 2;
                continue;
            }
            break;
        }
        int first = i;
        if (w->t[i].sent_start && in_list(text + w->t[i].start, w->t[i].len, cap_stop, sizeof cap_stop / sizeof *cap_stop))
            first++;
        int n_words = j - first;
        const qt_wtok *f = &w->t[first];
        int month = n_words == 1 && in_list(text + f->start, f->len, months, 12);
        if (!month && (n_words >= 2 || (n_words == 1 && !f->sent_start &&
                                         !in_list(text + f->start, f->len, cap_stop, sizeof cap_stop / sizeof *cap_stop)))) {
            int end = w->t[j - 1].start + w->t[j - 1].len;
            /* the possessive stays in the question: "Beyonce's" -> "X's" */
            if (end - f->start > 2 && text[end - 2] == '\'' && text[end - 1] == 's')
                end -= 2;
            if (fn(ctx, text, f->start, end, n_words) < 0)
                return -1;
        }
        i = j;
    }
    return 0;
}

/* Number kinds; swaps stay within a kind. */
enum { NUM_NONE, NUM_YEAR, NUM_DECADE, NUM_ORDINAL, NUM_PLAIN, NUM_MONTH, NUM_WORD, NUM_KINDS };

static const char *const number_words[] = {"two", "three", "four", "five", "six", "seven", "eight", "nine",
                                           "ten", "eleven", "twelve", "twenty", "hundred", "thousand", "million", "billion"};

static int number_kind(const char *s, const qt_wtok *t)
{
    const char *p = s + t->start;
    if (!t->is_number) {
        /* "may" is too often a verb: only capitalised month names count */
        if (isupper((unsigned char)p[0]) && in_list(p, t->len, months, 12))
            return NUM_MONTH;
        if (in_list(p, t->len, number_words, sizeof number_words / sizeof *number_words))
            return NUM_WORD;
        return NUM_NONE;
    }
    int digits = 0, other = 0;
    for (int i = 0; i < t->len; i++) {
        if (isdigit((unsigned char)p[i]))
            digits++;
        else
            other++;
    }
    if (other == 0 && digits == 4 && p[0] >= '1' && p[0] <= '2')
        return NUM_YEAR;
    if (digits == 4 && t->len == 5 && p[4] == 's')
        return NUM_DECADE;
    if (t->len > 2 && isalpha((unsigned char)p[t->len - 1]) && isalpha((unsigned char)p[t->len - 2]) &&
        digits == t->len - 2)
        return NUM_ORDINAL;
    if (isalpha((unsigned char)p[t->len - 1]))
        return NUM_NONE; /* units glued on: 5km */
    return NUM_PLAIN;
}

/* What one article offers for swaps. */
typedef struct article_pool {
    int article;
    strlist names[2];        /* [0] one word, [1] several words */
    strlist numbers[NUM_KINDS];
} article_pool;

static void pool_free(article_pool *p)
{
    for (int i = 0; i < 2; i++)
        strlist_free(&p->names[i]);
    for (int i = 0; i < NUM_KINDS; i++)
        strlist_free(&p->numbers[i]);
    p->article = -1;
}

static int add_name(void *ctx, const char *s, int start, int end, int n_words)
{
    article_pool *p = ctx;
    return strlist_add(&p->names[n_words > 1], s + start, end - start);
}

static int pool_build(article_pool *p, const qt_squad *s, int article, qt_err *e)
{
    pool_free(p);
    p->article = article;
    const qt_article *a = &s->articles[article];
    qt_wtoks w = {0};
    for (int k = 0; k < a->n_paragraphs; k++) {
        const qt_paragraph *par = &s->paragraphs[a->first_paragraph + k];
        if (qt_wtok_scan(&w, par->context, par->context_len) < 0 ||
            scan_names(par->context, &w, add_name, p) < 0)
            goto oom;
        for (int i = 0; i < w.n; i++) {
            int kind = number_kind(par->context, &w.t[i]);
            if (kind != NUM_NONE && strlist_add(&p->numbers[kind], par->context + w.t[i].start, w.t[i].len) < 0)
                goto oom;
        }
    }
    qt_wtoks_free(&w);
    return 0;
oom:
    qt_wtoks_free(&w);
    return qt_fail(e, "out of memory while scanning article %d", article);
}

/* ---- building a perturbed question ---- */

/* question with bytes [a, b) replaced by rep (malloc'd). */
static char *splice(const char *q, int a, int b, const char *rep)
{
    size_t n = strlen(q), r = strlen(rep);
    char *out = malloc(n - (size_t)(b - a) + r + 1);
    if (!out)
        return NULL;
    memcpy(out, q, (size_t)a);
    memcpy(out + a, rep, r);
    memcpy(out + a + r, q + b, n - (size_t)b + 1);
    return out;
}

/* The context of q and its first gold answer's bytes; 0 when unusable. */
static int gold(const qt_squad *s, const qt_question *q, const char **ctx, size_t *len, long *a, long *b)
{
    if (q->n_answers < 1 || q->answers[0].start_byte < 0)
        return 0;
    const qt_paragraph *p = &s->paragraphs[q->paragraph];
    *ctx = p->context;
    *len = p->context_len;
    *a = q->answers[0].start_byte;
    *b = *a + (long)strlen(q->answers[0].text);
    return *b <= (long)*len;
}

/* 1 when candidate may replace orig in question q answered by answer: a
 * different string, not already in the question, not part of the answer,
 * and absent near the answer in the paragraph. */
static int swap_ok(const char *question, const char *orig, int orig_len, const char *cand, const char *ctx,
                   size_t len, long ans_a, long ans_b)
{
    if ((int)strlen(cand) == orig_len && strncasecmp(cand, orig, (size_t)orig_len) == 0)
        return 0;
    if (qt_phrase_in(question, 0, strlen(question), cand))
        return 0;
    /* neither contains the other ("Paris" / "Paris Opera") */
    char *o = strndup(orig, (size_t)orig_len);
    if (!o)
        return 0;
    int nested = qt_phrase_in(cand, 0, strlen(cand), o) || qt_phrase_in(o, 0, strlen(o), cand);
    free(o);
    if (nested)
        return 0;
    if (qt_phrase_in(ctx, (size_t)ans_a, (size_t)ans_b, cand))
        return 0;
    return qt_neg_absent_near_answer(ctx, len, ans_a, cand);
}

/* Picks a usable replacement from list in random order; NULL when none. */
static const char *pick_swap(const strlist *list, qt_rng *rng, const char *question, const char *orig, int orig_len,
                             const char *ctx, size_t len, long a, long b)
{
    if (list->n == 0)
        return NULL;
    uint32_t off = qt_rng_below(rng, (uint32_t)list->n);
    for (int k = 0; k < list->n; k++) {
        const char *cand = list->s[(off + (uint32_t)k) % (uint32_t)list->n];
        if (swap_ok(question, orig, orig_len, cand, ctx, len, a, b))
            return cand;
    }
    return NULL;
}

typedef struct span {
    int start, end, n_words;
} span;

typedef struct spans {
    span s[64];
    int n;
} spans;

static int collect_span(void *ctx, const char *s, int start, int end, int n_words)
{
    (void)s;
    spans *sp = ctx;
    if (sp->n < 64)
        sp->s[sp->n++] = (span){start, end, n_words};
    return 0;
}

static int perturb_entity(const char *q, const qt_wtoks *w, const article_pool *pool, qt_rng *rng, const char *ctx,
                          size_t len, long a, long b, char **out)
{
    spans sp = {.n = 0};
    scan_names(q, w, collect_span, &sp);
    if (sp.n == 0)
        return 0;
    uint32_t off = qt_rng_below(rng, (uint32_t)sp.n);
    for (int k = 0; k < sp.n; k++) {
        const span *x = &sp.s[(off + (uint32_t)k) % (uint32_t)sp.n];
        const char *rep = pick_swap(&pool->names[x->n_words > 1], rng, q, q + x->start, x->end - x->start, ctx, len, a, b);
        if (rep) {
            *out = splice(q, x->start, x->end, rep);
            return *out ? 1 : -1;
        }
    }
    return 0;
}

/* A year or number not found in the article: shift it. */
static int shifted_number(const char *tok, int n, int kind, qt_rng *rng, char *buf, size_t size)
{
    if (kind != NUM_YEAR && kind != NUM_PLAIN)
        return 0;
    for (int i = 0; i < n; i++)
        if (!isdigit((unsigned char)tok[i]))
            return 0;
    long v = strtol(tok, NULL, 10);
    long d = 1 + (long)qt_rng_below(rng, kind == NUM_YEAR ? 30 : 9);
    long nv = (qt_rng_below(rng, 2) && v - d > 0) ? v - d : v + d;
    snprintf(buf, size, "%ld", nv);
    return 1;
}

static int perturb_number(const char *q, const qt_wtoks *w, const article_pool *pool, qt_rng *rng, const char *ctx,
                          size_t len, long a, long b, char **out)
{
    int idx[64], kinds[64], n = 0;
    for (int i = 0; i < w->n && n < 64; i++) {
        int kind = number_kind(q, &w->t[i]);
        if (kind != NUM_NONE) {
            idx[n] = i;
            kinds[n++] = kind;
        }
    }
    if (n == 0)
        return 0;
    uint32_t off = qt_rng_below(rng, (uint32_t)n);
    for (int k = 0; k < n; k++) {
        int m = (int)((off + (uint32_t)k) % (uint32_t)n);
        const qt_wtok *t = &w->t[idx[m]];
        const char *rep = pick_swap(&pool->numbers[kinds[m]], rng, q, q + t->start, t->len, ctx, len, a, b);
        char buf[32];
        if (!rep && shifted_number(q + t->start, t->len, kinds[m], rng, buf, sizeof buf) &&
            swap_ok(q, q + t->start, t->len, buf, ctx, len, a, b))
            rep = buf;
        if (rep) {
            *out = splice(q, t->start, t->start + t->len, rep);
            return *out ? 1 : -1;
        }
    }
    return 0;
}

static const char *const aux_be[] = {"is", "was", "are", "were"};
static const char *const aux_other[] = {"did", "does", "do", "can", "could", "will", "would", "has", "have", "had",
                                        "should", "may", "might", "must"};
static const char *const determiners[] = {"the", "a", "an", "his", "her", "its", "their", "this", "that", "these",
                                          "those", "some", "many", "most", "which", "what", "whose"};

static const char *const pronouns[] = {"he", "she", "it", "they", "we", "you", "i", "him", "them", "us"};
static const char *const participles_en[] = {"known", "given", "written", "taken", "chosen", "seen", "driven",
                                             "shown", "spoken", "stolen", "broken", "forgotten", "beaten", "eaten",
                                             "drawn", "grown", "thrown", "begun", "won", "held", "made", "built",
                                             "sold", "found", "led", "paid", "sent", "spent", "told", "taught"};

static int perturb_negation(const char *q, const qt_wtoks *w, qt_rng *rng, const char *ctx, size_t len, long a,
                            char **out)
{
    for (int i = 0; i < w->n; i++)
        if (is_negation(q + w->t[i].start, w->t[i].len))
            return 0;
    if (qt_neg_negated_near_answer(ctx, len, a))
        return 0;
    int aux = -1, be = 0;
    for (int i = 1; i < w->n - 1 && aux < 0; i++) {
        const char *s = q + w->t[i].start;
        if (in_list(s, w->t[i].len, aux_be, 4))
            aux = i, be = 1;
        else if (in_list(s, w->t[i].len, aux_other, sizeof aux_other / sizeof *aux_other))
            aux = i;
    }
    if (aux < 0)
        return 0;
    /* Where "not" goes: right after a "be" that is followed by its complement
     * ("Who was not the first ..."); otherwise before the first lower-case
     * word after the subject ("When did the Normans not reach ..."). */
    int at = aux + 1;
    const qt_wtok *next = &w->t[aux + 1];
    int subject_follows = is_cap(q, next) || in_list(q + next->start, next->len, determiners,
                                                     sizeof determiners / sizeof *determiners);
    if (!be || subject_follows) {
        at = -1;
        for (int i = aux + 1; i < w->n && at < 0; i++) {
            const qt_wtok *t = &w->t[i];
            const char *s = q + t->start;
            if (t->is_number || is_cap(q, t) || in_list(s, t->len, determiners, sizeof determiners / sizeof *determiners))
                continue;
            if (in_list(s, t->len, pronouns, sizeof pronouns / sizeof *pronouns))
                continue;
            if (be && !((t->len > 3 && strncmp(s + t->len - 2, "ed", 2) == 0) ||
                        in_list(s, t->len, participles_en, sizeof participles_en / sizeof *participles_en)))
                continue;
            if (i > aux + 1 || !be)
                at = i;
        }
        if (at < 0) {
            if (!be)
                return 0;
            at = aux + 1;
        }
    }
    const char *word = qt_rng_below(rng, 10) < 3 ? "never " : "not ";
    int pos = w->t[at].start;
    *out = splice(q, pos, pos, word);
    return *out ? 1 : -1;
}

static int perturb_antonym(const char *q, const qt_wtoks *w, qt_rng *rng, const char *ctx, size_t len, long a,
                           long b, char **out)
{
    int idx[64], n = 0;
    for (int i = 0; i < w->n && n < 64; i++) {
        const qt_wtok *t = &w->t[i];
        char low[32];
        if (t->is_number || t->len >= (int)sizeof low)
            continue;
        for (int k = 0; k < t->len; k++)
            low[k] = (char)tolower((unsigned char)q[t->start + k]);
        low[t->len] = 0;
        if (qt_neg_antonym(low))
            idx[n++] = i;
    }
    if (n == 0)
        return 0;
    uint32_t off = qt_rng_below(rng, (uint32_t)n);
    for (int k = 0; k < n; k++) {
        const qt_wtok *t = &w->t[idx[(off + (uint32_t)k) % (uint32_t)n]];
        char low[32], rep[64];
        for (int i = 0; i < t->len; i++)
            low[i] = (char)tolower((unsigned char)q[t->start + i]);
        low[t->len] = 0;
        snprintf(rep, sizeof rep, "%s", qt_neg_antonym(low));
        if (isupper((unsigned char)q[t->start]))
            rep[0] = (char)toupper((unsigned char)rep[0]);
        if (swap_ok(q, q + t->start, t->len, rep, ctx, len, a, b)) {
            *out = splice(q, t->start, t->start + t->len, rep);
            return *out ? 1 : -1;
        }
    }
    return 0;
}

static int perturb_with_pool(const qt_squad *s, const qt_question *q, qt_ex_kind kind, const article_pool *pool,
                             qt_rng *rng, char **out, qt_err *e)
{
    const char *ctx;
    size_t len;
    long a, b;
    *out = NULL;
    if (!gold(s, q, &ctx, &len, &a, &b))
        return 0;
    qt_wtoks w = {0};
    if (qt_wtok_scan(&w, q->text, strlen(q->text)) < 0)
        return qt_fail(e, "out of memory");
    int rc = 0;
    switch (kind) {
    case QT_EX_ENTITY:
        rc = perturb_entity(q->text, &w, pool, rng, ctx, len, a, b, out);
        break;
    case QT_EX_NUMBER:
        rc = perturb_number(q->text, &w, pool, rng, ctx, len, a, b, out);
        break;
    case QT_EX_NEGATION:
        rc = perturb_negation(q->text, &w, rng, ctx, len, a, out);
        break;
    case QT_EX_ANTONYM:
        rc = perturb_antonym(q->text, &w, rng, ctx, len, a, b, out);
        break;
    default:
        rc = 0;
    }
    qt_wtoks_free(&w);
    if (rc < 0)
        return qt_fail(e, "out of memory");
    return rc;
}

int qt_neg_perturb(const qt_squad *s, const qt_question *q, qt_ex_kind kind, qt_rng *rng, char **out, qt_err *e)
{
    article_pool pool;
    memset(&pool, 0, sizeof pool);
    pool.article = -1;
    int article = s->paragraphs[q->paragraph].article;
    if (pool_build(&pool, s, article, e) < 0) {
        pool_free(&pool);
        return -1;
    }
    int rc = perturb_with_pool(s, q, kind, &pool, rng, out, e);
    pool_free(&pool);
    return rc;
}

/* ---- the example set ---- */

static int contains_icase(const char *hay, size_t n, const char *needle)
{
    size_t m = strlen(needle);
    if (m == 0)
        return 1;
    for (size_t i = 0; i + m <= n; i++)
        if (strncasecmp(hay + i, needle, m) == 0)
            return 1;
    return 0;
}

static int other_paragraph(const qt_squad *s, const qt_question *q, qt_rng *rng, const qt_paragraph **out)
{
    const qt_paragraph *own = &s->paragraphs[q->paragraph];
    const qt_article *a = &s->articles[own->article];
    if (a->n_paragraphs < 2)
        return 0;
    for (int tries = 0; tries < 8; tries++) {
        int k = a->first_paragraph + (int)qt_rng_below(rng, (uint32_t)a->n_paragraphs);
        if (k == q->paragraph)
            continue;
        const qt_paragraph *p = &s->paragraphs[k];
        int bad = 0;
        for (int i = 0; i < q->n_answers && !bad; i++)
            bad = contains_icase(p->context, p->context_len, q->answers[i].text);
        if (!bad) {
            *out = p;
            return 1;
        }
    }
    return 0;
}

static int weighted_kind(const qt_neg_opts *o, const int *tried, qt_rng *rng)
{
    double w[QT_EX_KINDS] = {0};
    w[QT_EX_OTHER_PARAGRAPH] = o->w_other;
    w[QT_EX_ENTITY] = o->w_entity;
    w[QT_EX_NUMBER] = o->w_number;
    w[QT_EX_NEGATION] = o->w_negation;
    w[QT_EX_ANTONYM] = o->w_antonym;
    double total = 0;
    for (int k = 0; k < QT_EX_KINDS; k++)
        total += tried[k] ? 0 : w[k];
    if (total <= 0)
        return -1;
    double u = qt_rng_uniform_double(rng) * total;
    int last = -1;
    for (int k = 0; k < QT_EX_KINDS; k++) {
        if (tried[k] || w[k] <= 0)
            continue;
        last = k;
        if (u < w[k])
            return k;
        u -= w[k];
    }
    return last;
}

int qt_examples_from_squad(const qt_squad *s, const qt_neg_opts *opts, qt_example_set *out, qt_err *e)
{
    qt_rng rng;
    qt_rng_seed(&rng, opts->seed);
    double share = opts->share < 0 ? 0 : opts->share > 0.9 ? 0.9 : opts->share;
    double per_question = share / (1.0 - share);
    article_pool pool;
    memset(&pool, 0, sizeof pool);
    pool.article = -1;
    int rc = 0;
    for (int qi = 0; qi < s->n_questions && rc == 0; qi++) {
        const qt_question *q = &s->questions[qi];
        const char *ctx;
        size_t len;
        long a, b;
        if (q->is_impossible || !gold(s, q, &ctx, &len, &a, &b))
            continue;
        int article = s->paragraphs[q->paragraph].article;
        if ((rc = qt_example_set_add(out, q->text, ctx, len, a, b, QT_EX_ANSWERABLE, article, e)) < 0)
            break;
        int n_neg = (int)per_question;
        if (qt_rng_uniform_double(&rng) < per_question - n_neg)
            n_neg++;
        for (int k = 0; k < n_neg && rc == 0; k++) {
            int tried[QT_EX_KINDS] = {0};
            int kind;
            while ((kind = weighted_kind(opts, tried, &rng)) >= 0) {
                tried[kind] = 1;
                if (kind == QT_EX_OTHER_PARAGRAPH) {
                    const qt_paragraph *p;
                    if (other_paragraph(s, q, &rng, &p)) {
                        rc = qt_example_set_add(out, q->text, p->context, p->context_len, -1, -1, kind, article, e);
                        break;
                    }
                    continue;
                }
                if (pool.article != article && (rc = pool_build(&pool, s, article, e)) < 0)
                    break;
                char *nq = NULL;
                int made = perturb_with_pool(s, q, (qt_ex_kind)kind, &pool, &rng, &nq, e);
                if (made < 0) {
                    rc = -1;
                    break;
                }
                if (made) {
                    rc = qt_example_set_add(out, nq, ctx, len, -1, -1, kind, article, e);
                    free(nq);
                    break;
                }
            }
        }
    }
    pool_free(&pool);
    return rc;
}

int qt_examples_add_articles(const qt_squad *s, int first, int count, int answerable_too, qt_example_set *out,
                             qt_err *e)
{
    for (int ai = first; ai < first + count && ai < s->n_articles; ai++) {
        const qt_article *a = &s->articles[ai];
        for (int pi = a->first_paragraph; pi < a->first_paragraph + a->n_paragraphs; pi++) {
            const qt_paragraph *p = &s->paragraphs[pi];
            for (int qi = p->first_question; qi < p->first_question + p->n_questions; qi++) {
                const qt_question *q = &s->questions[qi];
                int rc = 0;
                if (q->is_impossible || q->n_answers == 0)
                    rc = qt_example_set_add(out, q->text, p->context, p->context_len, -1, -1,
                                            QT_EX_DEV_UNANSWERABLE, ai, e);
                else if (answerable_too && q->answers[0].start_byte >= 0)
                    rc = qt_example_set_add(out, q->text, p->context, p->context_len, q->answers[0].start_byte,
                                            q->answers[0].start_byte + (long)strlen(q->answers[0].text),
                                            QT_EX_ANSWERABLE, ai, e);
                if (rc < 0)
                    return -1;
            }
        }
    }
    return 0;
}
