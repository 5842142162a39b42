# src/models: sources and tests
libqaterm_a_SOURCES += src/models/model.c src/models/model.h src/models/engines.h
# Hugging Face checkpoint directories (config.json + safetensors shards)
libqaterm_a_SOURCES += src/models/checkpoint.c src/models/checkpoint.h
# Mamba (selective state space) engine: span head and generative QA
libqaterm_a_SOURCES += src/models/mamba.c src/models/mamba.h src/models/mamba_qa.c src/models/mamba_internal.h
# Mamba span reader for training: forward with saved activations, backward, loss, checkpoint I/O
libqaterm_a_SOURCES += src/models/mamba_train.c src/models/mamba_train_io.c src/models/mamba_train.h
if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_mamba_grad
TESTS += tests/unit/test_mamba_grad
tests_unit_test_mamba_grad_SOURCES = tests/unit/test_mamba_grad.c tests/unit/gradcheck.h
tests_unit_test_mamba_grad_CFLAGS = $(CMOCKA_TEST_CFLAGS)
tests_unit_test_mamba_grad_LDADD = $(CMOCKA_TEST_LDADD)
endif
# BERT / RoBERTa extractive QA engine (tests/ref/bert_ref.py makes its fixtures)
libqaterm_a_SOURCES += src/models/bert.c src/models/bert.h
if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_bert
TESTS += tests/unit/test_bert
tests_unit_test_bert_SOURCES = tests/unit/test_bert.c
tests_unit_test_bert_CFLAGS = $(CMOCKA_TEST_CFLAGS)
tests_unit_test_bert_LDADD = $(CMOCKA_TEST_LDADD)
endif
EXTRA_DIST += tests/ref/bert_ref.py tests/ref/make_bert_base.py tests/ref/bench_torch.py \
	tests/fixtures/bert/config.json tests/fixtures/bert/model.safetensors \
	tests/fixtures/bert/vocab.txt tests/fixtures/bert/tokenizer_config.json \
	tests/fixtures/bert/ctx_short.txt tests/fixtures/bert/ctx_long.txt \
	tests/fixtures/bert/expected.json tests/fixtures/bert/squad.json \
	tests/fixtures/roberta/config.json tests/fixtures/roberta/model.safetensors \
	tests/fixtures/roberta/tokenizer.json \
	tests/fixtures/roberta/ctx_short.txt tests/fixtures/roberta/ctx_long.txt \
	tests/fixtures/roberta/expected.json tests/fixtures/roberta/squad.json
# BERT training: forward with saved activations, backward, span loss, HF save (arch_bert.c)
libqaterm_a_SOURCES += src/models/bert_train.c src/models/bert_train.h src/models/bert_train_pass.c src/models/bert_train_mlm.c
if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_bert_grad
TESTS += tests/unit/test_bert_grad
tests_unit_test_bert_grad_SOURCES = tests/unit/test_bert_grad.c tests/unit/gradcheck.h
tests_unit_test_bert_grad_CFLAGS = $(CMOCKA_TEST_CFLAGS)
tests_unit_test_bert_grad_LDADD = $(CMOCKA_TEST_LDADD)
endif
# BiLSTM reader (qaterm_bilstm): forward, backward, loss; tests/ref/bilstm_ref.py makes its fixtures
libqaterm_a_SOURCES += src/models/bilstm.c src/models/bilstm.h src/models/bilstm_internal.h \
	src/models/bilstm_forward.c src/models/bilstm_backward.c
