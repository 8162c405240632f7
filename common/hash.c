#include <string.h>
#include <sys/random.h>

#include "clock.h"
#include "hash.h"

#define HASH_M1 0x9e3779b97f4a7c15ull
#define HASH_M2 0xbf58476d1ce4e5b9ull

static uint64_t
mix(uint64_t x)
{
	x ^= x >> 31;
	x *= HASH_M2;
	x ^= x >> 29;
	return x;
}

/*
 * Eight bytes at a time, each word folded in with a multiply and a
 * rotate; the tail is read as a zero-padded word.  Good spread for the
 * 40-byte flow keys it is used on; not for untrusted huge inputs.
 */
uint64_t
hash_bytes(const void *buf, size_t len, uint64_t seed)
{
	const uint8_t *p = buf;
	uint64_t h = seed ^ (len * HASH_M1), w;

	while (len >= 8) {
		memcpy(&w, p, 8);
		h ^= mix(w * HASH_M1);
		h = (h << 27 | h >> 37) * HASH_M1 + 0x52dce729;
		p += 8;
		len -= 8;
	}
	if (len > 0) {
		w = 0;
		memcpy(&w, p, len);
		h ^= mix(w * HASH_M1);
		h = (h << 27 | h >> 37) * HASH_M1 + 0x52dce729;
	}
	return mix(h ^ (h >> 33));
}

uint64_t
hash_random_seed(void)
{
	uint64_t s;

	if (getrandom(&s, sizeof(s), GRND_NONBLOCK) == (ssize_t)sizeof(s))
		return s;
	return mix(clock_wall_usec() ^ clock_mono_usec() * HASH_M1);
}
