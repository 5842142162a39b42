# src/tok: sources and tests
