/* SQuAD 2.0 scoring, mirroring evaluate-v2.0.py step by step (including its
 * order of summation, so results agree to the last bit with Python <= 3.11,
 * whose sum() adds floats left to right). */
#include "qa/score.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qa/normalize.h"
#include "util/file.h"
#include "util/json.h"

/* ---- one answer pair ---------------------------------------------------- */

int qt_score_exact(const char *gold, const char *pred)
{
    char *g = qt_squad_normalize(gold), *p = qt_squad_normalize(pred);
    int same = g && p && strcmp(g, p) == 0;
    free(g);
    free(p);
    return same;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Splits a normalised string (single spaces between tokens) in place into a
 * sorted array of tokens. Returns the count, or -1 when out of memory. */
static long tokens_sorted(char *norm, char ***out)
{
    size_t n = 0;
    for (const char *c = norm; *c; c++)
        if (*c == ' ')
            n++;
    n = *norm ? n + 1 : 0;
    char **t = malloc((n ? n : 1) * sizeof *t);
    if (!t)
        return -1;
    size_t k = 0;
    for (char *c = norm; *c && k < n;) {
        t[k++] = c;
        char *sp = strchr(c, ' ');
        if (!sp)
            break;
        *sp = '\0';
        c = sp + 1;
    }
    qsort(t, n, sizeof *t, cmp_str);
    *out = t;
    return (long)n;
}

/* F1 of two normalised strings (modified in place). Sum over distinct
 * tokens of min(count in gold, count in pred) is a merge of sorted lists. */
static double f1_normalized(char *gold_norm, char *pred_norm)
{
    char **g = NULL, **p = NULL;
    long ng = tokens_sorted(gold_norm, &g), np = tokens_sorted(pred_norm, &p);
    double f1 = 0;
    if (ng < 0 || np < 0)
        goto done;
    if (ng == 0 || np == 0) {
        f1 = ng == np;
        goto done;
    }
    long same = 0;
    for (long i = 0, j = 0; i < ng && j < np;) {
        int c = strcmp(g[i], p[j]);
        if (c == 0) {
            same++;
            i++;
            j++;
        } else if (c < 0) {
            i++;
        } else {
            j++;
        }
    }
    if (same > 0) {
        /* Same operations in the same order as compute_f1. */
        double precision = 1.0 * (double)same / (double)np;
        double recall = 1.0 * (double)same / (double)ng;
        f1 = (2 * precision * recall) / (precision + recall);
    }
done:
    free(g);
    free(p);
    return f1;
}

double qt_score_f1(const char *gold, const char *pred)
{
    char *g = qt_squad_normalize(gold), *p = qt_squad_normalize(pred);
    double f1 = g && p ? f1_normalized(g, p) : 0;
    free(g);
    free(p);
    return f1;
}

int qt_score_golds(const char *const *golds, int n_golds, const char *pred, qt_qscore *out)
{
    out->exact = 0;
    out->f1 = 0;
    char *pn = qt_squad_normalize(pred);
    if (!pn)
        return -1;
    int kept = 0, rc = 0;
    for (int i = 0; i <= n_golds && rc == 0; i++) {
        char *gn;
        if (i < n_golds) {
            gn = qt_squad_normalize(golds[i]);
            if (gn && !*gn) { /* golds that normalise to "" are dropped */
                free(gn);
                continue;
            }
        } else if (kept == 0) {
            gn = strdup(""); /* no gold left: the only correct answer is "" */
        } else {
            break;
        }
        char *pc = strdup(pn);
        if (!gn || !pc) {
            rc = -1;
        } else {
            kept++;
            double em = strcmp(gn, pn) == 0;
            double f1 = f1_normalized(gn, pc);
            if (em > out->exact)
                out->exact = em;
            if (f1 > out->f1)
                out->f1 = f1;
        }
        free(gn);
        free(pc);
    }
    free(pn);
    return rc;
}

int qt_score_question(const qt_question *q, const char *pred, qt_qscore *out)
{
    const char **golds = malloc((q->n_answers ? (size_t)q->n_answers : 1) * sizeof *golds);
    if (!golds)
        return -1;
    for (int i = 0; i < q->n_answers; i++)
        golds[i] = q->answers[i].text;
    int rc = qt_score_golds(golds, q->n_answers, pred, out);
    free(golds);
    return rc;
}

/* ---- AUROC ---------------------------------------------------------------- */

typedef struct scored {
    double score;
    int positive;
} scored;

static int cmp_scored(const void *a, const void *b)
{
    double x = ((const scored *)a)->score, y = ((const scored *)b)->score;
    return (x > y) - (x < y);
}

double qt_auroc(const double *score, const int *positive, size_t n)
{
    size_t n_pos = 0;
    for (size_t i = 0; i < n; i++)
        n_pos += positive[i] != 0;
    size_t n_neg = n - n_pos;
    if (n_pos == 0 || n_neg == 0)
        return NAN;
    scored *v = malloc(n * sizeof *v);
    if (!v)
        return NAN;
    for (size_t i = 0; i < n; i++)
        v[i] = (scored){score[i], positive[i] != 0};
    qsort(v, n, sizeof *v, cmp_scored);
    /* Mann-Whitney: sum of the positives' ranks, tied values sharing their
     * mean rank. Twice the ranks are integers, so the sums are exact. */
    double twice_rank_sum = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        size_t pos_in_group = 0;
        while (j < n && v[j].score == v[i].score)
            pos_in_group += (size_t)v[j++].positive;
        double twice_mid_rank = (double)(i + 1) + (double)j; /* ranks i+1..j */
        twice_rank_sum += twice_mid_rank * (double)pos_in_group;
        i = j;
    }
    free(v);
    double twice_u = twice_rank_sum - (double)n_pos * (double)(n_pos + 1);
    return twice_u / 2.0 / ((double)n_pos * (double)n_neg);
}

