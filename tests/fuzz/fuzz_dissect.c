/*
 * libFuzzer target: capture/dissect.c on arbitrary bytes for each link
 * type, and every frame it accepts through the flow table (small, so
 * eviction and timers run too) with deep inspection on: payload packets
 * go to nDPI (few states and a small memory bound, so reclaim and the
 * limits run), UDP from port 53 to the DNS parser and the name cache
 * (small: eviction), and every record gets its application block.  Input: byte 0 picks the link type,
 * byte 1 adds on-wire bytes beyond the captured ones (truncation) and
 * advances the clock; the rest is the frame.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "capture/capture.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const int fuzz_dlts[] = {
	1,	/* EN10MB */
	113,	/* LINUX_SLL */
	276,	/* LINUX_SLL2 */
	12,	/* RAW */
	101,	/* LINKTYPE_RAW */
	228,	/* IPV4 */
	229,	/* IPV6 */
	0,	/* NULL */
	108,	/* LOOP */
	105,	/* 802.11: refused */
};

static struct evp_flow fuzz_rec;
static struct flow_table *ft;
static struct dpi *dpi;

static void
fuzz_emit(void *arg, const struct flow *f, enum flow_why why)
{
	(void)arg;
	flow_export(&fuzz_rec, f, why);
	dpi_export(dpi, (uint32_t)(f - ft->flows), f, &fuzz_rec,
	    why != FW_UPDATE);
	if ((fuzz_rec.flags & EVP_F_HAS_APP) &&
	    (memchr(fuzz_rec.app.proto, 0, sizeof(fuzz_rec.app.proto)) ==
	    NULL || memchr(fuzz_rec.app.sni, 0, sizeof(fuzz_rec.app.sni)) ==
	    NULL))
		abort();
}

static void
fuzz_name(void *arg, const struct evp_hostname *h)
{
	struct evp_hostname o;

	(void)arg;
	/* What the capture sends must pass the receivers' checks. */
	if (evp_decode_hostname(h, sizeof(*h), &o) == -1)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint64_t cnt[CC_MAX], now = 1000000;
	static struct names *names;
	struct flow_cfg cfg = { 64, 10000000, 5000000, 1000000, 2000000 };
	struct dpi_cfg dc = { 64, 4, 4, 2048, 0, 0, NULL };
	char err[256];
	enum dissect_result r;
	struct pkt k;
	uint8_t *frame;
	size_t n;

	if (ft == NULL) {
		if ((ft = flow_table_new(&cfg, fuzz_emit, NULL, cnt)) == NULL ||
		    (names = names_new(8, fuzz_name, NULL, cnt)) == NULL ||
		    (dpi = dpi_new(&dc, cnt, names, err, sizeof(err))) == NULL)
			abort();
		ft->dpi = dpi;
		ft->names = names;
	}
	if (size < 2)
		return 0;
	n = size - 2;
	/* An exact-size copy so any read past caplen is caught. */
	if ((frame = malloc(n ? n : 1)) == NULL)
		return 0;
	memcpy(frame, data + 2, n);
	r = dissect(fuzz_dlts[data[0] % (sizeof(fuzz_dlts) /
	    sizeof(fuzz_dlts[0]))], frame, (uint32_t)n,
	    (uint32_t)n + (data[1] & 0x7f), &k);
	if (r == DIS_OK) {
		now += (uint64_t)data[1] * 50000;
		k.ts_usec = now;
		flow_table_packet(ft, &k);
		if (k.ip_len > k.wire_len || (k.ipver != 4 && k.ipver != 6))
			abort();
	} else if (dissect_counter(r) >= CC_MAX)
		abort();
	free(frame);
	return 0;
}
