/* SQuAD 2.0 scoring: normalisation on tricky strings, EM/F1, the gold
 * dropping rule, whole-file scoring, AUROC and Python-style printing. Every
 * expected value below was worked out by hand from the official rules
 * (lower -> drop ASCII punctuation -> drop a/an/the words -> split/join). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "qa/normalize.h"
#include "qa/score.h"
#include "qa/squad.h"
#include "util/json.h"

/* cmocka 1.1.5 compares floats only as float. */
#define assert_near(got, want, eps) check_near((got), (want), (eps), #got, __LINE__)

static void check_near(double got, double want, double eps, const char *expr, int line)
{
    if (!(fabs(got - want) <= eps))
        fail_msg("line %d: %s = %.17g, want %.17g", line, expr, got, want);
}

static void check_norm(const char *in, const char *want)
{
    char *got = qt_squad_normalize(in);
    assert_non_null(got);
    if (strcmp(got, want) != 0)
        fail_msg("normalize(\"%s\") = \"%s\", want \"%s\"", in, got, want);
    free(got);
}

static void lower_case_like_python(void **state)
{
    (void)state;
    check_norm("\xc4\xb0", "i\xcc\x87");                 /* İ -> i + U+0307 (full mapping) */
    check_norm("\xc4\xb0stanbul", "i\xcc\x87stanbul");
    check_norm("\xc3\x9f", "\xc3\x9f");                  /* ß stays ß (no "ss") */
    check_norm("STRASSE", "strasse");
    check_norm("\xe1\xba\x9e", "\xc3\x9f");              /* ẞ -> ß */
    check_norm("\xe2\x84\xaa", "k");                     /* KELVIN SIGN -> k */
    check_norm("\xc3\x89" "clair", "\xc3\xa9" "clair");     /* Éclair */
    check_norm("\xc3\x80 LA CARTE", "\xc3\xa0 la carte"); /* "la" is no article */
    check_norm("\xc7\x85", "\xc7\x86");                  /* titlecase ǅ -> ǆ */
    check_norm("\xf0\x90\x90\x80", "\xf0\x90\x90\xa8");  /* Deseret capital -> small */
    check_norm("\xe2\x85\xab", "\xe2\x85\xbb");          /* Ⅻ -> ⅻ */
}

static void final_sigma(void **state)
{
    (void)state;
    check_norm("\xce\xa3\xce\x91\xce\xa3", "\xcf\x83\xce\xb1\xcf\x82");  /* ΣΑΣ -> σας */
    check_norm("\xce\x9f\xce\x94\xce\xa5\xce\xa3\xce\xa3\xce\x95\xce\xa5\xce\xa3",
               "\xce\xbf\xce\xb4\xcf\x85\xcf\x83\xcf\x83\xce\xb5\xcf\x85\xcf\x82"); /* ΟΔΥΣΣΕΥΣ */
    check_norm("\xce\xa3", "\xcf\x83");          /* alone: nothing cased before -> σ */
    check_norm("\xce\xa3\xce\xa3", "\xcf\x83\xcf\x82");
    check_norm("A\xce\xa3", "a\xcf\x82");        /* AΣ -> aς */
    check_norm("A\xce\xa3" "B", "a\xcf\x83" "b"); /* cased letter follows -> σ */
    /* Lower-casing sees the text before punctuation goes: '.' and '\'' are
     * case-ignorable (skipped), '-' is not (it ends the word). */
    check_norm("A\xce\xa3.", "a\xcf\x82");
    check_norm("A\xce\xa3.B", "a\xcf\x83" "b");
    check_norm("A\xce\xa3-B", "a\xcf\x82" "b");
    check_norm("A'\xce\xa3", "a\xcf\x82");
    check_norm("1\xce\xa3", "1\xcf\x83");        /* a digit is not cased */
    check_norm("B\xcc\x81\xce\xa3", "b\xcc\x81\xcf\x82"); /* combining accent skipped */
    check_norm("A\xcc\x81\xce\xa3", "\xcc\x81\xcf\x82");  /* ...and "a" is an article */
}

