# src/qa: sources and tests
libqaterm_a_SOURCES += src/qa/squad.c src/qa/squad.h
TESTS += tests/cli/data.sh
EXTRA_DIST += tests/cli/data.sh
if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_squad
TESTS += tests/unit/test_squad
tests_unit_test_squad_SOURCES = tests/unit/test_squad.c
tests_unit_test_squad_CFLAGS = $(CMOCKA_TEST_CFLAGS)
tests_unit_test_squad_LDADD = $(CMOCKA_TEST_LDADD)
endif
libqaterm_a_SOURCES += src/qa/normalize.c src/qa/normalize.h src/qa/score.c src/qa/score.h
libqaterm_a_SOURCES += src/cli/cmd_score.c
if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_score
TESTS += tests/unit/test_score
tests_unit_test_score_SOURCES = tests/unit/test_score.c
tests_unit_test_score_CFLAGS = $(CMOCKA_TEST_CFLAGS)
tests_unit_test_score_LDADD = $(CMOCKA_TEST_LDADD)
endif
TESTS += tests/cli/score.sh
EXTRA_DIST += tests/cli/score.sh tests/ref/squad_eval_ref.py tests/ref/make_predictions.py
libqaterm_a_SOURCES += src/qa/decode.c src/qa/decode.h
if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_decode
TESTS += tests/unit/test_decode
tests_unit_test_decode_SOURCES = tests/unit/test_decode.c
tests_unit_test_decode_CFLAGS = $(CMOCKA_TEST_CFLAGS)
tests_unit_test_decode_LDADD = $(CMOCKA_TEST_LDADD)
endif
