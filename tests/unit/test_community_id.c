/*
 * SHA-1 against the examples of FIPS 180-4 (and its long-message test),
 * and the Community ID against the published test vectors of the
 * Community ID specification (its baseline: the JSON files computed by
 * the reference implementation from its sample pcaps, seed 0 and 1, and
 * the README's tables, which add port-less protocols over IPv6).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "common/community_id.h"
#include "common/sha1.h"
#include "t.h"

static void
hex(const uint8_t *d, size_t n, char *out)
{
	size_t i;

	for (i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
}

static void
test_sha1(void)
{
	static const char *const a56 =
	    "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	uint8_t d[SHA1_LEN], chunk[1000];
	char h[2 * SHA1_LEN + 1];
	struct sha1 s;
	size_t i;

	sha1("abc", 3, d);
	hex(d, SHA1_LEN, h);
	CHECK_STR(h, "a9993e364706816aba3e25717850c26c9cd0d89d");
	sha1("", 0, d);
	hex(d, SHA1_LEN, h);
	CHECK_STR(h, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
	sha1(a56, strlen(a56), d);
	hex(d, SHA1_LEN, h);
	CHECK_STR(h, "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
	/* One million 'a', fed in pieces that straddle blocks. */
	memset(chunk, 'a', sizeof(chunk));
	sha1_init(&s);
	for (i = 0; i < 1000000; i += 997)
		sha1_update(&s, chunk, 1000000 - i < 997 ? 1000000 - i : 997);
	sha1_final(&s, d);
	hex(d, SHA1_LEN, h);
	CHECK_STR(h, "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
	/* Lengths around the padding boundary (55, 56, 63, 64 bytes):
	 * one update equals byte-by-byte updates. */
	for (i = 54; i <= 66; i++) {
		uint8_t d1[SHA1_LEN];
		size_t j;

		sha1(chunk, i, d);
		sha1_init(&s);
		for (j = 0; j < i; j++)
			sha1_update(&s, chunk + j, 1);
		sha1_final(&s, d1);
		CHECK(memcmp(d, d1, SHA1_LEN) == 0);
	}
}

/* seed, proto, source, destination, ports (-1: none; ICMP: type and
 * code), the expected ID. */
