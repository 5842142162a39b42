/* History: the recorded sessions, newest first (date, mode, passages,
 * questions, EM per model); Enter opens one to show every question with
 * each model's answer, EM/F1 and latency. */
#include "ui/ui.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct ui_history_state {
    qt_session_info *sessions; /* oldest first, as the store lists them */
    size_t n;
    int *n_passages;
    int sel, top;              /* in newest-first order */
    qt_question_row *rows;     /* the open session's questions */
    size_t n_rows;
    int64_t open_id;
    ui_doc doc;
    int doc_width, doc_top;
} ui_history_state;

static void free_detail(ui_history_state *h)
{
    qt_question_rows_free(h->rows, h->n_rows);
    h->rows = NULL;
    h->n_rows = 0;
    ui_doc_clear(&h->doc);
    h->doc_width = 0;
}

void ui_history_free(ui_app *a)
{
    ui_history_state *h = a->history;
    if (!h)
        return;
    free_detail(h);
    qt_session_infos_free(h->sessions, h->n);
    free(h->n_passages);
    free(h);
    a->history = NULL;
}

/* "2026-11-26T14:03:07.123Z" (UTC) as local "2026-11-26 15:03". */
static void local_time(const char *iso, char *out, size_t n, int seconds)
{
    struct tm tm = {0};
    if (!iso || !strptime(iso, "%Y-%m-%dT%H:%M:%S", &tm)) {
        ui_strlcpy(out, iso ? iso : "-", n);
        return;
    }
    time_t t = timegm(&tm);
    struct tm lt;
    localtime_r(&t, &lt);
    strftime(out, n, seconds ? "%Y-%m-%d %H:%M:%S" : "%Y-%m-%d %H:%M", &lt);
}

static int color_of_model(const ui_app *a, int64_t model_id, const char *arch)
{
    for (int i = 0; i < a->n_slots; i++)
        if (a->slots[i].store_id == model_id)
            return i;
    if (arch && strcmp(arch, "human") == 0)
        return UI_HUMAN_COLOR;
    return -1;
}

void ui_history_open(ui_app *a)
{
    ui_history_free(a);
    ui_history_state *h = calloc(1, sizeof *h);
    if (!h)
        return;
    a->history = h;
    qt_err e = {{0}};
    if (qt_store_list_sessions(a->store, &h->sessions, &h->n, &e) < 0) {
        ui_set_status(a, 1, "%s", e.msg);
        h->n = 0;
    }
    h->n_passages = calloc(h->n ? h->n : 1, sizeof *h->n_passages);
    qt_question_row *all = NULL;
    size_t n_all = 0;
    if (h->n_passages && qt_store_questions(a->store, 0, &all, &n_all, &e) == 0) {
        /* distinct passages per session */
        for (size_t s = 0; s < h->n; s++) {
            int count = 0;
            for (size_t i = 0; i < n_all; i++) {
                if (all[i].session_id != h->sessions[s].id)
                    continue;
                int seen = 0;
                for (size_t k = 0; k < i && !seen; k++)
                    seen = all[k].session_id == all[i].session_id && all[k].passage_id == all[i].passage_id;
                count += !seen;
            }
            h->n_passages[s] = count;
        }
        qt_question_rows_free(all, n_all);
    }
    ui_go(a, UI_SCR_HISTORY);
}

static const qt_session_info *selected(const ui_history_state *h)
{
    if (h->n == 0)
        return NULL;
    return &h->sessions[h->n - 1 - (size_t)h->sel];
}

/* Do the names, cut to `cut` columns, still tell the models apart? */
static int names_distinct(const qt_session_info *si, int cut)
{
    for (size_t i = 0; i < si->n_models; i++) {
        const char *ni = si->models[i].name;
        int w;
        size_t fi = ui_text_fit(ni, strlen(ni), cut, &w);
        for (size_t k = 0; k < i; k++) {
            const char *nk = si->models[k].name;
            size_t fk = ui_text_fit(nk, strlen(nk), cut, &w);
            if (fi == fk && memcmp(ni, nk, fi) == 0)
                return 0;
        }
    }
    return 1;
}

