/*
 * SHA-1 (FIPS 180-4), for identifiers that a standard defines with it
 * (the Community ID flow hash).  Not for anything that needs collision
 * resistance: SHA-1 has none left.
 */
#ifndef EVFLOW_SHA1_H
#define EVFLOW_SHA1_H

#include <stddef.h>
#include <stdint.h>

#define SHA1_LEN	20	/* bytes of a digest */

struct sha1 {
	uint32_t	h[5];
	uint64_t	len;		/* bytes hashed so far */
	uint8_t		block[64];	/* len % 64 bytes pending */
};

void	sha1_init(struct sha1 *);
void	sha1_update(struct sha1 *, const void *, size_t);
/* Writes the digest; the state must be initialized again to reuse. */
void	sha1_final(struct sha1 *, uint8_t[SHA1_LEN]);
/* The digest of one buffer. */
void	sha1(const void *, size_t, uint8_t[SHA1_LEN]);
/* Uses the CPU's SHA instructions (on: 1, the default where present) or
 * the portable code (0); 0 if the CPU has none.  For tests and benches:
 * not thread-safe. */
int	sha1_accel(int);

#endif
