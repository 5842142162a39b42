# src/train: sources and tests