static const struct vec {
	int		 seed, proto;
	const char	*saddr, *daddr;
	int		 sport, dport;
	const char	*id;
} vecs[] = {
	/* baseline_deflt.json and baseline_seed1.json */
	{ 0, 58, "fe80::200:86ff:fe05:80da", "fe80::260:97ff:fe07:69ea", 135, 136, "1:dGHyGvjMfljg6Bppwm3bg0LO8TY=" },
	{ 0, 58, "fe80::260:97ff:fe07:69ea", "fe80::200:86ff:fe05:80da", 136, 135, "1:dGHyGvjMfljg6Bppwm3bg0LO8TY=" },
	{ 0, 58, "fe80::260:97ff:fe07:69ea", "fe80::200:86ff:fe05:80da", 135, 136, "1:zavyT/cezQr1fmImYCwYnMXbgck=" },
	{ 0, 58, "fe80::200:86ff:fe05:80da", "fe80::260:97ff:fe07:69ea", 136, 135, "1:zavyT/cezQr1fmImYCwYnMXbgck=" },
	{ 0, 58, "3ffe:501:1800:2345::2", "3ffe:507:0:1:200:86ff:fe05:80da", 3, 0, "1:2ObVBgIn28oZvibYZhZMBgh7WdQ=" },
	{ 0, 58, "3ffe:501:410:0:2c0:dfff:fe47:33e", "3ffe:507:0:1:200:86ff:fe05:80da", 1, 4, "1:hLZd0XGWojozrvxqE0dWB1iM6R0=" },
	{ 0, 58, "3ffe:507:0:1:200:86ff:fe05:80da", "3ffe:501:0:1001::2", 128, 129, "1:+TW+HtLHvV1xnGhV1lv7XoJrqQg=" },
	{ 0, 58, "3ffe:501:0:1001::2", "3ffe:507:0:1:200:86ff:fe05:80da", 129, 128, "1:+TW+HtLHvV1xnGhV1lv7XoJrqQg=" },
	{ 0, 58, "fe80::200:86ff:fe05:80da", "ff02::2", 133, 134, "1:hO+sN4H+MG5MY/8hIrXPqc4ZQz0=" },
	{ 0, 58, "fe80::260:97ff:fe07:69ea", "ff02::1", 134, 133, "1:pkvHqCL88/tg1k4cPigmZXUtL00=" },
	{ 0, 1, "192.168.0.89", "192.168.0.1", 8, 0, "1:X0snYXpgwiv9TZtqg64sgzUn6Dk=" },
	{ 0, 1, "192.168.0.1", "192.168.0.89", 0, 8, "1:X0snYXpgwiv9TZtqg64sgzUn6Dk=" },
	{ 0, 1, "10.0.0.1", "10.0.0.2", 11, 0, "1:YHxtAirCG//0OzkcVAukqKQN9xM=" },
	{ 0, 6, "2001:470:e5bf:dead:4957:2174:e82c:4887", "2607:f8b0:400c:c03::1a", 63943, 25, "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=" },
	{ 0, 6, "2607:f8b0:400c:c03::1a", "2001:470:e5bf:dead:4957:2174:e82c:4887", 25, 63943, "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=" },
	{ 0, 132, "192.168.170.8", "192.168.170.56", 7, 7, "1:MP2EtRCAUIZvTw6MxJHLV7N7JDs=" },
	{ 0, 132, "192.168.170.56", "192.168.170.8", 7, 7, "1:MP2EtRCAUIZvTw6MxJHLV7N7JDs=" },
	{ 0, 6, "128.232.110.120", "66.35.250.204", 34855, 80, "1:LQU9qZlK+B5F3KDmev6m5PMibrg=" },
	{ 0, 6, "66.35.250.204", "128.232.110.120", 80, 34855, "1:LQU9qZlK+B5F3KDmev6m5PMibrg=" },
	{ 0, 17, "192.168.1.52", "8.8.8.8", 54585, 53, "1:d/FP5EW3wiY1vCndhwleRRKHowQ=" },
	{ 0, 17, "8.8.8.8", "192.168.1.52", 53, 54585, "1:d/FP5EW3wiY1vCndhwleRRKHowQ=" },
	{ 0, 46, "10.1.12.1", "10.1.12.2", -1, -1, "1:KHlLkgoJW7ifUTyTSgyVfkFHzKw=" },
	{ 0, 46, "10.1.12.2", "10.1.12.1", -1, -1, "1:KHlLkgoJW7ifUTyTSgyVfkFHzKw=" },
	{ 1, 58, "fe80::200:86ff:fe05:80da", "fe80::260:97ff:fe07:69ea", 135, 136, "1:kHa1FhMYIT6Ym2Vm2AOtoOARDzY=" },
	{ 1, 58, "fe80::260:97ff:fe07:69ea", "fe80::200:86ff:fe05:80da", 136, 135, "1:kHa1FhMYIT6Ym2Vm2AOtoOARDzY=" },
	{ 1, 58, "fe80::260:97ff:fe07:69ea", "fe80::200:86ff:fe05:80da", 135, 136, "1:2hSqmsDZ2kdcY9kbiUzOEBic0iM=" },
	{ 1, 58, "fe80::200:86ff:fe05:80da", "fe80::260:97ff:fe07:69ea", 136, 135, "1:2hSqmsDZ2kdcY9kbiUzOEBic0iM=" },
	{ 1, 58, "3ffe:501:1800:2345::2", "3ffe:507:0:1:200:86ff:fe05:80da", 3, 0, "1:lVEtCZpYu84Xqaa++3lXFyuu2n4=" },
	{ 1, 58, "3ffe:501:410:0:2c0:dfff:fe47:33e", "3ffe:507:0:1:200:86ff:fe05:80da", 1, 4, "1:W8MHwXpWzpoSTD+cGcaJr4u0ys8=" },
	{ 1, 58, "3ffe:507:0:1:200:86ff:fe05:80da", "3ffe:501:0:1001::2", 128, 129, "1:GfZxjAkDk2MkegpBYHV6tadtFXQ=" },
	{ 1, 58, "3ffe:501:0:1001::2", "3ffe:507:0:1:200:86ff:fe05:80da", 129, 128, "1:GfZxjAkDk2MkegpBYHV6tadtFXQ=" },
	{ 1, 58, "fe80::200:86ff:fe05:80da", "ff02::2", 133, 134, "1:L7Ka0ZMYu+J3bL4ulW2PrqyXNo8=" },
	{ 1, 58, "fe80::260:97ff:fe07:69ea", "ff02::1", 134, 133, "1:K/ee5UCqAMAQXDorP5nSa2CGLjc=" },
	{ 1, 1, "192.168.0.89", "192.168.0.1", 8, 0, "1:03g6IloqVBdcZlPyX8r0hgoE7kA=" },
	{ 1, 1, "192.168.0.1", "192.168.0.89", 0, 8, "1:03g6IloqVBdcZlPyX8r0hgoE7kA=" },
	{ 1, 1, "10.0.0.1", "10.0.0.2", 11, 0, "1:XjUibYHaafLQ3pxQeiMI8g25q20=" },
	{ 1, 6, "2001:470:e5bf:dead:4957:2174:e82c:4887", "2607:f8b0:400c:c03::1a", 63943, 25, "1:eJYTW6AOzFLlSUoESovMjnu7rMw=" },
	{ 1, 6, "2607:f8b0:400c:c03::1a", "2001:470:e5bf:dead:4957:2174:e82c:4887", 25, 63943, "1:eJYTW6AOzFLlSUoESovMjnu7rMw=" },
	{ 1, 132, "192.168.170.8", "192.168.170.56", 7, 7, "1:5w3ZRjeKBzqT3zsaEECDGjUbYeg=" },
	{ 1, 132, "192.168.170.56", "192.168.170.8", 7, 7, "1:5w3ZRjeKBzqT3zsaEECDGjUbYeg=" },
	{ 1, 6, "128.232.110.120", "66.35.250.204", 34855, 80, "1:3V71V58M3Ksw/yuFALMcW0LAHvc=" },
	{ 1, 6, "66.35.250.204", "128.232.110.120", 80, 34855, "1:3V71V58M3Ksw/yuFALMcW0LAHvc=" },
	{ 1, 17, "192.168.1.52", "8.8.8.8", 54585, 53, "1:Q9We8WO3piVF8yEQBNJF4uiSVrI=" },
	{ 1, 17, "8.8.8.8", "192.168.1.52", 53, 54585, "1:Q9We8WO3piVF8yEQBNJF4uiSVrI=" },
	{ 1, 46, "10.1.12.1", "10.1.12.2", -1, -1, "1:rYir8gphR31noO9iDRQmF/BteEI=" },
	{ 1, 46, "10.1.12.2", "10.1.12.1", -1, -1, "1:rYir8gphR31noO9iDRQmF/BteEI=" },
	/* The README's tables (defaults, then seed 1). */
	{ 0, 6, "1.2.3.4", "5.6.7.8", 1122, 3344,
	  "1:wCb3OG7yAFWelaUydu0D+125CLM=" },
	{ 0, 6, "5.6.7.8", "1.2.3.4", 3344, 1122,
	  "1:wCb3OG7yAFWelaUydu0D+125CLM=" },
	{ 0, 17, "1.2.3.4", "5.6.7.8", 1122, 3344,
	  "1:0Mu9InQx6z4ZiCZM/7HXi2WMhOg=" },
	{ 0, 132, "5.6.7.8", "1.2.3.4", 3344, 1122,
	  "1:EKt4MsxuyaE6mL+hmrEkQ9csDD8=" },
	{ 0, 1, "1.2.3.4", "5.6.7.8", 8, 0, "1:crodRHL2FEsHjbv3UkRrfbs4bZ0=" },
	{ 0, 1, "5.6.7.8", "1.2.3.4", 0, 0, "1:crodRHL2FEsHjbv3UkRrfbs4bZ0=" },
	{ 0, 1, "1.2.3.4", "5.6.7.8", 11, 0, "1:f/YiSyWqczrTgfUCZlBUnvHRcPk=" },
	{ 0, 58, "fe80:0001:0203:0405:0607:0809:0A0B:0C0D",
	  "fe80:1011:1213:1415:1617:1819:1A1B:1C1D", 128, 0,
	  "1:0bf7hyMJUwt3fMED7z8LIfRpBeo=" },
	{ 0, 58, "fe80:1011:1213:1415:1617:1819:1A1B:1C1D",
	  "fe80:0001:0203:0405:0607:0809:0A0B:0C0D", 129, 0,
	  "1:0bf7hyMJUwt3fMED7z8LIfRpBeo=" },
	{ 0, 58, "fe80:0001:0203:0405:0607:0809:0A0B:0C0D",
	  "fe80:1011:1213:1415:1617:1819:1A1B:1C1D", 146, 0,
	  "1:fYC8+pz24E+EhANP1EZhpX0Dw10=" },
	{ 0, 46, "1.2.3.4", "5.6.7.8", -1, -1, "1:ikv3kmf89luf73WPz1jOs49S768=" },
	{ 0, 46, "5.6.7.8", "1.2.3.4", -1, -1, "1:ikv3kmf89luf73WPz1jOs49S768=" },
	{ 0, 46, "fe80:0001:0203:0405:0607:0809:0A0B:0C0D",
	  "fe80:1011:1213:1415:1617:1819:1A1B:1C1D", -1, -1,
	  "1:wQ/2mwrnXP4lmJcHdGL5ePjR+e0=" },
	{ 0, 46, "fe80:1011:1213:1415:1617:1819:1A1B:1C1D",
	  "fe80:0001:0203:0405:0607:0809:0A0B:0C0D", -1, -1,
	  "1:wQ/2mwrnXP4lmJcHdGL5ePjR+e0=" },
	{ 1, 6, "5.6.7.8", "1.2.3.4", 3344, 1122,
	  "1:HhA1B+6CoLbiKPEs5nhNYN4XWfk=" },
	{ 1, 1, "5.6.7.8", "1.2.3.4", 0, 0, "1:9pr4ZGTICiuZoIh90RRYE2RyXpU=" },
	{ 1, 58, "fe80:0001:0203:0405:0607:0809:0A0B:0C0D",
	  "fe80:1011:1213:1415:1617:1819:1A1B:1C1D", 146, 0,
	  "1:Cv4IKJe56BNkF0MBW2YxQ3Nwc3s=" },
	{ 1, 46, "fe80:1011:1213:1415:1617:1819:1A1B:1C1D",
	  "fe80:0001:0203:0405:0607:0809:0A0B:0C0D", -1, -1,
	  "1:j6EyyfBzL4vWKHFXgUqb5Az3OxM=" },
};