static void punctuation_ascii_only(void **state)
{
    (void)state;
    check_norm("\xe2\x80\x9cThe Beatles\xe2\x80\x9d", "\xe2\x80\x9c beatles\xe2\x80\x9d"); /* curly quotes stay */
    check_norm("rock\xe2\x80\x93" "and\xe2\x80\x93roll", "rock\xe2\x80\x93" "and\xe2\x80\x93roll"); /* en dash */
    check_norm("rock\xe2\x80\x94roll", "rock\xe2\x80\x94roll");     /* em dash */
    check_norm("rock-and-roll", "rockandroll");
    check_norm("\xe2\x80\x98" "a\xe2\x80\x99", "\xe2\x80\x98 \xe2\x80\x99");
    check_norm("\xc2\xbfQu\xc3\xa9?", "\xc2\xbfqu\xc3\xa9");        /* ¿ stays, ? goes */
    check_norm("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", "");
    check_norm("...", "");
    check_norm("U.S.", "us");
}

static void articles_as_whole_words(void **state)
{
    (void)state;
    check_norm("theory", "theory");
    check_norm("another", "another");
    check_norm("Athens", "athens");
    check_norm("a an the", "");
    check_norm("The cat", "cat");
    check_norm("the_end", "theend");     /* '_' is punctuation, removed first */
    check_norm("a_", "");
    check_norm("(the)", "");
    check_norm("the-end", "theend");
    check_norm("the1st", "the1st");      /* digits are word characters */
    check_norm("1 the 2", "1 2");
    check_norm("the\xc3\xa9", "the\xc3\xa9");            /* theé: é is a letter */
    check_norm("\xc3\x80THE", "\xc3\xa0the");            /* ÀTHE */
    check_norm("the\xc2\xb2", "the\xc2\xb2");            /* ² is numeric (No) */
    check_norm("the\xc2\xbd", "the\xc2\xbd");            /* ½ too */
    check_norm("the\xe2\x85\xab", "the\xe2\x85\xbb");    /* Ⅻ (Nl) */
    check_norm("the\xe2\x80\xa6", "\xe2\x80\xa6");       /* … is not a word character */
    check_norm("the\xe2\x80\x9c", "\xe2\x80\x9c");
    check_norm("the\xcc\x81", "\xcc\x81");               /* combining mark: not \w */
    check_norm("a\xcc\x81", "\xcc\x81");                 /* decomposed á loses its a */
    check_norm("a\xc2\xb7" "b", "\xc2\xb7" "b");         /* a·b */
    check_norm("a\xe2\x80\x8b" "b", "\xe2\x80\x8b" "b"); /* U+200B is neither space nor word */
    check_norm("THE\xc2\xa0" "END", "end");
}

static void whitespace_like_str_split(void **state)
{
    (void)state;
    check_norm("the\tcat\nsat", "cat sat");
    check_norm("New\xc2\xa0York", "new york");           /* U+00A0 */
    check_norm("  lots   of\r\n space  ", "lots of space");
    check_norm("x\xe2\x80\x83y\xe3\x80\x80z\xe2\x80\xafw\xe1\x9a\x80v\xe2\x80\xa8u\xe2\x80\xa9t"
               "\x1cs\x1fr\xc2\x85q\x0bp\x0co",
               "x y z w v u t s r q p o");
    check_norm("a\xef\xbb\xbf" "b", "\xef\xbb\xbf" "b"); /* U+FEFF is not whitespace */
    check_norm("", "");
    check_norm(" \t\xc2\xa0", "");
    assert_true(qt_py_isspace(0x85) && qt_py_isspace(0x1C) && qt_py_isspace(0x2029));
    assert_false(qt_py_isspace(0x200B) || qt_py_isspace(0xFEFF) || qt_py_isspace(0x180E));
    assert_true(qt_py_isalnum(0xB2) && qt_py_isalnum(0x2167) && qt_py_isalnum(0x4E2D));
    assert_false(qt_py_isalnum('_') || qt_py_isalnum(0x301) || qt_py_isalnum(0x2026));
}

static void lower_and_invalid_utf8(void **state)
{
    (void)state;
    char *s = qt_py_lower("\xc4\xb0\xce\xa3.");
    /* Σ looks at the original text: after İ (cased), before '.' (ignorable) -> ς */
    assert_string_equal(s, "i\xcc\x87\xcf\x82.");
    free(s);
    s = qt_squad_normalize("X\xff" "Y");
    assert_string_equal(s, "x\xef\xbf\xbd" "y"); /* stray byte read as U+FFFD */
    free(s);
}

