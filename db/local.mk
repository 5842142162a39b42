# db: sources and tests
