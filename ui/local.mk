# ui: sources and tests
