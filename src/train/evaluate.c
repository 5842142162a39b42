/* Evaluation through qt_model_load / qt_model_answer and threshold tuning
 * (evaluate.h). */
#include "train/evaluate.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nn/blas_setup.h"
#include "qa/score.h"
#include "util/file.h"
#include "util/json.h"

#define MAX_EVAL_THREADS 16

typedef struct eval_job {
    const char *dir;
    const qt_squad *data;
    const int *qidx;
    int n, t, threads;
    qt_eval_pred *preds;
    int rc;
    qt_err err;
} eval_job;

static void *eval_thread(void *arg)
{
    eval_job *j = arg;
    qt_model *m = qt_model_load(j->dir, &j->err);
    if (!m) {
        j->rc = -1;
        return NULL;
    }
    for (int k = j->t; k < j->n; k += j->threads) {
        const qt_question *q = &j->data->questions[j->qidx[k]];
        const qt_paragraph *p = &j->data->paragraphs[q->paragraph];
        qt_qa_answer a;
        if (qt_model_answer(m, q->text, p->context, &a, &j->err) != 0) {
            qt_fail_prefix(&j->err, "question %s", q->id);
            j->rc = -1;
            break;
        }
        qt_eval_pred *pr = &j->preds[j->qidx[k]];
        pr->text = strdup(a.has_answer && a.text ? a.text : "");
        pr->best_text = strdup(a.best_text ? a.best_text : "");
        pr->na_prob = a.no_answer_prob;
        pr->margin = pr->best_text && pr->best_text[0] ? a.margin : -INFINITY;
        qt_qa_answer_free(&a);
        if (!pr->text || !pr->best_text) {
            j->rc = qt_fail(&j->err, "out of memory");
            break;
        }
    }
    qt_model_free(m);
    return NULL;
}

void qt_eval_preds_free(qt_eval_pred *p, int n)
{
    if (!p)
        return;
    for (int i = 0; i < n; i++) {
        free(p[i].text);
        free(p[i].best_text);
    }
    free(p);
}

typedef struct margin_item {
    double margin;
    double gain; /* EM change when this question becomes answered */
} margin_item;

static int by_margin_desc(const void *a, const void *b)
{
    const margin_item *x = a, *y = b;
    return x->margin > y->margin ? -1 : x->margin < y->margin;
}

double qt_tune_null_threshold(const qt_squad *data, const qt_eval_pred *preds, double *best_exact)
{
    int n = 0;
    margin_item *items = malloc(((size_t)data->n_questions + 1) * sizeof *items);
    double base = 0; /* EM when nothing is answered */
    for (int i = 0; items && i < data->n_questions; i++) {
        if (!preds[i].text)
            continue;
        const qt_question *q = &data->questions[i];
        qt_qscore none, best;
        qt_score_question(q, "", &none);
        qt_score_question(q, preds[i].best_text, &best);
        base += none.exact;
        items[n++] = (margin_item){preds[i].margin, best.exact - none.exact};
    }
    if (!items || n == 0) {
        free(items);
        *best_exact = 0;
        return 0;
    }
    qsort(items, (size_t)n, sizeof *items, by_margin_desc);
    /* threshold above every margin: nothing answered; lowering it past
     * items[k] answers it */
    double score = base, best = base;
    int best_k = -1;
    for (int k = 0; k < n; k++) {
        if (!isfinite(items[k].margin) && items[k].margin < 0)
            break;
        score += items[k].gain;
        if (score > best && (k + 1 == n || items[k + 1].margin < items[k].margin)) {
            best = score;
            best_k = k;
        }
    }
    double thr;
    if (best_k < 0)
        thr = isfinite(items[0].margin) ? items[0].margin + 1.0 : 1e4;
    else if (best_k + 1 < n && isfinite(items[best_k + 1].margin))
        thr = 0.5 * (items[best_k].margin + items[best_k + 1].margin);
    else
        thr = items[best_k].margin - 1.0;
    if (!isfinite(thr))
        thr = thr > 0 ? 1e4 : -1e4;
    *best_exact = 100.0 * best / n;
    free(items);
    return thr;
}

