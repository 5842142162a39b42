libqaterm_a_SOURCES += \
	src/cli/commands.h src/cli/commands.c \
	src/cli/cmd_help.c \
	src/cli/cmd_doctor.c \
	src/cli/cmd_data.c
# ask / predict / bench: generic over qt_model (src/models/model.h)
libqaterm_a_SOURCES += src/cli/cmd_ask.c src/cli/cmd_predict.c src/cli/cmd_bench.c
TESTS += tests/cli/ask.sh tests/cli/predict.sh tests/cli/bench.sh
EXTRA_DIST += tests/cli/ask.sh tests/cli/predict.sh tests/cli/bench.sh
