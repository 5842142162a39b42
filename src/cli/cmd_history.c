/* qaterm history: list the recorded sessions, show one, or export them. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "cli/commands.h"
#include "db/export.h"
#include "db/store.h"

static void usage(FILE *f)
{
    fputs("usage: qaterm history [--db PATH]\n"
          "       qaterm history show ID [--db PATH]\n"
          "       qaterm history export --format csv|json|squad [--session ID] [--out PATH|DIR]"
          " [--db PATH]\n",
          f);
}

/* "2026-11-26T14:03:07.123Z" to Unix seconds; -1 when unreadable. */
static time_t parse_utc(const char *iso)
{
    struct tm tm = {0};
    if (!iso || !strptime(iso, "%Y-%m-%dT%H:%M:%S", &tm))
        return -1;
    return timegm(&tm);
}

/* A stored UTC time in local time, "YYYY-MM-DD HH:MM:SS" (or as stored). */
static const char *local_time(const char *iso, char *buf, size_t cap)
{
    time_t t = parse_utc(iso);
    struct tm tm;
    if (t < 0 || !localtime_r(&t, &tm) || !strftime(buf, cap, "%Y-%m-%d %H:%M:%S", &tm))
        snprintf(buf, cap, "%s", iso ? iso : "?");
    return buf;
}

static const char *duration(const qt_session_info *s, char *buf, size_t cap)
{
    if (!s->ended_at) {
        snprintf(buf, cap, "open");
        return buf;
    }
    time_t a = parse_utc(s->started_at), b = parse_utc(s->ended_at);
    long secs = a < 0 || b < a ? 0 : (long)(b - a);
    const char *crash = s->end_reason && strcmp(s->end_reason, "crash") == 0 ? " crash" : "";
    if (secs >= 3600)
        snprintf(buf, cap, "%ldh%02ldm%s", secs / 3600, secs / 60 % 60, crash);
    else
        snprintf(buf, cap, "%ldm%02lds%s", secs / 60, secs % 60, crash);
    return buf;
}

static void print_model_label(const char *name, const char *variant, int width)
{
    char label[256];
    snprintf(label, sizeof label, "%s%s%s", name ? name : "?", variant && *variant ? "/" : "",
             variant ? variant : "");
    printf("%-*s", width, label);
}

static void print_percent(double v, int width)
{
    if (isfinite(v))
        printf(" %*.1f", width, v);
    else
        printf(" %*s", width, "-");
}

static int list_sessions(qt_store *store)
{
    qt_session_info *infos;
    size_t n;
    qt_err e;
    if (qt_store_list_sessions(store, &infos, &n, &e) != 0) {
        qt_err_print(&e);
        return QT_EXIT_FAIL;
    }
    if (n == 0) {
        printf("no sessions recorded in %s\n", qt_store_path(store));
        qt_session_infos_free(infos, n);
        return QT_EXIT_OK;
    }
    printf("%5s  %-19s  %-11s  %-10s  %-20s  %9s  %s\n", "ID", "STARTED", "LENGTH", "MODE",
           "USER@HOST", "QUESTIONS", "EM BY MODEL");
    for (size_t i = 0; i < n; i++) {
        const qt_session_info *s = &infos[i];
        char when[64], len[32], who[256];
        snprintf(who, sizeof who, "%s@%s", s->user ? s->user : "?", s->host ? s->host : "?");
        printf("%5lld  %-19s  %-11s  %-10s  %-20s  %9d ", (long long)s->id,
               local_time(s->started_at, when, sizeof when), duration(s, len, sizeof len),
               s->mode ? s->mode : "?", who, s->n_questions);
        for (size_t j = 0; j < s->n_models; j++) {
            printf(j ? "   " : " ");
            print_model_label(s->models[j].name, s->models[j].variant, 0);
            print_percent(s->models[j].em, 0);
        }
        printf("\n");
    }
    qt_session_infos_free(infos, n);
    return QT_EXIT_OK;
}

