# db: the SQLite session store and `qaterm history`.
libqaterm_a_SOURCES += \
	db/store.h db/store_internal.h \
	db/store_open.c db/store_write.c db/store_query.c \
	db/export.c db/export.h \
	src/cli/cmd_history.c

# db/schema.sql is compiled in as a C string: the generated header lives in
# the build tree and is made before anything compiles.
EXTRA_DIST += db/schema.sql
BUILT_SOURCES += db/schema_sql.h
CLEANFILES += db/schema_sql.h
db/schema_sql.h: $(top_srcdir)/db/schema.sql $(top_srcdir)/db/local.mk
	$(AM_V_GEN)$(MKDIR_P) db && { \
	  echo '/* Generated from db/schema.sql by db/local.mk; do not edit. */'; \
	  echo 'static const char qt_schema_v1_sql[] ='; \
	  sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/    "/' -e 's/$$/\\n"/' \
	    $(top_srcdir)/db/schema.sql; \
	  echo '    ;'; \
	} >$@-t && mv -f $@-t $@

if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_store tests/unit/test_sha256
TESTS += tests/unit/test_store tests/unit/test_sha256
tests_unit_test_store_SOURCES = tests/unit/test_store.c
tests_unit_test_store_CFLAGS = $(CMOCKA_TEST_CFLAGS)
tests_unit_test_store_LDADD = $(CMOCKA_TEST_LDADD)
tests_unit_test_sha256_SOURCES = tests/unit/test_sha256.c
tests_unit_test_sha256_CFLAGS = $(CMOCKA_TEST_CFLAGS)
tests_unit_test_sha256_LDADD = $(CMOCKA_TEST_LDADD)
endif

# A writer the shell tests populate databases with and kill -9 mid-write.
check_PROGRAMS += tests/unit/store_writer
tests_unit_store_writer_SOURCES = tests/unit/store_writer.c
tests_unit_store_writer_LDADD = $(QATERM_LIBS)

TESTS += tests/cli/store_crash.sh tests/cli/history.sh
EXTRA_DIST += tests/cli/store_crash.sh tests/cli/history.sh