static void
test_vectors(void)
{
	uint8_t sa[16], da[16];
	char id[COMMUNITY_ID_LEN];
	uint16_t sp, dp;
	unsigned alen;
	size_t i;
	int one_way;

	for (i = 0; i < sizeof(vecs) / sizeof(vecs[0]); i++) {
		const struct vec *v = &vecs[i];

		alen = strchr(v->saddr, ':') != NULL ? 16 : 4;
		CHECK(inet_pton(alen == 4 ? AF_INET : AF_INET6, v->saddr,
		    sa) == 1);
		CHECK(inet_pton(alen == 4 ? AF_INET : AF_INET6, v->daddr,
		    da) == 1);
		sp = (uint16_t)(v->sport < 0 ? 0 : v->sport);
		dp = (uint16_t)(v->dport < 0 ? 0 : v->dport);
		one_way = 0;
		if (v->proto == 1 || v->proto == 58)
			one_way = community_id_icmp_ports((uint8_t)v->proto,
			    (uint8_t)sp, (uint8_t)dp, &sp, &dp);
		community_id_v1(id, (uint16_t)v->seed, alen, sa, da,
		    (uint8_t)v->proto, sp, dp, one_way);
		if (strcmp(id, v->id) != 0)
			fprintf(stderr, "vector %zu: proto %d %s -> %s\n", i,
			    v->proto, v->saddr, v->daddr);
		CHECK_STR(id, v->id);
	}
}

