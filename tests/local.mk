# Shell-driven tests (TAP). Each sources tests/lib.sh.
TESTS += tests/cli/basics.sh
EXTRA_DIST += tests/lib.sh tests/cli/basics.sh