/* One try of em_list's layout; 1 when it fits. */
static int em_list_try(const qt_session_info *si, int cut, int terse, int width, char *out, size_t size)
{
    size_t n = 0;
    out[0] = '\0';
    for (size_t m = 0; m < si->n_models && n < size; m++) {
        const qt_model_em *me = &si->models[m];
        char em[16];
        if (me->n_scored > 0)
            snprintf(em, sizeof em, "%.0f%s", me->em, terse ? "" : "%");
        else
            snprintf(em, sizeof em, "-");
        int fw;
        size_t fit = ui_text_fit(me->name, strlen(me->name), cut, &fw);
        n += (size_t)snprintf(out + n, size - n, "%s%.*s %s", m ? (terse ? " " : "  ") : "", (int)fit,
                              me->name, em);
    }
    if (si->n_models == 0)
        snprintf(out, size, "-");
    return ui_text_width(out, strlen(out)) <= width;
}

/* "name 50%  name 75%" in width columns: names are cut, then the percent
 * signs and double spaces go, as far as needed; cuts that keep the models
 * apart ("tiny-bert", "tiny-mamba" must not both become "tiny") first. */
static void em_list(const qt_session_info *si, int width, char *out, size_t size)
{
    for (int distinct = 1; distinct >= 0; distinct--)
        for (int terse = 0; terse < 2; terse++)
            for (int cut = 64; cut >= 3; cut = cut > 12 ? 12 : cut - 1)
                if ((!distinct || names_distinct(si, cut)) && em_list_try(si, cut, terse, width, out, size))
                    return;
}

void ui_history_draw(ui_app *a)
{
    ui_history_state *h = a->history;
    ui_header(a, "qaterm %s History %s %zu session%s %s %s", ui_glyph()->bullet, ui_glyph()->bullet, h->n,
              h->n == 1 ? "" : "s", ui_glyph()->bullet, qt_store_path(a->store));
    attr_t title = ui_attr(UI_R_TITLE), dim = ui_attr(UI_R_DIM);
    ui_puts(stdscr, 1, 0, "  #    Started           Mode     Psg    Q  EM per model", COLS, title);
    int top = 2, detail = 3, rows = LINES - 3 - detail;
    ui_list_scroll(&h->sel, &h->top, (int)h->n, rows);
    for (int r = 0; r < rows && h->top + r < (int)h->n; r++) {
        int i = h->top + r;
        size_t k = h->n - 1 - (size_t)i;
        const qt_session_info *si = &h->sessions[k];
        attr_t at = i == h->sel ? ui_attr(UI_R_SELECT) : A_NORMAL;
        ui_fill(stdscr, top + r, 0, COLS, at);
        char when[32], line[256], ems[1024];
        local_time(si->started_at, when, sizeof when, 0);
        const char *mark = si->id == a->session_id                                 ? ui_glyph()->bullet
                           : si->end_reason && strcmp(si->end_reason, "crash") == 0 ? "!"
                                                                                    : " ";
        snprintf(line, sizeof line, "%s %-4lld %-16s  %-7s %4d %4d  ", mark, (long long)si->id, when, si->mode,
                 h->n_passages ? h->n_passages[k] : 0, si->n_questions);
        int used = ui_puts(stdscr, top + r, 0, line, COLS, at);
        em_list(si, COLS - used - 1, ems, sizeof ems);
        ui_puts_ellipsis(stdscr, top + r, used, ems, COLS - used - 1, at);
    }
    if (h->n == 0)
        ui_puts(stdscr, top, 2, "No sessions yet.", COLS - 4, dim);
    /* the chosen session in full */
    const qt_session_info *si = selected(h);
    int y = LINES - 1 - detail;
    ui_hline(stdscr, y, 0, COLS, dim);
    if (si) {
        char buf[2048], ems[1024];
        em_list(si, 1 << 20, ems, sizeof ems);
        snprintf(buf, sizeof buf, "Session #%lld (%s, %s): EM per model  %s", (long long)si->id, si->mode,
                 si->ended_at ? (si->end_reason ? si->end_reason : "ended") : "open", ems);
        ui_span *lines;
        int n = ui_wrap(buf, strlen(buf), COLS - 2, &lines);
        for (int r = 0; r < n && r < detail - 1; r++)
            ui_put(stdscr, y + 1 + r, 1, buf + lines[r].start, lines[r].end - lines[r].start, COLS - 2, A_NORMAL);
        if (n >= 0)
            free(lines);
    }
    ui_footer(a, ui_history_keys(a));
}

