libqaterm_a_SOURCES += \
	src/cli/commands.h src/cli/commands.c \
	src/cli/cmd_help.c \
	src/cli/cmd_doctor.c \
	src/cli/cmd_data.c
