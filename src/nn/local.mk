libqaterm_a_SOURCES += \
	src/nn/blas_setup.c src/nn/blas_setup.h

# Neural-network core: tensors, ops with explicit backward, optimiser (DESIGN.md).
libqaterm_a_SOURCES += \
	src/nn/tensor.c src/nn/tensor.h src/nn/rng.c src/nn/rng.h \
	src/nn/ops.c src/nn/ops.h src/nn/linear.c src/nn/linear.h \
	src/nn/attention.c src/nn/attention.h src/nn/conv1d.c src/nn/conv1d.h \
	src/nn/scan.c src/nn/scan.h src/nn/lstm.c src/nn/lstm.h \
	src/nn/relpos.c src/nn/relpos.h src/nn/optim.c src/nn/optim.h src/nn/vecmath.h \
	src/nn/lm_head.c src/nn/lm_head.h
EXTRA_DIST += src/nn/DESIGN.md

if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_blas
TESTS += tests/unit/test_blas
tests_unit_test_blas_SOURCES = tests/unit/test_blas.c
tests_unit_test_blas_CFLAGS = $(CMOCKA_TEST_CFLAGS)
tests_unit_test_blas_LDADD = $(CMOCKA_TEST_LDADD)
endif

if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_nn tests/unit/test_nn_grad tests/unit/test_nn_grad_seq
TESTS += tests/unit/test_nn tests/unit/test_nn_grad tests/unit/test_nn_grad_seq
tests_unit_test_nn_SOURCES = tests/unit/test_nn.c
tests_unit_test_nn_CFLAGS = $(CMOCKA_TEST_CFLAGS)
tests_unit_test_nn_LDADD = $(CMOCKA_TEST_LDADD)
tests_unit_test_nn_grad_SOURCES = tests/unit/test_nn_grad.c tests/unit/gradcheck.h
tests_unit_test_nn_grad_CFLAGS = $(CMOCKA_TEST_CFLAGS)
tests_unit_test_nn_grad_LDADD = $(CMOCKA_TEST_LDADD)
tests_unit_test_nn_grad_seq_SOURCES = tests/unit/test_nn_grad_seq.c tests/unit/gradcheck.h
tests_unit_test_nn_grad_seq_CFLAGS = $(CMOCKA_TEST_CFLAGS)
tests_unit_test_nn_grad_seq_LDADD = $(CMOCKA_TEST_LDADD)
endif

# safetensors reader/writer, with the F16/BF16 conversions from src/util it needs
libqaterm_a_SOURCES += \
	src/nn/safetensors.c src/nn/safetensors_write.c src/nn/safetensors.h \
	src/util/half.c src/util/half.h

if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_safetensors
TESTS += tests/unit/test_safetensors
tests_unit_test_safetensors_SOURCES = tests/unit/test_safetensors.c
tests_unit_test_safetensors_CFLAGS = $(CMOCKA_TEST_CFLAGS)
tests_unit_test_safetensors_LDADD = $(CMOCKA_TEST_LDADD)
endif

# The committed fuzz corpora, replayed through the fuzz targets built without
# libFuzzer (fuzz/build.sh builds the real fuzzers with clang). A new target
# adds its fuzz/fuzz_NAME.c here and a line in fuzz/targets.h.
check_PROGRAMS += tests/unit/fuzz_replay
TESTS += tests/unit/fuzz_replay
tests_unit_fuzz_replay_SOURCES = tests/unit/fuzz_replay.c fuzz/fuzz.h fuzz/targets.h \
	fuzz/fuzz_safetensors.c fuzz/fuzz_tokenizer_json.c fuzz/fuzz_unigram_json.c
tests_unit_fuzz_replay_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_REPLAY
tests_unit_fuzz_replay_LDADD = $(QATERM_LIBS)
EXTRA_DIST += fuzz/build.sh fuzz/safetensors.dict fuzz/corpus \
	tests/fixtures/safetensors tests/ref/safetensors_ref.py
