/*
 * SHA-1 as FIPS 180-4 section 6.1 states it: 64-byte blocks, a message
 * schedule of 80 words kept as a rolling window of 16 (its alternative
 * method, 6.1.3), four rounds of 20 steps.  Written from the standard;
 * checked against its examples in tests/unit/test_community_id.c.
 *
 * On x86-64 CPUs with the SHA extensions (Intel since Goldmont/Ice Lake,
 * AMD since Zen), the block function uses them instead: the store hashes
 * every new flow's Community ID, and the portable block was ~2,700
 * instructions of the ~46,000 the store spends per written row
 * (callgrind, bench_store).  Both are checked against each other on
 * every length in the same test.
 */
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <cpuid.h>
#include <immintrin.h>
#define SHA1_X86	1
#endif

#include "sha1.h"

static inline uint32_t
rol(uint32_t x, unsigned n)
{
	return x << n | x >> (32 - n);
}

/* Word i of the message schedule, i >= 16: kept in a window of 16. */
#define W(i)	(w[(i) & 15] = rol(w[((i) + 13) & 15] ^ w[((i) + 8) & 15] ^ \
	    w[((i) + 2) & 15] ^ w[(i) & 15], 1))

/* One step: t from a..e, then the registers shift by one. */
#define STEP(f, k, wi) do {						\
	t = rol(a, 5) + (f) + e + (k) + (wi);				\
	e = d;								\
	d = c;								\
	c = rol(b, 30);							\
	b = a;								\
	a = t;								\
} while (0)

static void
sha1_block_c(uint32_t h[5], const uint8_t *p)
{
	uint32_t w[16], a, b, c, d, e, t;
	unsigned i;

	for (i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		    (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
	a = h[0];
	b = h[1];
	c = h[2];
	d = h[3];
	e = h[4];
	/* The four rounds of 20 steps, each with its own function and
	 * constant (a loop per round: no test per step). */
	for (i = 0; i < 16; i++)
		STEP((b & c) | (~b & d), 0x5a827999, w[i]);
	for (; i < 20; i++)
		STEP((b & c) | (~b & d), 0x5a827999, W(i));
	for (; i < 40; i++)
		STEP(b ^ c ^ d, 0x6ed9eba1, W(i));
	for (; i < 60; i++)
		STEP((b & c) | (b & d) | (c & d), 0x8f1bbcdc, W(i));
	for (; i < 80; i++)
		STEP(b ^ c ^ d, 0xca62c1d6, W(i));
	h[0] += a;
	h[1] += b;
	h[2] += c;
	h[3] += d;
	h[4] += e;
}

#ifdef SHA1_X86
/*
 * The same block with SHA1RNDS4 (four steps; the round's function and
 * constant chosen by its immediate), SHA1NEXTE (the next E from the A of
 * four steps before) and SHA1MSG1/SHA1MSG2 (four words of the schedule:
 * w[t-16]^w[t-14], then ^w[t-8] by hand, then the w[t-3] part and the
 * rotation).  A is the highest dword of `abcd`, E the highest of `e`;
 * message words are loaded big-endian with word 0 highest.
 */
__attribute__((target("sha,ssse3,sse4.1")))
static void
sha1_block_ni(uint32_t h[5], const uint8_t *p)
{
	const __m128i swap = _mm_set_epi64x(0x0001020304050607LL,
	    0x08090a0b0c0d0e0fLL);
	__m128i abcd, abcd0, e, e0, ev, prev, w[4];
	unsigned i;

	abcd = _mm_shuffle_epi32(_mm_loadu_si128((const void *)h), 0x1b);
	e = _mm_set_epi32((int)h[4], 0, 0, 0);
	abcd0 = abcd;
	e0 = e;
	prev = abcd;
	for (i = 0; i < 20; i++) {
		__m128i *wi = &w[i & 3];

		if (i < 4)
			*wi = _mm_shuffle_epi8(_mm_loadu_si128((const void *)
			    (p + 16 * i)), swap);
		else
			*wi = _mm_sha1msg2_epu32(_mm_xor_si128(
			    _mm_sha1msg1_epu32(*wi, w[(i + 1) & 3]),
			    w[(i + 2) & 3]), w[(i + 3) & 3]);
		ev = i == 0 ? _mm_add_epi32(e, *wi) :
		    _mm_sha1nexte_epu32(prev, *wi);
		prev = abcd;
		switch (i / 5) {
		case 0:
			abcd = _mm_sha1rnds4_epu32(abcd, ev, 0);
			break;
		case 1:
			abcd = _mm_sha1rnds4_epu32(abcd, ev, 1);
			break;
		case 2:
			abcd = _mm_sha1rnds4_epu32(abcd, ev, 2);
			break;
		default:
			abcd = _mm_sha1rnds4_epu32(abcd, ev, 3);
			break;
		}
	}
	e = _mm_sha1nexte_epu32(prev, e0);
	abcd = _mm_shuffle_epi32(_mm_add_epi32(abcd, abcd0), 0x1b);
	_mm_storeu_si128((void *)h, abcd);
	h[4] = (uint32_t)_mm_extract_epi32(e, 3);
}

/* The CPU has SHA, SSSE3 and SSE4.1 (CPUID 7.0:EBX[29], 1:ECX[9,19]). */
static int
sha1_ni_present(void)
{
	unsigned a, b, c, d;

	if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & 1u << 9) ||
	    !(c & 1u << 19))
		return 0;
	if (!__get_cpuid_count(7, 0, &a, &b, &c, &d))
		return 0;
	return (b & 1u << 29) != 0;
}
#endif