const char *const *ui_history_keys(const ui_app *a)
{
    static const char *const keys[] = {"↑↓", "move", "Enter", "open", "s", "stats", "?", "help", "q/Esc", "back", NULL};
    (void)a;
    return keys;
}

static void build_doc(ui_app *a, int width)
{
    ui_history_state *h = a->history;
    ui_doc_clear(&h->doc);
    h->doc_width = width;
    const qt_session_info *si = NULL;
    for (size_t i = 0; i < h->n; i++)
        if (h->sessions[i].id == h->open_id)
            si = &h->sessions[i];
    if (si) {
        char start[32], end[32];
        local_time(si->started_at, start, sizeof start, 0);
        local_time(si->ended_at, end, sizeof end, 0);
        ui_doc_add(&h->doc, width, 2, UI_R_TITLE, -1, 0, "Session #%lld %s %s %s started %s %s %s %s %d question%s",
                   (long long)si->id, ui_glyph()->bullet, si->mode, ui_glyph()->bullet, start, ui_glyph()->bullet,
                   si->ended_at ? end : si->id == a->session_id ? "open (this session)" : "open",
                   ui_glyph()->bullet, si->n_questions, si->n_questions == 1 ? "" : "s");
        ui_doc_add(&h->doc, width, 2, UI_R_DIM, -1, 0, "%s@%s, pid %lld%s%s", si->user, si->host, (long long)si->pid,
                   si->end_reason ? ", ended by " : "", si->end_reason ? si->end_reason : "");
    }
    for (size_t q = 0; q < h->n_rows; q++) {
        const qt_question_row *r = &h->rows[q];
        char when[32];
        local_time(r->asked_at, when, sizeof when, 1);
        ui_doc_add(&h->doc, width, 0, UI_R_NORMAL, -1, 0, "%s", "");
        ui_doc_add(&h->doc, width, 4, UI_R_TITLE, -1, 0, "%zu. %s", q + 1, r->text);
        if (r->paragraph_index >= 0)
            ui_doc_add(&h->doc, width, 4, UI_R_DIM, -1, 0, "   %s ¶%d %s %s", r->passage_title ? r->passage_title : "",
                       r->paragraph_index + 1, ui_glyph()->bullet, when);
        else
            ui_doc_add(&h->doc, width, 4, UI_R_DIM, -1, 0, "   %s %s %s",
                       r->passage_title ? r->passage_title : "pasted passage", ui_glyph()->bullet, when);
        /* gold answers from the stored JSON */
        cJSON *gold = cJSON_Parse(r->gold_json ? r->gold_json : "[]");
        char gbuf[1024] = "";
        size_t gn = 0;
        const cJSON *g;
        cJSON_ArrayForEach(g, gold) {
            const cJSON *t = cJSON_GetObjectItemCaseSensitive(g, "text");
            if (cJSON_IsString(t) && gn < sizeof gbuf)
                gn += (size_t)snprintf(gbuf + gn, sizeof gbuf - gn, "%s%s", gn ? " | " : "", t->valuestring);
        }
        cJSON_Delete(gold);
        if (r->is_impossible)
            ui_doc_add(&h->doc, width, 9, UI_R_GOLD, -1, 0, "   Gold: no answer");
        else if (gn)
            ui_doc_add(&h->doc, width, 9, UI_R_GOLD, -1, 0, "   Gold: %s", gbuf);
        for (size_t k = 0; k < r->n_answers; k++) {
            const qt_answer_row *an = &r->answers[k];
            char name[160], score[64] = "", ms[32] = "";
            snprintf(name, sizeof name, "%s%s%s", an->model_name, an->model_variant && an->model_variant[0] ? " " : "",
                     an->model_variant ? an->model_variant : "");
            if (an->em >= 0)
                snprintf(score, sizeof score, "  EM %d  F1 %.2f", an->em, an->f1);
            if (!isnan(an->latency_ms))
                snprintf(ms, sizeof ms, "  %.0f ms", an->latency_ms);
            int color = -1;
            for (size_t si2 = 0; si2 < h->n; si2++)
                for (size_t m = 0; m < h->sessions[si2].n_models && color < 0; m++)
                    if (h->sessions[si2].models[m].model_id == an->model_id)
                        color = color_of_model(a, an->model_id, h->sessions[si2].models[m].architecture);
            char label[200];
            snprintf(label, sizeof label, " %-14.14s ", name);
            ui_doc_add(&h->doc, width, 17, UI_R_NORMAL, color >= 0 ? color : -1, 16, "%s %s%s%s", label,
                       an->text && an->text[0] ? an->text : "(no answer)", score, ms);
        }
    }
    if (h->n_rows == 0)
        ui_doc_add(&h->doc, width, 0, UI_R_DIM, -1, 0, "\nNo questions in this session.");
}