/* ---- a whole file ------------------------------------------------------- */

/* A JSON path for a key of the top-level object: $.KEY when the key is a
 * plain word, $["KEY"] otherwise (shortened when long). */
static void key_path(const char *key, char *buf, size_t size)
{
    int plain = *key != '\0';
    for (const char *c = key; *c && plain; c++)
        plain = (*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                *c == '_' || *c == '-';
    if (plain && strlen(key) <= 80) {
        snprintf(buf, size, "$.%s", key);
        return;
    }
    char esc[100];
    size_t o = 0;
    for (const char *c = key; *c && o + 4 < sizeof esc; c++) {
        if (*c == '"' || *c == '\\')
            esc[o++] = '\\';
        esc[o++] = (unsigned char)*c < 0x20 ? '?' : *c;
    }
    esc[o] = '\0';
    snprintf(buf, size, "$[\"%s%s\"]", esc, key[0] && strlen(key) > o ? "..." : "");
}

typedef struct eval_state {
    const qt_squad *data;
    int n_unique;
    int *unique;         /* question index of each distinct id's first occurrence */
    int *last;           /* [first occurrence] -> last occurrence of that id */
    const char **pred;   /* [first occurrence] -> prediction */
    double *prob;        /* [first occurrence] -> no-answer probability */
    long *prob_order;    /* [first occurrence] -> position of the id in na_probs, or -1 */
    const char **prob_literal; /* [first occurrence] -> its source text, when known */
    double *exact_raw, *f1_raw; /* [unique k] */
    int *has_ans;        /* [unique k] */
} eval_state;

static void eval_state_free(eval_state *st)
{
    free(st->unique);
    free(st->last);
    free(st->pred);
    free(st->prob);
    free(st->prob_order);
    free(st->prob_literal);
    free(st->exact_raw);
    free(st->f1_raw);
    free(st->has_ans);
}

static int question_index(const eval_state *st, const char *id)
{
    const qt_question *q = qt_squad_find(st->data, id);
    return q ? (int)(q - st->data->questions) : -1;
}

/* Python dicts: a repeated id keeps the position of its first occurrence and
 * the value of its last, both for the data set's questions and for keys
 * repeated in a JSON object (json.load keeps the last). */
static int read_preds(eval_state *st, const cJSON *preds, const char *name, qt_err *e)
{
    char path[160];
    if (!cJSON_IsObject(preds))
        return qt_fail(e, "%s: at $: expected an object mapping question ids to answer strings, got %s",
                       name, qt_json_type_name(preds));
    for (const cJSON *it = preds->child; it; it = it->next) {
        if (!cJSON_IsString(it)) {
            key_path(it->string, path, sizeof path);
            return qt_fail(e, "%s: at %s: expected an answer string, got %s", name, path,
                           qt_json_type_name(it));
        }
        int q = question_index(st, it->string);
        if (q >= 0)
            st->pred[q] = it->valuestring;
    }
    return 0;
}

static int read_probs(eval_state *st, const cJSON *probs, const char *name, qt_err *e)
{
    char path[160];
    if (!cJSON_IsObject(probs))
        return qt_fail(e, "%s: at $: expected an object mapping question ids to probabilities, got %s",
                       name, qt_json_type_name(probs));
    long pos = 0;
    for (const cJSON *it = probs->child; it; it = it->next, pos++) {
        if (!cJSON_IsNumber(it)) {
            key_path(it->string, path, sizeof path);
            return qt_fail(e, "%s: at %s: expected a number (probability of no answer), got %s", name,
                           path, qt_json_type_name(it));
        }
        int q = question_index(st, it->string);
        if (q < 0)
            continue;
        st->prob[q] = it->valuedouble;
        st->prob_literal[q] = it->valuestring;
        if (st->prob_order[q] < 0)
            st->prob_order[q] = pos;
    }
    return 0;
}

static int index_questions(eval_state *st, qt_err *e)
{
    const qt_squad *s = st->data;
    int n = s->n_questions;
    size_t m = n ? (size_t)n : 1;
    st->unique = malloc(m * sizeof *st->unique);
    st->last = malloc(m * sizeof *st->last);
    st->pred = calloc(m, sizeof *st->pred);
    st->prob = calloc(m, sizeof *st->prob);
    st->prob_order = malloc(m * sizeof *st->prob_order);
    st->prob_literal = calloc(m, sizeof *st->prob_literal);
    st->exact_raw = malloc(m * sizeof *st->exact_raw);
    st->f1_raw = malloc(m * sizeof *st->f1_raw);
    st->has_ans = malloc(m * sizeof *st->has_ans);
    if (!st->unique || !st->last || !st->pred || !st->prob || !st->prob_order || !st->prob_literal ||
        !st->exact_raw || !st->f1_raw || !st->has_ans)
        return qt_fail(e, "out of memory scoring %s", s->path ? s->path : "the data");
    for (int i = 0; i < n; i++) {
        st->prob_order[i] = -1;
        int first = question_index(st, s->questions[i].id);
        if (first < 0)
            first = i;
        if (first == i)
            st->unique[st->n_unique++] = i;
        st->last[first] = i;
    }
    return 0;
}

/* get_raw_scores, after checking that every question has a prediction. */
static int raw_scores(eval_state *st, const char *pred_name, const char *na_name, qt_err *e)
{
    const qt_squad *s = st->data;
    int missing = 0, first_missing = -1, missing_prob = 0, first_missing_prob = -1;
    for (int k = 0; k < st->n_unique; k++) {
        int u = st->unique[k];
        if (!st->pred[u] && missing++ == 0)
            first_missing = u;
        if (na_name && st->prob_order[u] < 0 && missing_prob++ == 0)
            first_missing_prob = u;
    }
    if (missing)
        return qt_fail(e, "%s: no prediction for question %s (%d of %d questions have none; the "
                          "official script needs one for every question)",
                       pred_name, s->questions[first_missing].id, missing, st->n_unique);
    if (missing_prob)
        return qt_fail(e, "%s: no probability for question %s (%d of %d questions have none)", na_name,
                       s->questions[first_missing_prob].id, missing_prob, st->n_unique);
    for (int k = 0; k < st->n_unique; k++) {
        int u = st->unique[k];
        const qt_question *q = &s->questions[st->last[u]];
        qt_qscore sc;
        if (qt_score_question(q, st->pred[u], &sc) != 0)
            return qt_fail(e, "out of memory scoring %s", pred_name);
        st->exact_raw[k] = sc.exact;
        st->f1_raw[k] = sc.f1;
        st->has_ans[k] = q->n_answers > 0;
    }
    return 0;
}

/* make_eval_dict over the questions with has_ans == want (want < 0: all),
 * after apply_no_ans_threshold; merged under prefix ("" for the main one). */
static void add_eval(cJSON *out, const eval_state *st, int want, const char *prefix, double thresh)
{
    double exact_sum = 0, f1_sum = 0;
    int total = 0;
    for (int k = 0; k < st->n_unique; k++) {
        if (want >= 0 && st->has_ans[k] != want)
            continue;
        double exact = st->exact_raw[k], f1 = st->f1_raw[k];
        if (st->prob[st->unique[k]] > thresh)
            exact = f1 = st->has_ans[k] ? 0.0 : 1.0;
        exact_sum += exact;
        f1_sum += f1;
        total++;
    }
    if (want >= 0 && total == 0)
        return;
    char key[32];
    snprintf(key, sizeof key, "%sexact", prefix);
    cJSON_AddNumberToObject(out, key, 100.0 * exact_sum / total);
    snprintf(key, sizeof key, "%sf1", prefix);
    cJSON_AddNumberToObject(out, key, 100.0 * f1_sum / total);
    snprintf(key, sizeof key, "%stotal", prefix);
    cJSON_AddNumberToObject(out, key, total);
}

typedef struct by_prob {
    double prob;
    long order;
    int k;
} by_prob;

static int cmp_by_prob(const void *a, const void *b)
{
    const by_prob *x = a, *y = b;
    if (x->prob != y->prob)
        return x->prob < y->prob ? -1 : 1;
    return (x->order > y->order) - (x->order < y->order); /* Python's sort is stable */
}

/* find_best_thresh: walk the questions by rising probability, as if each
 * probability in turn were the threshold, keeping the best running score. */
static void best_thresh(const eval_state *st, const by_prob *sorted, const double *raw, double *best_out,
                        int *thresh_k)
{
    int num_no_ans = 0;
    for (int k = 0; k < st->n_unique; k++)
        num_no_ans += !st->has_ans[k];
    double cur = num_no_ans, best = cur;
    int best_k = -1; /* -1: the initial threshold 0.0 */
    for (int i = 0; i < st->n_unique; i++) {
        int k = sorted[i].k;
        double diff;
        if (st->has_ans[k])
            diff = raw[k];
        else
            diff = st->pred[st->unique[k]][0] ? -1 : 0; /* the raw prediction's truth value */
        cur += diff;
        if (cur > best) {
            best = cur;
            best_k = k;
        }
    }
    *best_out = 100.0 * best / st->n_unique;
    *thresh_k = best_k;
}

/* A threshold is the probability of one question (or 0.0): printed as an
 * int when the na_prob file wrote it as one, as Python would. */
static void add_thresh(cJSON *out, const char *key, const eval_state *st, int k)
{
    if (k < 0) {
        cJSON_AddNumberToObject(out, key, 0.0);
        return;
    }
    int u = st->unique[k];
    const char *lit = st->prob_literal[u];
    if (lit && !strpbrk(lit, ".eE")) {
        cJSON_AddRawToObject(out, key, strcmp(lit, "-0") == 0 ? "0" : lit);
        return;
    }
    cJSON_AddNumberToObject(out, key, st->prob[u]);
}

static int add_na_prob_fields(cJSON *out, const eval_state *st, qt_err *e)
{
    int n = st->n_unique;
    by_prob *sorted = malloc((size_t)n * sizeof *sorted);
    double *probs = malloc((size_t)n * sizeof *probs);
    int *no_ans = malloc((size_t)n * sizeof *no_ans);
    if (!sorted || !probs || !no_ans) {
        free(sorted);
        free(probs);
        free(no_ans);
        return qt_fail(e, "out of memory");
    }
    for (int k = 0; k < n; k++) {
        int u = st->unique[k];
        sorted[k] = (by_prob){st->prob[u], st->prob_order[u], k};
        probs[k] = st->prob[u];
        no_ans[k] = !st->has_ans[k];
    }
    qsort(sorted, (size_t)n, sizeof *sorted, cmp_by_prob);
    double best;
    int k;
    best_thresh(st, sorted, st->exact_raw, &best, &k);
    cJSON_AddNumberToObject(out, "best_exact", best);
    add_thresh(out, "best_exact_thresh", st, k);
    best_thresh(st, sorted, st->f1_raw, &best, &k);
    cJSON_AddNumberToObject(out, "best_f1", best);
    add_thresh(out, "best_f1_thresh", st, k);
    double auc = qt_auroc(probs, no_ans, (size_t)n);
    if (isnan(auc))
        cJSON_AddNullToObject(out, "na_prob_auroc");
    else
        cJSON_AddNumberToObject(out, "na_prob_auroc", auc);
    free(sorted);
    free(probs);
    free(no_ans);
    return 0;
}

cJSON *qt_score_eval(const qt_squad *data, const cJSON *preds, const char *pred_name,
                     const cJSON *na_probs, const char *na_name, double na_prob_thresh, qt_err *e)
{
    eval_state st = {.data = data};
    cJSON *out = NULL;
    if (index_questions(&st, e) != 0)
        goto fail;
    if (st.n_unique == 0) {
        qt_fail(e, "%s: no questions to score", data->path ? data->path : "data");
        goto fail;
    }
    if (read_preds(&st, preds, pred_name, e) != 0)
        goto fail;
    if (na_probs && read_probs(&st, na_probs, na_name, e) != 0)
        goto fail;
    if (raw_scores(&st, pred_name, na_probs ? na_name : NULL, e) != 0)
        goto fail;
    if (!(out = cJSON_CreateObject())) {
        qt_fail(e, "out of memory");
        goto fail;
    }
    add_eval(out, &st, -1, "", na_prob_thresh);
    add_eval(out, &st, 1, "HasAns_", na_prob_thresh);
    add_eval(out, &st, 0, "NoAns_", na_prob_thresh);
    if (na_probs && add_na_prob_fields(out, &st, e) != 0)
        goto fail;
    eval_state_free(&st);
    return out;
fail:
    cJSON_Delete(out);
    eval_state_free(&st);
    return NULL;
}

/* ---- the na_prob file ---------------------------------------------------- */

static size_t skip_ws(const char *t, size_t i, size_t len)
{
    while (i < len && (t[i] == ' ' || t[i] == '\t' || t[i] == '\n' || t[i] == '\r'))
        i++;
    return i;
}

/* Walks the (already parsed, so valid) text of a flat object alongside its
 * items and stores each number's literal in its valuestring. Stops quietly at
 * anything that is not "key": number; such values are reported later. */
static int attach_number_literals(cJSON *root, const char *t, size_t len)
{
    size_t i = skip_ws(t, 0, len);
    if (!cJSON_IsObject(root) || i >= len || t[i] != '{')
        return 0;
    i++;
    for (cJSON *it = root->child; it; it = it->next) {
        i = skip_ws(t, i, len);
        if (i >= len || t[i] != '"')
            return 0;
        for (i++; i < len && t[i] != '"'; i++)
            if (t[i] == '\\')
                i++;
        i = skip_ws(t, i + 1, len);
        if (i >= len || t[i] != ':')
            return 0;
        i = skip_ws(t, i + 1, len);
        size_t start = i;
        while (i < len && strchr("0123456789+-.eE", t[i]) && t[i])
            i++;
        if (i == start || !cJSON_IsNumber(it))
            return 0;
        if (!(it->valuestring = strndup(t + start, i - start)))
            return -1;
        i = skip_ws(t, i, len);
        if (i < len && t[i] == ',')
            i++;
    }
    return 0;
}

cJSON *qt_score_load_probs(const char *path, qt_err *e)
{
    char *text;
    size_t len;
    if (qt_read_file(path, 0, &text, &len, e) != 0)
        return NULL;
    cJSON *root = qt_json_parse(strcmp(path, "-") == 0 ? "<stdin>" : path, text, len, e);
    if (root && attach_number_literals(root, text, len) != 0) {
        qt_fail(e, "%s: out of memory", path);
        cJSON_Delete(root);
        root = NULL;
    }
    free(text);
    return root;
}

/* ---- printing as Python does -------------------------------------------- */

void qt_py_float_repr(double x, char *buf, size_t size)
{
    if (isnan(x)) {
        snprintf(buf, size, "NaN");
        return;
    }
    if (isinf(x)) {
        snprintf(buf, size, x > 0 ? "Infinity" : "-Infinity");
        return;
    }
    if (x == 0) {
        snprintf(buf, size, signbit(x) ? "-0.0" : "0.0");
        return;
    }
    /* The fewest significant digits that read back as x. */
    char sci[64];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(sci, sizeof sci, "%.*e", prec - 1, x);
        if (strtod(sci, NULL) == x)
            break;
    }
    const char *p = sci;
    int neg = *p == '-';
    if (neg)
        p++;
    char digits[32];
    int nd = 0;
    for (; *p && *p != 'e'; p++)
        if (*p >= '0' && *p <= '9')
            digits[nd++] = *p;
    digits[nd] = '\0';
    int exp10 = atoi(p + 1);
    int decpt = exp10 + 1; /* x = 0.DIGITS * 10^decpt */
    char out[96];
    size_t o = 0;
    if (neg)
        out[o++] = '-';
    if (decpt <= -4 || decpt > 16) {
        out[o++] = digits[0];
        if (nd > 1) {
            out[o++] = '.';
            memcpy(out + o, digits + 1, (size_t)nd - 1);
            o += (size_t)nd - 1;
        }
        snprintf(out + o, sizeof out - o, "e%c%02d", exp10 < 0 ? '-' : '+', abs(exp10));
    } else if (decpt <= 0) {
        out[o++] = '0';
        out[o++] = '.';
        for (int i = 0; i < -decpt; i++)
            out[o++] = '0';
        memcpy(out + o, digits, (size_t)nd + 1);
    } else if (decpt >= nd) {
        memcpy(out + o, digits, (size_t)nd);
        o += (size_t)nd;
        for (int i = nd; i < decpt; i++)
            out[o++] = '0';
        memcpy(out + o, ".0", 3);
    } else {
        memcpy(out + o, digits, (size_t)decpt);
        o += (size_t)decpt;
        out[o++] = '.';
        memcpy(out + o, digits + decpt, (size_t)(nd - decpt) + 1);
    }
    snprintf(buf, size, "%s", out);
}

