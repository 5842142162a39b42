# Shell-driven tests (TAP). Each sources tests/lib.sh.
TESTS += tests/cli/basics.sh
EXTRA_DIST += tests/lib.sh tests/cli/basics.sh
# The bundled demo set's checker (the data itself is distributed by assets/local.mk).
TESTS += tests/cli/demo.sh
EXTRA_DIST += tests/cli/demo.sh
