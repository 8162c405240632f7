# tests/tools: the test producer and small test helpers (see the top-level Makefile).
