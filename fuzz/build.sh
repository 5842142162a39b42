#!/bin/sh
# Builds the libFuzzer targets with clang straight from the project sources
# (not through automake). Run it from a build directory, not the source tree:
#
#   cd /work/build-me && /path/to/qaterm/fuzz/build.sh [OUTDIR]    # default OUTDIR: ./fuzz-build
#   mkdir -p work && OUTDIR/fuzz_safetensors -dict=SRC/fuzz/safetensors.dict \
#       -max_total_time=600 work SRC/fuzz/corpus/safetensors
#
# New findings land in "work"; minimise them (-merge=1) before adding any to
# fuzz/corpus/NAME/, which tests/unit/fuzz_replay replays under make check.
# Environment: CC (clang), CFLAGS, SANITIZERS (fuzzer,address,undefined).
set -eu

src=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-fuzz-build}
CC=${CC:-clang}
CFLAGS=${CFLAGS:--g -O1 -fno-omit-frame-pointer}
SANITIZERS=${SANITIZERS:-fuzzer,address,undefined}
mkdir -p "$out"

flags="$CFLAGS -Wall -Wextra -fsanitize=$SANITIZERS -fno-sanitize-recover=undefined -D_GNU_SOURCE \
-I$src/src -I$src $(pkg-config --cflags libcjson)"
libs="$(pkg-config --libs libcjson libutf8proc) -lm"
common="src/util/err.c src/util/file.c src/util/json.c"

# target NAME SOURCE...: links fuzz/fuzz_NAME.c with the project sources it
# tests (paths relative to the source tree; the util basics come along).
target() {
    name=$1
    shift
    srcs="$src/fuzz/fuzz_$name.c"
    for f in $common "$@"; do
        srcs="$srcs $src/$f"
    done
    echo "fuzz/build.sh: $out/fuzz_$name"
    # shellcheck disable=SC2086 # word splitting of the flag and file lists is intended
    $CC $flags $srcs -o "$out/fuzz_$name" $libs
}

# One line per target.
target safetensors src/nn/safetensors.c src/nn/safetensors_write.c src/util/half.c
target tokenizer_json src/tok/tokenizer.c src/tok/tok_json.c src/tok/vocab_txt.c src/tok/nstr.c \
    src/tok/tok_unicode.c src/tok/pretok.c src/tok/added.c src/tok/vocab.c src/tok/wordpiece.c src/tok/bpe.c \
    src/tok/unigram.c src/tok/charsmap.c src/tok/tok_decode.c src/util/paths.c
target unigram_json src/tok/tokenizer.c src/tok/tok_json.c src/tok/vocab_txt.c src/tok/nstr.c \
    src/tok/tok_unicode.c src/tok/pretok.c src/tok/added.c src/tok/vocab.c src/tok/wordpiece.c src/tok/bpe.c \
    src/tok/unigram.c src/tok/charsmap.c src/tok/tok_decode.c src/util/paths.c