void ui_session_draw(ui_app *a)
{
    ui_history_state *h = a->history;
    ui_header(a, "qaterm %s History %s session #%lld", ui_glyph()->bullet, ui_glyph()->bullet, (long long)h->open_id);
    int width = COLS - 2, rows = LINES - 2;
    if (h->doc_width != width)
        build_doc(a, width);
    if (h->doc_top > h->doc.n - rows)
        h->doc_top = h->doc.n - rows;
    if (h->doc_top < 0)
        h->doc_top = 0;
    ui_doc_draw(&h->doc, stdscr, 1, 1, rows, width, h->doc_top);
    ui_footer(a, ui_session_keys(a));
}

const char *const *ui_session_keys(const ui_app *a)
{
    static const char *const keys[] = {"↑↓", "scroll", "PgUp/PgDn", "page", "s", "stats", "?", "help",
                                       "q/Esc", "back", NULL};
    (void)a;
    return keys;
}

void ui_history_key(ui_app *a, int key)
{
    ui_history_state *h = a->history;
    if (ui_list_key(key, &h->sel, (int)h->n, LINES - 4))
        return;
    const qt_session_info *si = selected(h);
    switch (key) {
    case '\r':
    case '\n':
    case UI_K(KEY_ENTER):
    case UI_K(KEY_RIGHT):
    case 'l':
        if (!si)
            break;
        free_detail(h);
        h->open_id = si->id;
        h->doc_top = 0;
        {
            qt_err e = {{0}};
            if (qt_store_questions(a->store, si->id, &h->rows, &h->n_rows, &e) < 0) {
                ui_set_status(a, 1, "%s", e.msg);
                break;
            }
        }
        ui_go(a, UI_SCR_SESSION);
        break;
    case 's':
        if (si)
            ui_stats_open(a, si->id);
        break;
    case UI_ESC:
    case 'q':
    case UI_K(KEY_LEFT):
        ui_back(a);
        break;
    default:
        break;
    }
}

void ui_session_key(ui_app *a, int key)
{
    ui_history_state *h = a->history;
    if (ui_scroll_key(key, &h->doc_top, h->doc.n, LINES - 2))
        return;
    switch (key) {
    case 's':
        ui_stats_open(a, h->open_id);
        break;
    case UI_ESC:
    case 'q':
    case UI_K(KEY_LEFT):
        ui_back(a);
        break;
    default:
        break;
    }
}
