# src/qa: sources and tests
