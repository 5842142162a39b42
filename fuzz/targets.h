/* One line per fuzz target, QT_FUZZ_TARGET(NAME) for fuzz/fuzz_NAME.c (no
 * include guard: included under different definitions of the macro). Also
 * add the target to fuzz/build.sh and its source to the replay test in
 * src/nn/local.mk, and commit seeds under fuzz/corpus/NAME/. */
QT_FUZZ_TARGET(safetensors)
QT_FUZZ_TARGET(tokenizer_json)
QT_FUZZ_TARGET(unigram_json)
