# src/models: sources and tests
