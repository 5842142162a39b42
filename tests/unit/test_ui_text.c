/* ui: UTF-8 measured in columns, wrapping, the line editor, and the
 * configuration file (with the model folders it selects). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ui/ui.h"

static int setup_locale(void **state)
{
    (void)state;
    setlocale(LC_ALL, "C.UTF-8");
    return 0;
}

static void widths(void **state)
{
    (void)state;
    assert_int_equal(ui_text_width("abc", 3), 3);
    const char *accents = "café Zürich"; /* precomposed */
    assert_int_equal(ui_text_width(accents, strlen(accents)), 11);
    const char *combining = "cafe\xcc\x81"; /* e + U+0301 */
    assert_int_equal(ui_text_width(combining, strlen(combining)), 4);
    const char *cjk = "東京タワー";
    assert_int_equal(ui_text_width(cjk, strlen(cjk)), 10);
    const char *emoji = "a🐝b";
    assert_int_equal(ui_text_width(emoji, strlen(emoji)), 4);
    /* invalid bytes: one replacement cell each */
    assert_int_equal(ui_text_width("a\xff\xfe", 3), 3);
}

static void decode_and_fit(void **state)
{
    (void)state;
    uint32_t cp;
    assert_int_equal(ui_utf8_decode("é", 2, 0, &cp), 2);
    assert_int_equal(cp, 0xe9);
    assert_int_equal(ui_utf8_decode("\xc0\xaf", 2, 0, &cp), 1); /* overlong */
    assert_int_equal(cp, 0xfffd);
    assert_int_equal(ui_utf8_decode("\xe6\x97", 2, 0, &cp), 1); /* truncated */
    int w;
    const char *cjk = "東京タワー";
    /* 5 columns hold two wide characters, never half of a third */
    assert_int_equal(ui_text_fit(cjk, strlen(cjk), 5, &w), 6);
    assert_int_equal(w, 4);
    char out[8];
    ui_strlcpy(out, "ééééé", sizeof out); /* 10 bytes into 8: cut between characters */
    assert_string_equal(out, "ééé");
}

static char *line(const char *s, const ui_span *l)
{
    static char buf[256];
    snprintf(buf, sizeof buf, "%.*s", (int)(l->end - l->start), s + l->start);
    return buf;
}

static void wrapping(void **state)
{
    (void)state;
    ui_span *l;
    const char *s = "the quick brown fox jumps";
    int n = ui_wrap(s, strlen(s), 10, &l);
    assert_int_equal(n, 3);
    assert_string_equal(line(s, &l[0]), "the quick");
    assert_string_equal(line(s, &l[1]), "brown fox");
    assert_string_equal(line(s, &l[2]), "jumps");
    free(l);

    const char *longword = "abcdefghijkl";
    n = ui_wrap(longword, strlen(longword), 5, &l);
    assert_int_equal(n, 3);
    assert_string_equal(line(longword, &l[2]), "kl");
    free(l);

    const char *nl = "one\ntwo three";
    n = ui_wrap(nl, strlen(nl), 40, &l);
    assert_int_equal(n, 2);
    assert_string_equal(line(nl, &l[0]), "one");
    assert_string_equal(line(nl, &l[1]), "two three");
    free(l);

    /* 7 wide characters in 6 columns: 3 per line, breaking between them */
    const char *cjk = "東京タワーは高";
    n = ui_wrap(cjk, strlen(cjk), 6, &l);
    assert_int_equal(n, 3);
    assert_string_equal(line(cjk, &l[0]), "東京タ");
    assert_string_equal(line(cjk, &l[2]), "高");
    for (int i = 0; i < n; i++)
        assert_true(ui_text_width(cjk + l[i].start, l[i].end - l[i].start) <= 6);
    free(l);

    assert_int_equal(ui_wrap("", 0, 10, &l), 0);
    free(l);
}

