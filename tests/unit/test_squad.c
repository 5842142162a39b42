/* The SQuAD loader: structure, offsets in code points and bytes, errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "qa/squad.h"

static const char *doc =
    "{\"version\": \"v2.0\", \"data\": ["
    " {\"title\": \"Caf\xc3\xa9s\", \"paragraphs\": ["
    "  {\"context\": \"Le caf\xc3\xa9 \xe6\x97\xa5 opened in 1923 in Z\xc3\xbcrich.\", \"qas\": ["
    "   {\"id\": \"a\", \"question\": \"When?\", \"answers\": [{\"text\": \"1923\", \"answer_start\": 20}],"
    "    \"is_impossible\": false},"
    "   {\"id\": \"b\", \"question\": \"Where?\", \"answers\": [{\"text\": \"Z\xc3\xbcrich\", \"answer_start\": 28},"
    "     {\"text\": \"in Z\xc3\xbcrich\", \"answer_start\": 999}]},"
    "   {\"id\": \"c\", \"question\": \"Who closed it?\", \"answers\": [], \"is_impossible\": true,"
    "    \"plausible_answers\": [{\"text\": \"Le caf\xc3\xa9\", \"answer_start\": 0}]}]}]},"
    " {\"title\": \"Two\", \"paragraphs\": [{\"context\": \"x\", \"qas\": []}, {\"context\": \"y\", \"qas\": []}]}]}";

static void loads_structure_and_offsets(void **state)
{
    (void)state;
    qt_squad s;
    qt_err e = {{0}};
    assert_int_equal(qt_squad_load_buffer("doc", doc, strlen(doc), &s, &e), 0);
    assert_string_equal(s.version, "v2.0");
    assert_int_equal(s.n_articles, 2);
    assert_int_equal(s.n_paragraphs, 3);
    assert_int_equal(s.n_questions, 3);
    assert_int_equal(s.n_answerable, 2);
    assert_int_equal(s.n_unanswerable, 1);
    assert_int_equal(s.articles[1].first_paragraph, 1);
    assert_int_equal(s.articles[1].n_paragraphs, 2);
    assert_int_equal(s.paragraphs[0].n_questions, 3);

    const qt_question *a = qt_squad_find(&s, "a");
    assert_non_null(a);
    /* "Le café 日 opened in " : é is 2 bytes, 日 is 3 bytes -> byte = char + 1 + 2 */
    assert_int_equal(a->answers[0].start_char, 20);
    assert_int_equal(a->answers[0].start_byte, 23);
    const qt_question *b = qt_squad_find(&s, "b");
    assert_int_equal(b->n_answers, 2);
    assert_int_equal(b->answers[0].start_byte, 31);
    /* a wrong answer_start falls back to the first occurrence of the text */
    assert_int_equal(b->answers[1].start_byte, 28);
    const qt_question *c = qt_squad_find(&s, "c");
    assert_true(c->is_impossible);
    assert_int_equal(c->n_answers, 0);
    assert_int_equal(c->n_plausible, 1);
    assert_null(qt_squad_find(&s, "zzz"));
    qt_squad_free(&s);
}

static void utf8_offset_helpers(void **state)
{
    (void)state;
    const char *t = "a\xc3\xa9\xe6\x97\xa5z";
    assert_int_equal(qt_utf8_byte_offset(t, strlen(t), 0), 0);
    assert_int_equal(qt_utf8_byte_offset(t, strlen(t), 2), 3);
    assert_int_equal(qt_utf8_byte_offset(t, strlen(t), 3), 6);
    assert_int_equal(qt_utf8_byte_offset(t, strlen(t), 4), 7);
    assert_int_equal(qt_utf8_byte_offset(t, strlen(t), 5), -1);
    assert_int_equal(qt_utf8_char_index(t, 6), 3);
}

static void inconsistent_impossible_flag_is_an_error(void **state)
{
    (void)state;
    const char *bad = "{\"data\": [{\"title\": \"t\", \"paragraphs\": [{\"context\": \"c\", \"qas\": ["
                      "{\"id\": \"q\", \"question\": \"?\", \"answers\": [{\"text\": \"c\", \"answer_start\": 0}],"
                      " \"is_impossible\": true}]}]}]}";
    qt_squad s;
    qt_err e = {{0}};
    assert_int_equal(qt_squad_load_buffer("bad", bad, strlen(bad), &s, &e), -1);
    assert_non_null(strstr(e.msg, "data[0].paragraphs[0].qas[0]"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(loads_structure_and_offsets),
        cmocka_unit_test(utf8_offset_helpers),
        cmocka_unit_test(inconsistent_impossible_flag_is_an_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