static void exact_and_f1(void **state)
{
    (void)state;
    assert_int_equal(qt_score_exact("The Beatles", "beatles"), 1);
    assert_int_equal(qt_score_exact("Stra\xc3\x9f" "e", "STRASSE"), 0);
    assert_int_equal(qt_score_exact("\xc4\xb0", "i"), 0);
    assert_int_equal(qt_score_exact("", "the"), 1);
    /* x y y z vs y y y: overlap min(2,3) = 2, P = 2/3, R = 2/4 -> 4/7 */
    assert_near(qt_score_f1("x y y z", "y y y"), 4.0 / 7.0, 1e-15);
    /* x y vs x x x x: overlap 1, P = 1/4, R = 1/2 -> 1/3 */
    assert_near(qt_score_f1("x y", "x x x x"), 1.0 / 3.0, 1e-15);
    assert_near(qt_score_f1("Denver Broncos", "the broncos!"), 2.0 / 3.0, 1e-15);
    assert_near(qt_score_f1("x", ""), 0, 0);
    assert_near(qt_score_f1("", ""), 1, 0);
    assert_near(qt_score_f1("the", "."), 1, 0);    /* both empty after normalising */
    assert_near(qt_score_f1("cat", "dog"), 0, 0);
    assert_near(qt_score_f1("New\xc2\xa0York", "new york"), 1, 0);
}

static void golds_dropping_rule(void **state)
{
    (void)state;
    qt_qscore s;
    const char *one[] = {"the", "Paris"};
    assert_int_equal(qt_score_golds(one, 2, "", &s), 0); /* "the" dropped: "" is wrong */
    assert_near(s.exact, 0, 0);
    assert_near(s.f1, 0, 0);
    const char *none[] = {"the", "."};
    assert_int_equal(qt_score_golds(none, 2, "", &s), 0); /* all dropped -> [""] */
    assert_near(s.exact, 1, 0);
    assert_near(s.f1, 1, 0);
    assert_int_equal(qt_score_golds(none, 2, "an", &s), 0);
    assert_near(s.exact, 1, 0);
    assert_int_equal(qt_score_golds(none, 2, "x", &s), 0);
    assert_near(s.f1, 0, 0);
    assert_int_equal(qt_score_golds(NULL, 0, " \t", &s), 0);  /* unanswerable */
    assert_near(s.exact, 1, 0);
    const char *many[] = {"Denver Broncos", "Broncos", "the Denver Broncos"};
    assert_int_equal(qt_score_golds(many, 3, "Broncos team", &s), 0);
    assert_near(s.exact, 0, 0);
    assert_near(s.f1, 2.0 / 3.0, 1e-15); /* best gold "Broncos": P 1/2, R 1 */
    assert_int_equal(qt_score_golds(many, 3, "THE DENVER BRONCOS.", &s), 0);
    assert_near(s.exact, 1, 0);
}

static const char data_json[] =
    "{\"version\": \"v2.0\", \"data\": [{\"title\": \"T\", \"paragraphs\": [{\"context\": "
    "\"Paris has the Eiffel Tower.\", \"qas\": ["
    "{\"id\": \"q1\", \"question\": \"?\", \"answers\": [{\"text\": \"Paris\", \"answer_start\": 0}]},"
    "{\"id\": \"q2\", \"question\": \"?\", \"answers\": [{\"text\": \"the Eiffel Tower\", \"answer_start\": 10},"
    " {\"text\": \"Eiffel Tower\", \"answer_start\": 14}]},"
    "{\"id\": \"q3\", \"question\": \"?\", \"answers\": [], \"is_impossible\": true},"
    "{\"id\": \"q4\", \"question\": \"?\", \"answers\": [], \"is_impossible\": true}]}]}]}";

static cJSON *parse(const char *txt)
{
    qt_err e;
    cJSON *j = qt_json_parse("t.json", txt, strlen(txt), &e);
    assert_non_null(j);
    return j;
}

static double num(const cJSON *o, const char *key)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsNumber(it))
        fail_msg("no number '%s'", key);
    return it->valuedouble;
}

