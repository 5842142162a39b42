# ui: the interactive workbench (ncursesw), one concern per file
libqaterm_a_SOURCES += \
	ui/tui.h ui/ui.h \
	ui/app.c ui/picker.c ui/ask.c ui/panels.c ui/history.c ui/stats.c \
	ui/quiz.c ui/help.c ui/worker.c ui/text.c ui/edit.c ui/list.c \
	ui/theme.c ui/config.c ui/record.c ui/bench.c
# tmux-driven end-to-end tests on real engines: the fixture checkpoints of
# tests/fixtures, and a bigger random one made at test time (they skip when
# tmux is missing)
TESTS += tests/cli/tui_basic.sh tests/cli/tui_paste.sh tests/cli/tui_quiz.sh \
	tests/cli/tui_crash.sh tests/cli/tui_models.sh tests/cli/tui_terms.sh \
	tests/cli/tui_more.sh
EXTRA_DIST += tests/cli/tui_lib.sh tests/cli/tui_basic.sh tests/cli/tui_paste.sh \
	tests/cli/tui_quiz.sh tests/cli/tui_crash.sh tests/cli/tui_models.sh tests/cli/tui_terms.sh \
	tests/cli/tui_more.sh
# a random-weight BERT bigger than the fixtures, for the slow-model cases
check_PROGRAMS += tests/unit/make_random_ckpt
tests_unit_make_random_ckpt_SOURCES = tests/unit/make_random_ckpt.c
tests_unit_make_random_ckpt_LDADD = $(QATERM_LIBS)
# UTF-8 widths, wrapping, the line editor and the configuration file
if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_ui_text
TESTS += tests/unit/test_ui_text
tests_unit_test_ui_text_SOURCES = tests/unit/test_ui_text.c
tests_unit_test_ui_text_CFLAGS = $(CMOCKA_TEST_CFLAGS)
tests_unit_test_ui_text_LDADD = $(CMOCKA_TEST_LDADD)
endif
