/* util: file reading, JSON error reporting, UTF-8 validation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "util/file.h"
#include "util/json.h"

static void utf8_valid_and_invalid(void **state)
{
    (void)state;
    assert_int_equal(qt_utf8_invalid_offset("abc", 3), -1);
    { const char *s = "caf\xc3\xa9 \xe6\x97\xa5 \xf0\x9f\x98\x80"; assert_int_equal(qt_utf8_invalid_offset(s, strlen(s)), -1); }
    assert_int_equal(qt_utf8_invalid_offset("ab\xc3", 3), 2);          /* truncated */
    assert_int_equal(qt_utf8_invalid_offset("a\xc0\xaf", 3), 1);       /* overlong */
    assert_int_equal(qt_utf8_invalid_offset("a\xed\xa0\x80", 4), 1);   /* surrogate */
    assert_int_equal(qt_utf8_invalid_offset("\xf4\x90\x80\x80", 4), 0); /* > U+10FFFF */
    assert_int_equal(qt_utf8_invalid_offset("x\xff", 2), 1);
    assert_int_equal(qt_utf8_invalid_offset("\xe0\x9f\xbf", 3), 0);    /* overlong 3-byte */
}

static void json_errors_name_offsets(void **state)
{
    (void)state;
    qt_err e;
    const char *trunc = "{\"a\": [1, 2";
    assert_null(qt_json_parse("t.json", trunc, strlen(trunc), &e));
    assert_non_null(strstr(e.msg, "t.json"));
    assert_non_null(strstr(e.msg, "truncated"));

    const char *bad = "{\n  \"a\": tru }";
    assert_null(qt_json_parse("b.json", bad, strlen(bad), &e));
    assert_non_null(strstr(e.msg, "line 2"));

    const char *trail = "{} x";
    assert_null(qt_json_parse("c.json", trail, strlen(trail), &e));
    assert_non_null(strstr(e.msg, "byte offset 3"));

    assert_null(qt_json_parse("d.json", "", 0, &e));
    assert_non_null(strstr(e.msg, "empty"));

    const char *utf = "{\"a\": \"\xff\"}";
    assert_null(qt_json_parse("u.json", utf, strlen(utf), &e));
    assert_non_null(strstr(e.msg, "byte offset 7"));
    assert_non_null(strstr(e.msg, "UTF-8"));
}

static void json_need_reports_path_and_type(void **state)
{
    (void)state;
    qt_err e;
    const char *txt = "{\"n\": 3, \"s\": \"x\"}";
    cJSON *root = qt_json_parse("f.json", txt, strlen(txt), &e);
    assert_non_null(root);
    assert_non_null(qt_json_need(root, "n", cJSON_Number, "f.json", "$", &e));
    assert_null(qt_json_need(root, "s", cJSON_Number, "f.json", "$", &e));
    assert_non_null(strstr(e.msg, "$.s: expected a number, got a string"));
    assert_null(qt_json_need(root, "missing", cJSON_String, "f.json", "$.data[0]", &e));
    assert_non_null(strstr(e.msg, "missing field 'missing'"));
    assert_null(qt_json_opt(root, "missing", cJSON_String, "f.json", "$", &e));
    assert_int_equal(e.msg[0], 0);
    cJSON_Delete(root);
}

static void read_file_refuses_directories_and_missing(void **state)
{
    (void)state;
    qt_err e;
    char *data;
    size_t len;
    assert_int_equal(qt_read_file("/", 0, &data, &len, &e), -1);
    assert_non_null(strstr(e.msg, "directory"));
    assert_int_equal(qt_read_file("/nonexistent/qaterm", 0, &data, &len, &e), -1);
    assert_non_null(strstr(e.msg, "No such file"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(utf8_valid_and_invalid),
        cmocka_unit_test(json_errors_name_offsets),
        cmocka_unit_test(json_need_reports_path_and_type),
        cmocka_unit_test(read_file_refuses_directories_and_missing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