static void whole_file(void **state)
{
    (void)state;
    qt_err e;
    qt_squad d;
    assert_int_equal(qt_squad_load_buffer("d.json", data_json, strlen(data_json), &d, &e), 0);
    /* q1 EM 1 F1 1; q2 "tower" vs "eiffel tower": F1 2/3; q3 "" right;
     * q4 "Lyon" wrong; "zz" is not a question and is ignored. */
    cJSON *p = parse("{\"q1\": \"paris.\", \"q2\": \"tower\", \"q3\": \"\", \"q4\": \"Lyon\", \"zz\": \"x\"}");
    cJSON *na = parse("{\"q1\": 0.1, \"q2\": 0.8, \"q3\": 0.9, \"q4\": 0.5, \"zz\": 0.0}");
    cJSON *r = qt_score_eval(&d, p, "p.json", NULL, NULL, 1.0, &e);
    assert_non_null(r);
    assert_near(num(r, "exact"), 50.0, 1e-12);
    assert_near(num(r, "f1"), 100.0 * (8.0 / 3.0) / 4, 1e-12);
    assert_near(num(r, "total"), 4, 0);
    assert_near(num(r, "HasAns_exact"), 50.0, 1e-12);
    assert_near(num(r, "HasAns_f1"), 100.0 * (5.0 / 3.0) / 2, 1e-12);
    assert_near(num(r, "HasAns_total"), 2, 0);
    assert_near(num(r, "NoAns_exact"), 50.0, 1e-12);
    assert_near(num(r, "NoAns_f1"), 50.0, 1e-12);
    assert_null(cJSON_GetObjectItem(r, "best_exact"));
    cJSON_Delete(r);

    /* With probabilities: walking q1 (0.1, +1), q4 (0.5, "Lyon" -1), q2
     * (0.8, +0 / +2/3), q3 (0.9, "" 0) from 2 unanswerable: best 3 at 0.1.
     * AUROC: unanswerable {0.9, 0.5} vs answerable {0.1, 0.8}: 3 of 4 pairs. */
    r = qt_score_eval(&d, p, "p.json", na, "na.json", 1.0, &e);
    assert_non_null(r);
    assert_near(num(r, "best_exact"), 75.0, 1e-12);
    assert_near(num(r, "best_exact_thresh"), 0.1, 0);
    assert_near(num(r, "best_f1"), 75.0, 1e-12);
    assert_near(num(r, "best_f1_thresh"), 0.1, 0);
    assert_near(num(r, "na_prob_auroc"), 0.75, 1e-15);
    const char *order[] = {"exact", "f1", "total", "HasAns_exact", "HasAns_f1", "HasAns_total",
                           "NoAns_exact", "NoAns_f1", "NoAns_total", "best_exact",
                           "best_exact_thresh", "best_f1", "best_f1_thresh", "na_prob_auroc"};
    const cJSON *it = r->child;
    for (size_t i = 0; i < sizeof order / sizeof *order; i++, it = it->next) {
        assert_non_null(it);
        assert_string_equal(it->string, order[i]);
    }
    assert_null(it);
    cJSON_Delete(r);

    /* Threshold 0.6: q2 (0.8) and q3 (0.9) count as "no answer": q2 -> 0, q3 -> 1. */
    r = qt_score_eval(&d, p, "p.json", na, "na.json", 0.6, &e);
    assert_non_null(r);
    assert_near(num(r, "exact"), 50.0, 1e-12);
    assert_near(num(r, "f1"), 50.0, 1e-12);
    assert_near(num(r, "HasAns_f1"), 50.0, 1e-12);
    cJSON_Delete(r);
    cJSON_Delete(p);
    cJSON_Delete(na);

    /* A missing prediction stops the official script (KeyError). */
    p = parse("{\"q1\": \"Paris\", \"q2\": \"x\", \"q4\": \"\"}");
    assert_null(qt_score_eval(&d, p, "p.json", NULL, NULL, 1.0, &e));
    assert_non_null(strstr(e.msg, "p.json"));
    assert_non_null(strstr(e.msg, "no prediction for question q3"));
    cJSON_Delete(p);
    p = parse("{\"q1\": \"Paris\", \"q2\": 2, \"q3\": \"\", \"q4\": \"\"}");
    assert_null(qt_score_eval(&d, p, "p.json", NULL, NULL, 1.0, &e));
    assert_non_null(strstr(e.msg, "p.json: at $.q2: expected an answer string, got a number"));
    cJSON_Delete(p);
    p = parse("[\"Paris\"]");
    assert_null(qt_score_eval(&d, p, "p.json", NULL, NULL, 1.0, &e));
    assert_non_null(strstr(e.msg, "p.json: at $: expected an object"));
    cJSON_Delete(p);
    p = parse("{\"q1\": \"Paris\", \"q2\": \"x\", \"q3\": \"\", \"q4\": \"\"}");
    na = parse("{\"q1\": 0.1, \"q2\": \"high\"}");
    assert_null(qt_score_eval(&d, p, "p.json", na, "na.json", 1.0, &e));
    assert_non_null(strstr(e.msg, "na.json: at $.q2: expected a number"));
    cJSON_Delete(na);
    na = parse("{\"q1\": 0.1, \"q2\": 0.2, \"q3\": 0}");
    assert_null(qt_score_eval(&d, p, "p.json", na, "na.json", 1.0, &e));
    assert_non_null(strstr(e.msg, "na.json: no probability for question q4"));
    cJSON_Delete(na);
    cJSON_Delete(p);
    qt_squad_free(&d);
}