static void print_stats(const qt_model_stats *stats, size_t n)
{
    printf("\n%-20s %7s %6s %6s %8s %8s %6s %7s %7s %6s %9s %9s\n", "MODEL", "ANSWERS", "EM", "F1",
           "HASANS", "HAS-EM", "HAS-F1", "NOANS", "NO-EM", "NO-F1", "P50 MS", "P95 MS");
    for (size_t i = 0; i < n; i++) {
        const qt_model_stats *m = &stats[i];
        print_model_label(m->name, m->variant, 20);
        printf(" %7d", m->n_answers);
        print_percent(m->em, 6);
        print_percent(m->f1, 6);
        printf(" %8d", m->n_has_ans);
        print_percent(m->has_ans_em, 8);
        print_percent(m->has_ans_f1, 6);
        printf(" %7d", m->n_no_ans);
        print_percent(m->no_ans_em, 7);
        print_percent(m->no_ans_f1, 6);
        if (m->n_timed) {
            printf(" %9.1f %9.1f\n", m->latency_p50, m->latency_p95);
        } else {
            printf(" %9s %9s\n", "-", "-");
        }
    }
}

/* The gold answers as "a" | "b" (texts of a JSON array of objects or strings). */
static void print_gold(const char *gold_json)
{
    cJSON *gold = cJSON_Parse(gold_json ? gold_json : "[]");
    int n = 0;
    const cJSON *item;
    cJSON_ArrayForEach(item, gold) {
        const cJSON *t = cJSON_IsObject(item) ? cJSON_GetObjectItemCaseSensitive(item, "text") : item;
        if (cJSON_IsString(t))
            printf("%s\"%s\"", n++ ? " | " : "", t->valuestring);
    }
    if (n == 0)
        printf("(none)");
    cJSON_Delete(gold);
}

static void print_question(const qt_question_row *q)
{
    char when[64];
    printf("\n[%lld] %s  %s\n", (long long)q->id, local_time(q->asked_at, when, sizeof when), q->text);
    if (q->external_id)
        printf("    squad id   %s\n", q->external_id);
    printf("    passage    %lld", (long long)q->passage_id);
    if (q->passage_title)
        printf(" %s", q->passage_title);
    if (q->paragraph_index >= 0)
        printf(" #%d", q->paragraph_index);
    if (q->passage_source)
        printf(" (%s)", q->passage_source);
    printf("\n    gold       ");
    if (q->is_impossible)
        printf("no answer (impossible)");
    else
        print_gold(q->gold_json);
    printf("\n");
    for (size_t j = 0; j < q->n_answers; j++) {
        const qt_answer_row *a = &q->answers[j];
        printf("    ");
        print_model_label(a->model_name, a->model_variant, 16);
        if (a->text && *a->text)
            printf(" \"%s\"", a->text);
        else
            printf(" (no answer)");
        if (a->em >= 0)
            printf("  EM %d", a->em);
        if (isfinite(a->f1))
            printf("  F1 %.1f", a->f1 * 100);
        if (isfinite(a->latency_ms))
            printf("  %.1f ms", a->latency_ms);
        printf("\n");
    }
}

static int show_session(qt_store *store, int64_t id)
{
    qt_session_info *info = NULL;
    qt_model_stats *stats = NULL;
    qt_question_row *rows = NULL;
    size_t n_stats = 0, n_rows = 0;
    qt_err e;
    int rc = QT_EXIT_FAIL;
    if (qt_store_get_session(store, id, &info, &e) != 0 ||
        qt_store_model_stats(store, id, &stats, &n_stats, &e) != 0 ||
        qt_store_questions(store, id, &rows, &n_rows, &e) != 0) {
        qt_err_print(&e);
        goto done;
    }
    char when[64], len[32];
    printf("session    %lld\nmode       %s\nuser       %s@%s (pid %lld)\nstarted    %s\n",
           (long long)info->id, info->mode, info->user, info->host, (long long)info->pid,
           local_time(info->started_at, when, sizeof when));
    if (info->ended_at)
        printf("ended      %s (%s, %s)\n", local_time(info->ended_at, when, sizeof when),
               info->end_reason ? info->end_reason : "?", duration(info, len, sizeof len));
    else
        printf("ended      (still open)\n");
    printf("questions  %d\n", info->n_questions);
    if (n_stats)
        print_stats(stats, n_stats);
    for (size_t i = 0; i < n_rows; i++)
        print_question(&rows[i]);
    rc = QT_EXIT_OK;
done:
    qt_session_infos_free(info, info ? 1 : 0);
    qt_model_stats_free(stats, n_stats);
    qt_question_rows_free(rows, n_rows);
    return rc;
}

