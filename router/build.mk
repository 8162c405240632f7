# router: sources, programs and tests (see the top-level Makefile).