/* Python dicts keep the first position and the last value of a repeated id,
 * in the data (qid_to_has_ans, exact_scores) and in json.load's objects. */
static void repeated_ids(void **state)
{
    (void)state;
    static const char dup[] =
        "{\"data\": [{\"title\": \"T\", \"paragraphs\": [{\"context\": \"Paris or Lyon\", \"qas\": ["
        "{\"id\": \"q1\", \"question\": \"?\", \"answers\": [{\"text\": \"Paris\", \"answer_start\": 0}]},"
        "{\"id\": \"q2\", \"question\": \"?\", \"answers\": []},"
        "{\"id\": \"q1\", \"question\": \"?\", \"answers\": [{\"text\": \"Lyon\", \"answer_start\": 9}]}]}]}]}";
    qt_err e;
    qt_squad d;
    assert_int_equal(qt_squad_load_buffer("dup.json", dup, strlen(dup), &d, &e), 0);
    cJSON *p = parse("{\"q1\": \"Paris\", \"q2\": \"\", \"q1\": \"Lyon\"}");
    cJSON *r = qt_score_eval(&d, p, "p.json", NULL, NULL, 1.0, &e);
    assert_non_null(r);
    assert_near(num(r, "total"), 2, 0);
    assert_near(num(r, "exact"), 100.0, 0); /* "Lyon" against the last q1 */
    assert_near(num(r, "HasAns_total"), 1, 0);
    cJSON_Delete(r);
    cJSON_Delete(p);
    qt_squad_free(&d);
}

static void auroc_with_ties(void **state)
{
    (void)state;
    double s1[] = {0.5, 0.5};
    int p1[] = {1, 0};
    assert_near(qt_auroc(s1, p1, 2), 0.5, 0);
    double s2[] = {1, 2, 3};
    int p2[] = {0, 1, 1};
    assert_near(qt_auroc(s2, p2, 3), 1.0, 0);
    double s3[] = {0.9, 0.1, 0.5, 0.5, 0.2};
    int p3[] = {0, 1, 1, 0, 1};
    /* positives {0.1, 0.5, 0.2} vs negatives {0.9, 0.5}: only 0.5=0.5 ties -> 0.5/6 */
    assert_near(qt_auroc(s3, p3, 5), 0.5 / 6.0, 1e-15);
    int p4[] = {1, 1};
    assert_true(isnan(qt_auroc(s1, p4, 2)));
}

static void python_float_repr(void **state)
{
    (void)state;
    struct { double x; const char *want; } cases[] = {
        {100.0, "100.0"}, {0.1, "0.1"}, {50.0, "50.0"}, {2.0 / 3.0, "0.6666666666666666"},
        {200.0 / 3.0, "66.66666666666667"}, {1e16, "1e+16"}, {1e15, "1000000000000000.0"},
        {1e-5, "1e-05"}, {0.0001, "0.0001"}, {-2.5, "-2.5"}, {1.5e300, "1.5e+300"},
        {5e-324, "5e-324"}, {0.0, "0.0"}, {123456789.125, "123456789.125"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char buf[64];
        qt_py_float_repr(cases[i].x, buf, sizeof buf);
        assert_string_equal(buf, cases[i].want);
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "exact", 50.0);
    cJSON_AddNumberToObject(o, "total", 4);
    cJSON_AddNumberToObject(o, "HasAns_total", 2);
    cJSON_AddNumberToObject(o, "best_f1_thresh", 1);
    cJSON_AddNullToObject(o, "na_prob_auroc");
    char *txt = qt_score_json_text(o);
    assert_string_equal(txt, "{\n  \"exact\": 50.0,\n  \"total\": 4,\n  \"HasAns_total\": 2,\n"
                             "  \"best_f1_thresh\": 1.0,\n  \"na_prob_auroc\": null\n}");
    free(txt);
    cJSON_Delete(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(lower_case_like_python),
        cmocka_unit_test(final_sigma),
        cmocka_unit_test(punctuation_ascii_only),
        cmocka_unit_test(articles_as_whole_words),
        cmocka_unit_test(whitespace_like_str_split),
        cmocka_unit_test(lower_and_invalid_utf8),
        cmocka_unit_test(exact_and_f1),
        cmocka_unit_test(golds_dropping_rule),
        cmocka_unit_test(whole_file),
        cmocka_unit_test(repeated_ids),
        cmocka_unit_test(auroc_with_ties),
        cmocka_unit_test(python_float_repr),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