int qt_eval_dir(const char *dir, const qt_squad *data, int max_questions, int threads, qt_eval_result *r,
                qt_eval_pred *preds_out, qt_err *e)
{
    memset(r, 0, sizeof *r);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int total = data->n_questions;
    int n = max_questions > 0 && max_questions < total ? max_questions : total;
    int *qidx = malloc(((size_t)n + 1) * sizeof *qidx);
    qt_eval_pred *preds = preds_out ? preds_out : calloc((size_t)total + 1, sizeof *preds);
    if (!qidx || !preds) {
        free(qidx);
        if (!preds_out)
            free(preds);
        return qt_fail(e, "out of memory");
    }
    for (int k = 0; k < n; k++)
        qidx[k] = (int)((long)k * total / n);
    if (threads < 1)
        threads = 1;
    if (threads > MAX_EVAL_THREADS)
        threads = MAX_EVAL_THREADS;
    int saved_blas = qt_blas_threads();
    qt_blas_set_threads(1);
    eval_job jobs[MAX_EVAL_THREADS];
    pthread_t th[MAX_EVAL_THREADS];
    int started[MAX_EVAL_THREADS] = {0};
    for (int t = 0; t < threads; t++) {
        jobs[t] = (eval_job){dir, data, qidx, n, t, threads, preds, 0, {{0}}};
        if (t > 0)
            started[t] = pthread_create(&th[t], NULL, eval_thread, &jobs[t]) == 0;
        if (t > 0 && !started[t])
            jobs[t].rc = qt_fail(&jobs[t].err, "cannot start an evaluation thread");
    }
    eval_thread(&jobs[0]);
    for (int t = 1; t < threads; t++)
        if (started[t])
            pthread_join(th[t], NULL);
    qt_blas_set_threads(saved_blas);
    int rc = 0;
    for (int t = 0; t < threads && rc == 0; t++)
        if (jobs[t].rc != 0) {
            *e = jobs[t].err;
            rc = -1;
        }
    if (rc == 0) {
        double *score = malloc((size_t)n * sizeof *score);
        int *pos = malloc((size_t)n * sizeof *pos);
        double em = 0, f1 = 0, hem = 0, hf1 = 0, nem = 0, fhf1 = 0, fhem = 0, none_em = 0;
        for (int k = 0; k < n && score && pos; k++) {
            const qt_question *q = &data->questions[qidx[k]];
            const qt_eval_pred *p = &preds[qidx[k]];
            qt_qscore s, forced, none;
            qt_score_question(q, p->text, &s);
            qt_score_question(q, "", &none);
            int has = q->n_answers > 0 && !q->is_impossible;
            em += s.exact;
            f1 += s.f1;
            none_em += none.exact;
            if (has) {
                qt_score_question(q, p->best_text, &forced);
                hem += s.exact, hf1 += s.f1;
                fhf1 += forced.f1, fhem += forced.exact;
                r->n_has++;
            } else {
                nem += s.exact;
                r->n_no++;
            }
            score[k] = p->na_prob;
            pos[k] = !has;
        }
        r->n = n;
        r->exact = 100.0 * em / n;
        r->f1 = 100.0 * f1 / n;
        r->has_exact = r->n_has ? 100.0 * hem / r->n_has : NAN;
        r->has_f1 = r->n_has ? 100.0 * hf1 / r->n_has : NAN;
        r->forced_has_f1 = r->n_has ? 100.0 * fhf1 / r->n_has : NAN;
        r->forced_has_exact = r->n_has ? 100.0 * fhem / r->n_has : NAN;
        r->no_exact = r->n_no ? 100.0 * nem / r->n_no : NAN;
        r->always_no_exact = 100.0 * none_em / n;
        r->auroc = score && pos ? qt_auroc(score, pos, (size_t)n) : NAN;
        r->best_threshold = qt_tune_null_threshold(data, preds, &r->best_exact);
        free(score);
        free(pos);
    }
    free(qidx);
    if (!preds_out)
        qt_eval_preds_free(preds, total);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    r->seconds = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    return rc;
}

