# src/tok: sources and tests
libqaterm_a_SOURCES += \
	src/tok/tokenizer.h src/tok/tok_internal.h \
	src/tok/tokenizer.c src/tok/tok_json.c src/tok/vocab_txt.c \
	src/tok/nstr.c src/tok/tok_unicode.c src/tok/pretok.c src/tok/added.c \
	src/tok/vocab.c src/tok/wordpiece.c src/tok/bpe.c \
	src/tok/tok_build.c src/tok/tok_build.h \
	src/cli/cmd_tokenize.c

if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_tok
TESTS += tests/unit/test_tok
tests_unit_test_tok_SOURCES = tests/unit/test_tok.c
tests_unit_test_tok_CFLAGS = $(CMOCKA_TEST_CFLAGS)
tests_unit_test_tok_LDADD = $(CMOCKA_TEST_LDADD)
endif

TESTS += tests/cli/tokenize.sh
EXTRA_DIST += tests/cli/tok_lib.sh
EXTRA_DIST += tests/cli/tokenize.sh tests/ref/tokenizers_ref.js \
	tests/fixtures/tok/tricky.json tests/fixtures/tok/unicode.txt.gz \
	tests/fixtures/tok/wp-uncased.dev.gz tests/fixtures/tok/wp-cased.dev.gz \
	tests/fixtures/tok/bpe-roberta.dev.gz tests/fixtures/tok/bpe-neox.dev.gz \
	tests/fixtures/tok/wp-uncased/vocab.txt tests/fixtures/tok/wp-uncased/tokenizer.json \
	tests/fixtures/tok/wp-uncased/tokenizer_config.json \
	tests/fixtures/tok/wp-cased/vocab.txt tests/fixtures/tok/wp-cased/tokenizer.json \
	tests/fixtures/tok/wp-cased/tokenizer_config.json \
	tests/fixtures/tok/bpe-roberta/tokenizer.json tests/fixtures/tok/bpe-neox/tokenizer.json \
	tests/fixtures/tok/probe-bert/tokenizer.json tests/fixtures/tok/probe-nfc/tokenizer.json \
	tests/fixtures/tok/probe-nfkd-lower/tokenizer.json fuzz/tokenizer_json.dict
# Word tokenizer and vocabulary of the BiLSTM reader
libqaterm_a_SOURCES += src/tok/words.c src/tok/words.h
# Unigram (SentencePiece) model, precompiled charsmap, Metaspace, decoders
libqaterm_a_SOURCES += src/tok/unigram.h src/tok/unigram.c src/tok/charsmap.c src/tok/tok_decode.c
if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_unigram
TESTS += tests/unit/test_unigram
tests_unit_test_unigram_SOURCES = tests/unit/test_unigram.c
tests_unit_test_unigram_CFLAGS = $(CMOCKA_TEST_CFLAGS)
tests_unit_test_unigram_LDADD = $(CMOCKA_TEST_LDADD)
endif
TESTS += tests/cli/tokenize_unigram.sh
EXTRA_DIST += tests/cli/tokenize_unigram.sh tests/ref/unigram_ref.py tests/ref/unigram_ref.js \
	tests/fixtures/tok/unigram/tokenizer.json tests/fixtures/tok/unigram-bf/tokenizer.json \
	tests/fixtures/tok/unigram.dev.gz tests/fixtures/tok/unigram-bf.dev.gz \
	tests/fixtures/tok/unigram-tricky.json tests/fixtures/tok/unigram-probe.gz fuzz/unigram_json.dict
# Building the tokenizers of the models trained here
if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_tok_build
TESTS += tests/unit/test_tok_build
tests_unit_test_tok_build_SOURCES = tests/unit/test_tok_build.c
tests_unit_test_tok_build_CFLAGS = $(CMOCKA_TEST_CFLAGS)
tests_unit_test_tok_build_LDADD = $(CMOCKA_TEST_LDADD)
endif