/* The block function in use: the CPU's, if it has one. */
static void (*sha1_block)(uint32_t[5], const uint8_t *) = sha1_block_c;

#ifdef SHA1_X86
__attribute__((constructor))
static void
sha1_pick(void)
{
	if (sha1_ni_present())
		sha1_block = sha1_block_ni;
}
#endif

int
sha1_accel(int on)
{
#ifdef SHA1_X86
	if (!sha1_ni_present())
		return 0;
	sha1_block = on ? sha1_block_ni : sha1_block_c;
	return 1;
#else
	(void)on;
	return 0;
#endif
}

void
sha1_init(struct sha1 *s)
{
	s->h[0] = 0x67452301;
	s->h[1] = 0xefcdab89;
	s->h[2] = 0x98badcfe;
	s->h[3] = 0x10325476;
	s->h[4] = 0xc3d2e1f0;
	s->len = 0;
}

void
sha1_update(struct sha1 *s, const void *data, size_t n)
{
	const uint8_t *p = data;
	size_t have = (size_t)(s->len % 64), take;

	s->len += n;
	if (have > 0) {
		take = 64 - have < n ? 64 - have : n;
		memcpy(s->block + have, p, take);
		p += take;
		n -= take;
		if (have + take < 64)
			return;
		sha1_block(s->h, s->block);
	}
	for (; n >= 64; p += 64, n -= 64)
		sha1_block(s->h, p);
	if (n > 0)
		memcpy(s->block, p, n);
}

void
sha1_final(struct sha1 *s, uint8_t out[SHA1_LEN])
{
	uint64_t bits = s->len * 8;
	size_t have = (size_t)(s->len % 64);
	unsigned i;

	/* 0x80, zeros to 56 mod 64, the length in bits big-endian. */
	s->block[have++] = 0x80;
	if (have > 56) {
		memset(s->block + have, 0, 64 - have);
		sha1_block(s->h, s->block);
		have = 0;
	}
	memset(s->block + have, 0, 56 - have);
	for (i = 0; i < 8; i++)
		s->block[56 + i] = (uint8_t)(bits >> (56 - 8 * i));
	sha1_block(s->h, s->block);
	for (i = 0; i < 5; i++) {
		out[4 * i] = (uint8_t)(s->h[i] >> 24);
		out[4 * i + 1] = (uint8_t)(s->h[i] >> 16);
		out[4 * i + 2] = (uint8_t)(s->h[i] >> 8);
		out[4 * i + 3] = (uint8_t)s->h[i];
	}
}

void
sha1(const void *data, size_t n, uint8_t out[SHA1_LEN])
{
	struct sha1 s;

	sha1_init(&s);
	sha1_update(&s, data, n);
	sha1_final(&s, out);
}