if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_bilstm
TESTS += tests/unit/test_bilstm
tests_unit_test_bilstm_SOURCES = tests/unit/test_bilstm.c tests/unit/gradcheck.h
tests_unit_test_bilstm_CFLAGS = $(CMOCKA_TEST_CFLAGS)
tests_unit_test_bilstm_LDADD = $(CMOCKA_TEST_LDADD)
check_PROGRAMS += tests/unit/test_bilstm_grad
TESTS += tests/unit/test_bilstm_grad
tests_unit_test_bilstm_grad_SOURCES = tests/unit/test_bilstm_grad.c tests/unit/gradcheck.h
tests_unit_test_bilstm_grad_CFLAGS = $(CMOCKA_TEST_CFLAGS)
tests_unit_test_bilstm_grad_LDADD = $(CMOCKA_TEST_LDADD)
endif
EXTRA_DIST += docs/bilstm.md tests/ref/bilstm_ref.py \
	tests/fixtures/bilstm/tiny/config.json tests/fixtures/bilstm/tiny/model.safetensors \
	tests/fixtures/bilstm/tiny/vocab.txt tests/fixtures/bilstm/tiny/expected.json \
	tests/fixtures/bilstm/plain/config.json tests/fixtures/bilstm/plain/model.safetensors \
	tests/fixtures/bilstm/plain/vocab.txt tests/fixtures/bilstm/plain/expected.json \
	tests/fixtures/bilstm/words.json
# Mamba tests (tests/ref/mamba_ref.py makes the fixtures; make_mamba_130m.py a bench model)
if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_mamba
TESTS += tests/unit/test_mamba
tests_unit_test_mamba_SOURCES = tests/unit/test_mamba.c
tests_unit_test_mamba_CFLAGS = $(CMOCKA_TEST_CFLAGS)
tests_unit_test_mamba_LDADD = $(CMOCKA_TEST_LDADD)
endif
EXTRA_DIST += tests/ref/mamba_ref.py tests/ref/make_mamba_130m.py tests/fixtures/mamba/expected.json \
	tests/fixtures/mamba/span/config.json tests/fixtures/mamba/span/model.safetensors \
	tests/fixtures/mamba/span/tokenizer.json \
	tests/fixtures/mamba/lm/config.json tests/fixtures/mamba/lm/model.safetensors \
	tests/fixtures/mamba/lm/tokenizer.json
# T5 (T5ForConditionalGeneration) generative QA; tests/ref/t5_ref.py makes its fixtures
libqaterm_a_SOURCES += src/models/t5.c src/models/t5_forward.c src/models/t5_qa.c src/models/t5_internal.h
if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_t5
TESTS += tests/unit/test_t5
tests_unit_test_t5_SOURCES = tests/unit/test_t5.c
tests_unit_test_t5_CFLAGS = $(CMOCKA_TEST_CFLAGS)
tests_unit_test_t5_LDADD = $(CMOCKA_TEST_LDADD)
endif
EXTRA_DIST += tests/ref/t5_ref.py \
	tests/fixtures/t5-relu/config.json tests/fixtures/t5-relu/model.safetensors \
	tests/fixtures/t5-relu/tokenizer.json tests/fixtures/t5-relu/expected.json \
	tests/fixtures/t5-gated/config.json tests/fixtures/t5-gated/model.safetensors \
	tests/fixtures/t5-gated/tokenizer.json tests/fixtures/t5-gated/expected.json
# T5 for training: forward with saved activations, loss, backward (arch t5)
libqaterm_a_SOURCES += src/models/t5_train.c src/models/t5_train_backward.c src/models/t5_train.h
if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_t5_grad
TESTS += tests/unit/test_t5_grad
tests_unit_test_t5_grad_SOURCES = tests/unit/test_t5_grad.c tests/unit/gradcheck.h
tests_unit_test_t5_grad_CFLAGS = $(CMOCKA_TEST_CFLAGS)
tests_unit_test_t5_grad_LDADD = $(CMOCKA_TEST_LDADD)
endif
# The shipped BERT, T5 and Mamba against transformers' own answers, or those of
# our PyTorch references (tests/ref/hf_shipped_ref.py made
# tests/fixtures/hf/shipped.json; it names which)
TESTS += tests/cli/hf_shipped.sh
EXTRA_DIST += tests/cli/hf_shipped.sh tests/ref/hf_shipped_ref.py tests/ref/shipped_torch_ref.py \
	tests/fixtures/hf/shipped.json
