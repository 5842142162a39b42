libqaterm_a_SOURCES += \
	src/util/err.c src/util/err.h \
	src/util/file.c src/util/file.h \
	src/util/json.c src/util/json.h \
	src/util/paths.c src/util/paths.h
libqaterm_a_SOURCES += src/util/sha256.c src/util/sha256.h

if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_util
TESTS += tests/unit/test_util
tests_unit_test_util_SOURCES = tests/unit/test_util.c
tests_unit_test_util_CFLAGS = $(CMOCKA_TEST_CFLAGS)
tests_unit_test_util_LDADD = $(CMOCKA_TEST_LDADD)
endif
