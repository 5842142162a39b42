libqaterm_a_SOURCES += \
	src/nn/blas_setup.c src/nn/blas_setup.h

if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_blas
TESTS += tests/unit/test_blas
tests_unit_test_blas_SOURCES = tests/unit/test_blas.c
tests_unit_test_blas_CFLAGS = $(CMOCKA_TEST_CFLAGS)
tests_unit_test_blas_LDADD = $(CMOCKA_TEST_LDADD)
endif
