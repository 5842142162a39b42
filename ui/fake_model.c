/* A stand-in model for the TUI's own tests, so that panels, spans, EM
 * badges, cancelling and a kill in the middle of a question can be checked
 * before (and without) trained checkpoints. It is used only when the
 * environment has QATERM_UI_FAKE_MODELS=1 and the folder's config.json says
 * "model_type": "qaterm_ui_fake"; real folders always go to qt_model_load.
 *
 * config.json: qaterm_name, qaterm_variant, fake_delay_ms (time taken per
 * answer, polling cancel), fake_never (1: always "no answer").
 * Its answer: the sentence sharing most words with the question, and in it
 * the first number, else the first capitalised word the question lacks. */
#include "ui/ui.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/json.h"
#include "util/paths.h"

typedef struct fake_impl {
    int delay_ms;
    int never;
} fake_impl;

static int word_char(char c)
{
    return isalnum((unsigned char)c) || (unsigned char)c >= 0x80;
}

/* Does the lower-cased word w (n bytes) occur as a word in s[a, b)? */
static int has_word(const char *s, size_t a, size_t b, const char *w, size_t n)
{
    for (size_t i = a; i + n <= b; i++) {
        if ((i == a || !word_char(s[i - 1])) && strncasecmp(s + i, w, n) == 0 &&
            (i + n == b || !word_char(s[i + n])))
            return 1;
    }
    return 0;
}

static int fake_answer(qt_model *m, const char *question, const char *context, qt_qa_answer *out,
                       qt_err *e)
{
    const fake_impl *f = m->impl;
    for (int waited = 0; waited < f->delay_ms; waited += 10) {
        if (m->cancel && *m->cancel)
            return qt_fail(e, "cancelled");
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    if (m->cancel && *m->cancel)
        return qt_fail(e, "cancelled");
    size_t len = strlen(context), qlen = strlen(question);
    size_t best_a = 0, best_b = 0;
    int best = 0;
    for (size_t a = 0; a < len;) {
        size_t b = a;
        while (b < len && !(context[b] == '.' && (b + 1 == len || context[b + 1] == ' ')))
            b++;
        int overlap = 0;
        for (size_t i = 0; i < qlen;) {
            while (i < qlen && !word_char(question[i]))
                i++;
            size_t j = i;
            while (j < qlen && word_char(question[j]))
                j++;
            if (j - i >= 4 && has_word(context, a, b, question + i, j - i))
                overlap++;
            i = j;
        }
        if (overlap > best)
            best = overlap, best_a = a, best_b = b;
        a = b + 2;
    }
    out->char_start = out->char_end = out->byte_start = out->byte_end = -1;
    out->best_char_start = out->best_char_end = -1;
    size_t as = 0, ae = 0;
    if (best > 0 && !f->never) {
        /* the first number, else a capitalised word the question lacks */
        for (int pass = 0; pass < 2 && ae == 0; pass++) {
            for (size_t i = best_a; i < best_b;) {
                while (i < best_b && !word_char(context[i]))
                    i++;
                size_t j = i;
                while (j < best_b && (word_char(context[j]) || (context[j] == ',' && pass == 0 &&
                                                                 j + 1 < best_b && isdigit((unsigned char)context[j + 1]))))
                    j++;
                if (j > i) {
                    int number = isdigit((unsigned char)context[i]);
                    int capital = isupper((unsigned char)context[i]) && i > best_a &&
                                  !has_word(question, 0, qlen, context + i, j - i);
                    if ((pass == 0 && number) || (pass == 1 && capital)) {
                        as = i, ae = j;
                        break;
                    }
                }
                i = j;
            }
        }
    }
    if (ae > as) {
        out->has_answer = 1;
        out->text = strndup(context + as, ae - as);
        out->byte_start = (long)as;
        out->byte_end = (long)ae;
        out->char_start = qt_utf8_char_index(context, as);
        out->char_end = qt_utf8_char_index(context, ae);
        out->confidence = best >= 3 ? 0.9 : 0.4 + 0.15 * best;
        out->no_answer_prob = 1.0 - out->confidence;
        out->best_text = strdup(out->text);
        out->best_char_start = out->char_start;
        out->best_char_end = out->char_end;
    } else {
        out->text = strdup("");
        out->best_text = strdup("");
        out->confidence = 0.7;
        out->no_answer_prob = 0.7;
    }
    out->score = best;
    if (!out->text || !out->best_text)
        return qt_fail(e, "out of memory");
    return 0;
}

static void fake_free(qt_model *m)
{
    free(m->impl);
    free(m);
}

static const qt_model_ops fake_ops = {.answer = fake_answer, .free = fake_free};

static const char fake_type[] = "qaterm_ui_fake";

int ui_fake_model_wanted(const char *dir)
{
    const char *env = getenv("QATERM_UI_FAKE_MODELS");
    if (!env || strcmp(env, "1") != 0)
        return 0;
    char p[4200];
    snprintf(p, sizeof p, "%s/config.json", dir);
    qt_err e;
    cJSON *cfg = qt_json_load_file(p, &e);
    if (!cfg)
        return 0;
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(cfg, "model_type");
    int yes = cJSON_IsString(t) && strcmp(t->valuestring, fake_type) == 0;
    cJSON_Delete(cfg);
    return yes;
}

qt_model *ui_fake_model_load(const char *dir, qt_err *e)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/config.json", dir);
    cJSON *cfg = qt_json_load_file(p, e);
    if (!cfg)
        return NULL;
    qt_model *m = calloc(1, sizeof *m);
    fake_impl *f = calloc(1, sizeof *f);
    if (!m || !f) {
        free(m);
        free(f);
        cJSON_Delete(cfg);
        qt_fail(e, "out of memory");
        return NULL;
    }
    const cJSON *delay = cJSON_GetObjectItemCaseSensitive(cfg, "fake_delay_ms");
    const cJSON *never = cJSON_GetObjectItemCaseSensitive(cfg, "fake_never");
    f->delay_ms = cJSON_IsNumber(delay) ? delay->valueint : 0;
    f->never = cJSON_IsNumber(never) && never->valueint != 0;
    m->ops = &fake_ops;
    m->impl = f;
    qt_model_info_init(&m->info, dir, cfg, "fake");
    m->info.n_params = 0;
    cJSON_Delete(cfg);
    return m;
}