static int is_int_key(const char *key)
{
    size_t n = strlen(key);
    return strcmp(key, "total") == 0 || (n > 6 && strcmp(key + n - 6, "_total") == 0);
}

char *qt_score_json_text(const cJSON *result)
{
    size_t cap = 256, len = 0;
    for (const cJSON *it = result->child; it; it = it->next)
        cap += strlen(it->string) + 48;
    char *out = malloc(cap);
    if (!out)
        return NULL;
    len += (size_t)snprintf(out + len, cap - len, "{");
    for (const cJSON *it = result->child; it; it = it->next) {
        char num[64];
        if (cJSON_IsRaw(it))
            snprintf(num, sizeof num, "%.63s", it->valuestring);
        else if (cJSON_IsNumber(it) && is_int_key(it->string))
            snprintf(num, sizeof num, "%.0f", it->valuedouble);
        else if (cJSON_IsNumber(it))
            qt_py_float_repr(it->valuedouble, num, sizeof num);
        else
            snprintf(num, sizeof num, "null");
        len += (size_t)snprintf(out + len, cap - len, "%s\n  \"%s\": %s", it == result->child ? "" : ",",
                                it->string, num);
    }
    snprintf(out + len, cap - len, "%s}", result->child ? "\n" : "");
    return out;
}
