# src/train: the trainer (data pipeline, negatives, optimiser loop,
# checkpoints, evaluation) and its commands.
libqaterm_a_SOURCES += \
	src/train/textscan.c src/train/textscan.h \
	src/train/antonyms.c \
	src/train/negatives.c src/train/negatives.h \
	src/train/split.c src/train/split.h \
	src/train/train.h src/train/config.c \
	src/train/arch.h src/train/arch_lstm.c \
	src/train/arch_bert.c \
	src/train/arch_mamba.c \
	src/train/arch_t5.c \
	src/train/pool.c src/train/pool.h \
	src/train/tokenizer_build.c src/train/tokenizer_build.h \
	src/train/data.c src/train/data.h \
	src/train/state.c src/train/state.h \
	src/train/evaluate.c src/train/evaluate.h \
	src/train/trainer.c \
	src/cli/cmd_train.c src/cli/cmd_tune_threshold.c src/cli/cmd_convert.c

if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_negatives
TESTS += tests/unit/test_negatives
tests_unit_test_negatives_SOURCES = tests/unit/test_negatives.c
tests_unit_test_negatives_CFLAGS = $(CMOCKA_TEST_CFLAGS)
tests_unit_test_negatives_LDADD = $(CMOCKA_TEST_LDADD)
check_PROGRAMS += tests/unit/test_train
TESTS += tests/unit/test_train
tests_unit_test_train_SOURCES = tests/unit/test_train.c
tests_unit_test_train_CFLAGS = $(CMOCKA_TEST_CFLAGS)
tests_unit_test_train_LDADD = $(CMOCKA_TEST_LDADD)
endif

TESTS += tests/cli/train.sh
EXTRA_DIST += tests/cli/train_lib.sh
TESTS += tests/cli/train_t5.sh
EXTRA_DIST += tests/cli/train_t5.sh assets/models/configs/t5.json assets/models/configs/t5-tiny.json
TESTS += tests/cli/train_bert.sh
EXTRA_DIST += tests/cli/train_bert.sh assets/models/configs/bert.json assets/models/configs/bert-tiny.json
TESTS += tests/cli/train_mamba.sh
EXTRA_DIST += tests/cli/train_mamba.sh assets/models/configs/mamba.json assets/models/configs/mamba-tiny.json
EXTRA_DIST += tests/cli/train.sh assets/models/configs/lstm.json assets/models/configs/lstm-long.json \
	assets/models/configs/lstm-holdout.json \
	src/train/DESIGN.md
TESTS += tests/cli/convert.sh
EXTRA_DIST += tests/cli/convert.sh

# transformers trained with the same recipes on the same records (dev time; DESIGN.md)
EXTRA_DIST += tests/ref/recipe_check.py