static int parse_id(const char *text, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (errno || end == text || *end || v <= 0)
        return -1;
    *out = v;
    return 0;
}

int cmd_history(int argc, char **argv)
{
    static const struct option options[] = {
        {"db", required_argument, NULL, 'd'},     {"format", required_argument, NULL, 'f'},
        {"session", required_argument, NULL, 's'}, {"out", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0},
    };
    const char *db_opt = NULL, *format_name = NULL, *session_text = NULL, *out = NULL;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
        switch (c) {
        case 'd': db_opt = optarg; break;
        case 'f': format_name = optarg; break;
        case 's': session_text = optarg; break;
        case 'o': out = optarg; break;
        case 'h': usage(stdout); return QT_EXIT_OK;
        case ':':
            qt_die_msg("history: option '%s' needs a value", argv[optind - 1]);
            return QT_EXIT_USAGE;
        default:
            if (optopt)
                qt_die_msg("history: unknown option '-%c' (see qaterm help history)", optopt);
            else
                qt_die_msg("history: unknown option '%s' (see qaterm help history)", argv[optind - 1]);
            return QT_EXIT_USAGE;
        }
    }
    const char *action = optind < argc ? argv[optind++] : "list";
    int is_show = strcmp(action, "show") == 0, is_export = strcmp(action, "export") == 0;
    if (!is_show && !is_export && strcmp(action, "list") != 0) {
        qt_die_msg("history: unknown action '%s' (expected show or export)", action);
        return QT_EXIT_USAGE;
    }
    int64_t id = 0, session = 0;
    qt_export_format format = QT_EXPORT_CSV;
    if (is_show) {
        if (optind >= argc) {
            qt_die_msg("history show: which session? (qaterm history show ID)");
            return QT_EXIT_USAGE;
        }
        if (parse_id(argv[optind], &id) != 0) {
            qt_die_msg("history show: '%s' is not a session id", argv[optind]);
            return QT_EXIT_USAGE;
        }
        optind++;
    }
    if (optind < argc) {
        qt_die_msg("history: unexpected argument '%s'", argv[optind]);
        return QT_EXIT_USAGE;
    }
    if (!is_export && (format_name || session_text || out)) {
        qt_die_msg("history: --format, --session and --out belong to 'history export'");
        return QT_EXIT_USAGE;
    }
    if (is_export) {
        if (!format_name) {
            qt_die_msg("history export: --format csv|json|squad is required");
            return QT_EXIT_USAGE;
        }
        if (qt_export_parse_format(format_name, &format) != 0) {
            qt_die_msg("history export: unknown format '%s' (expected csv, json or squad)",
                       format_name);
            return QT_EXIT_USAGE;
        }
        if (session_text && parse_id(session_text, &session) != 0) {
            qt_die_msg("history export: '%s' is not a session id", session_text);
            return QT_EXIT_USAGE;
        }
    }

    qt_err e = {{0}};
    const char *path = qt_store_resolve_path(db_opt, &e);
    if (!path) {
        qt_err_print(&e);
        return QT_EXIT_FAIL;
    }
    /* Reading a mistyped --db path should not leave a new empty database. */
    struct stat st;
    if (db_opt && stat(path, &st) != 0 && errno == ENOENT) {
        qt_die_msg("%s: no such database file", path);
        return QT_EXIT_FAIL;
    }
    qt_store *store = qt_store_open(path, &e);
    if (!store) {
        qt_err_print(&e);
        return QT_EXIT_FAIL;
    }
    int rc;
    if (is_show) {
        rc = show_session(store, id);
    } else if (is_export) {
        rc = QT_EXIT_OK;
        if (qt_store_export(store, format, session, out, stdout, &e) != 0) {
            qt_err_print(&e);
            rc = QT_EXIT_FAIL;
        }
    } else {
        rc = list_sessions(store);
    }
    qt_store_close(store);
    return rc;
}