/* The ICMP mapping itself, and that a port-less protocol ignores the
 * ports it is given. */
static void
test_icmp_and_portless(void)
{
	uint8_t a[4] = { 10, 0, 0, 1 }, b[4] = { 10, 0, 0, 2 };
	char x[COMMUNITY_ID_LEN], y[COMMUNITY_ID_LEN];
	uint16_t sp, dp;

	CHECK(community_id_icmp_ports(1, 8, 0, &sp, &dp) == 0);
	CHECK(sp == 8 && dp == 0);
	CHECK(community_id_icmp_ports(1, 3, 1, &sp, &dp) == 1);
	CHECK(sp == 3 && dp == 1);
	CHECK(community_id_icmp_ports(58, 135, 0, &sp, &dp) == 0);
	CHECK(sp == 135 && dp == 136);
	CHECK(community_id_icmp_ports(58, 1, 4, &sp, &dp) == 1);
	community_id_v1(x, 0, 4, a, b, 47, 0, 0, 0);
	community_id_v1(y, 0, 4, b, a, 47, 1234, 80, 0);
	CHECK_STR(x, y);
	CHECK(strlen(x) == COMMUNITY_ID_LEN - 1);
}

/* The index key: 30 bits of the hash (5 base64 characters after "1:"),
 * under the row's bucket (id / COMMUNITY_KEY_BUCKET). */
