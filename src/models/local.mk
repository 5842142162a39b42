# src/models: sources and tests
libqaterm_a_SOURCES += src/models/model.c src/models/model.h src/models/engines.h
# Hugging Face checkpoint directories (config.json + safetensors shards)
libqaterm_a_SOURCES += src/models/checkpoint.c src/models/checkpoint.h
