/*
 * A fast, non-cryptographic 64-bit hash for in-memory tables keyed by
 * short fixed keys (flow 5-tuples).  Seeded so that a hostile peer
 * cannot precompute collisions for a given process.
 */
#ifndef EVFLOW_HASH_H
#define EVFLOW_HASH_H

#include <stddef.h>
#include <stdint.h>

uint64_t hash_bytes(const void *, size_t, uint64_t);
/* A random seed from the kernel (getrandom), or a clock-based fallback. */
uint64_t hash_random_seed(void);

#endif