/* Where the top-level "qaterm_null_threshold" value starts and ends in the
 * text of a config (0 when it has none). */
static int find_threshold_value(const char *text, size_t *start, size_t *end)
{
    static const char key[] = "\"qaterm_null_threshold\"";
    for (const char *p = strstr(text, key); p; p = strstr(p + 1, key)) {
        const char *q = p + sizeof key - 1;
        q += strspn(q, " \t\r\n");
        if (*q != ':')
            continue;
        q++;
        q += strspn(q, " \t\r\n");
        size_t n = strspn(q, "+-0123456789.eE");
        if (n == 0)
            continue;
        *start = (size_t)(q - text);
        *end = *start + n;
        return 1;
    }
    return 0;
}

/* Edits the text rather than printing the parsed object again: every other
 * byte stays as written, so 1.0 stays 1.0 (a reprint makes it 1, which
 * transformers' strict config classes refuse for float fields). */
int qt_write_null_threshold(const char *dir, double threshold, qt_err *e)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/config.json", dir);
    if (!isfinite(threshold))
        return qt_fail(e, "%s: a threshold of %g cannot be written", path, threshold);
    char num[48];
    snprintf(num, sizeof num, "%.17g", threshold);
    if (!strpbrk(num, ".eE"))
        strcat(num, ".0");
    char *text;
    size_t len;
    if (qt_read_file(path, 0, &text, &len, e) != 0)
        return -1;
    cJSON *j = cJSON_ParseWithLength(text, len);
    int is_obj = cJSON_IsObject(j);
    cJSON_Delete(j);
    if (!is_obj) {
        free(text);
        return qt_fail(e, "%s: at $: expected a JSON object", path);
    }
    size_t start, end, nl = strlen(num);
    char *out = malloc(len + nl + 64);
    if (!out) {
        free(text);
        return qt_fail(e, "out of memory");
    }
    size_t k = 0;
    if (find_threshold_value(text, &start, &end)) {
        memcpy(out, text, start);
        memcpy(out + start, num, nl);
        memcpy(out + start + nl, text + end, len - end);
        k = start + nl + len - end;
    } else { /* a new last key, before the closing brace */
        size_t close = len;
        while (close > 0 && text[close - 1] != '}')
            close--;
        size_t last = close - 1; /* the brace */
        size_t before = last;
        while (before > 0 && strchr(" \t\r\n", text[before - 1]))
            before--;
        int empty = before > 0 && text[before - 1] == '{';
        memcpy(out, text, before);
        k = before;
        k += (size_t)sprintf(out + k, "%s\n  \"qaterm_null_threshold\": %s\n", empty ? "" : ",", num);
        memcpy(out + k, text + last, len - last);
        k += len - last;
    }
    free(text);
    if (k == 0 || out[k - 1] != '\n')
        out[k++] = '\n';
    /* what is written must read back as the same object with this value */
    cJSON *check = cJSON_ParseWithLength(out, k);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(check, "qaterm_null_threshold");
    int ok = cJSON_IsNumber(v) && v->valuedouble == threshold;
    cJSON_Delete(check);
    int rc = ok ? qt_write_file_atomic(path, out, k, e)
                : qt_fail(e, "%s: internal error: the edited config does not read back", path);
    free(out);
    return rc;
}

const char *qt_eval_csv_header(void)
{
    return "questions,exact,f1,HasAns_exact,HasAns_f1,NoAns_exact,forced_HasAns_exact,"
           "forced_HasAns_f1,na_prob_auroc,best_exact,best_threshold,always_no_exact,eval_seconds";
}

void qt_eval_csv_row(const qt_eval_result *r, char *buf, size_t size)
{
    snprintf(buf, size, "%d,%.4f,%.4f,%.4f,%.4f,%.4f,%.4f,%.4f,%.6f,%.4f,%.6g,%.4f,%.1f", r->n, r->exact,
             r->f1, r->has_exact, r->has_f1, r->no_exact, r->forced_has_exact, r->forced_has_f1, r->auroc,
             r->best_exact, r->best_threshold, r->always_no_exact, r->seconds);
}