static void
test_key(void)
{
	const char *id = "1:wCb3OG7yAFWelaUydu0D+125CLM=";
	/* w=48 C=2 b=27 3=55 O=14 */
	int64_t h = (((48LL * 64 + 2) * 64 + 27) * 64 + 55) * 64 + 14;

	CHECK(community_id_hash30(id) == h);
	CHECK(community_id_hash30("1:AAAAAAAA") == 0);
	CHECK(community_id_hash30("1://///") == (1 << 30) - 1);
	CHECK(community_id_hash30("1:AAA") == -1);
	CHECK(community_id_hash30("2:AAAAAAAA") == -1);
	CHECK(community_id_hash30("1:AA*AAAAA") == -1);
	CHECK(community_id_hash30(NULL) == -1);
	CHECK(community_id_key(1, id) == h);
	CHECK(community_id_key(COMMUNITY_KEY_BUCKET - 1, id) == h);
	CHECK(community_id_key(COMMUNITY_KEY_BUCKET, id) ==
	    COMMUNITY_KEY_SPAN + h);
	CHECK(community_id_key(10 * COMMUNITY_KEY_BUCKET + 5, id) ==
	    10 * (int64_t)COMMUNITY_KEY_SPAN + h);
	CHECK(community_id_key(7, "1:A") == -1);
}

/* The CPU's SHA instructions (where present) and the portable code give
 * the same digest for every length 0..300 of pseudo-random bytes; then
 * the standard's examples and the Community ID vectors again with the
 * portable code. */
static void
test_sha1_accel(void)
{
	uint8_t buf[300], a[SHA1_LEN], b[SHA1_LEN];
	uint32_t x = 2463534242u;
	size_t i, n;
	unsigned diff = 0;

	if (!sha1_accel(1)) {
		printf("test_community_id: no SHA instructions on this CPU:"
		    " portable code only\n");
		return;
	}
	for (i = 0; i < sizeof(buf); i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		buf[i] = (uint8_t)x;
	}
	for (n = 0; n <= sizeof(buf); n++) {
		(void)sha1_accel(1);
		sha1(buf, n, a);
		(void)sha1_accel(0);
		sha1(buf, n, b);
		diff += memcmp(a, b, SHA1_LEN) != 0;
	}
	CHECK_EQ_U(diff, 0);
	/* sha1_accel(0) holds: the examples with the portable code. */
	test_sha1();
	test_vectors();
	test_icmp_and_portless();
	(void)sha1_accel(1);
}

int
main(void)
{
	test_sha1();
	test_vectors();
	test_icmp_and_portless();
	test_key();
	test_sha1_accel();
	return t_done("test_community_id");
}