static void editing(void **state)
{
    (void)state;
    ui_edit e = {0};
    const char *typed = "héllo wörld";
    for (const char *p = typed; *p;) {
        uint32_t cp;
        p += ui_utf8_decode(p, strlen(p), 0, &cp);
        ui_edit_key(&e, (int)cp);
    }
    assert_string_equal(e.buf, typed);
    ui_edit_key(&e, UI_K(KEY_BACKSPACE));
    assert_string_equal(e.buf, "héllo wörl");
    ui_edit_key(&e, UI_CTRL('w'));
    assert_string_equal(e.buf, "héllo ");
    ui_edit_key(&e, UI_K(KEY_HOME));
    ui_edit_key(&e, UI_K(KEY_RIGHT));
    ui_edit_key(&e, UI_K(KEY_RIGHT)); /* past the two-byte é */
    assert_int_equal(e.cur, 3);
    ui_edit_key(&e, UI_K(KEY_DC));
    assert_string_equal(e.buf, "hélo ");
    ui_edit_key(&e, UI_CTRL('k'));
    assert_string_equal(e.buf, "hé");
    ui_edit_key(&e, UI_CTRL('u'));
    assert_string_equal(e.buf, "");
    ui_edit_insert(&e, "a\nb", 3);
    assert_string_equal(e.buf, "a\nb");
    ui_edit_free(&e);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void config_file(void **state)
{
    (void)state;
    char dir[] = "/tmp/qaterm-ui-test.XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[128];
    snprintf(path, sizeof path, "%s/config", dir);
    write_file(path, "# comment\n\n  model.bert = /ckpt/roberta  # trailing comment\nmodel.t5=none\n"
                     "model.extra = /ckpt/extra\ndatabase = /db/h.db\nplayer = Room 12\n"
                     "colors = off\ncolor.2 = magenta\ncolor.human = 33\nglyphs = ascii\n");
    ui_config c;
    ui_config_defaults(&c);
    qt_err e;
    assert_int_equal(ui_config_load(path, &c, &e), 0);
    assert_string_equal(c.db, "/db/h.db");
    assert_string_equal(c.player, "Room 12");
    assert_int_equal(c.colors, 0);
    assert_int_equal(c.color[1], 5);
    assert_int_equal(c.color[UI_HUMAN_COLOR], 33);
    assert_int_equal(c.ascii, 1);

    /* the folders: bert replaced, t5 left out, extra added after */
    char dirs[UI_MAX_MODELS][4096], fam[UI_MAX_MODELS][32];
    setenv("QATERM_ASSETS", dir, 1); /* no bundled models there */
    int n = ui_config_model_dirs(&c, NULL, 0, dirs, fam, UI_MAX_MODELS);
    assert_int_equal(n, 2);
    assert_string_equal(dirs[0], "/ckpt/roberta");
    assert_string_equal(fam[0], "bert");
    assert_string_equal(dirs[1], "/ckpt/extra");
    /* --model replaces them all */
    char *cli[] = {"/a", "/b", "/c"};
    n = ui_config_model_dirs(&c, cli, 3, dirs, fam, UI_MAX_MODELS);
    assert_int_equal(n, 3);
    assert_string_equal(dirs[2], "/c");

    write_file(path, "player = x\ncolour.9 = red\n");
    ui_config_defaults(&c);
    assert_int_equal(ui_config_load(path, &c, &e), -1);
    assert_non_null(strstr(e.msg, ":2:"));
    write_file(path, "just words\n");
    assert_int_equal(ui_config_load(path, &c, &e), -1);
    assert_non_null(strstr(e.msg, "key = value"));
    write_file(path, "color.1 = chartreuse\n");
    assert_int_equal(ui_config_load(path, &c, &e), -1);
    assert_non_null(strstr(e.msg, "chartreuse"));
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(widths),
        cmocka_unit_test(decode_and_fit),
        cmocka_unit_test(wrapping),
        cmocka_unit_test(editing),
        cmocka_unit_test(config_file),
    };
    return cmocka_run_group_tests(tests, setup_locale, NULL);
}
