/*
 * libFuzzer target: the router's record path (link_in_dispatch ->
 * dispatch_record -> link_out) on arbitrary records from a sibling.
 *
 * The input is turned into a well-formed batch so the fuzzer reaches
 * dispatch instead of dying at the batch magic: byte 0 picks the
 * sender's interface (one of the table's, or an undeclared one); then
 * each record is a type byte, a 16-bit length and that many body bytes.
 * Bodies are whatever the fuzzer made; sometimes the length is
 * stretched to a real record size with the rest zero-filled, so the
 * decoders' field checks are reached too.  Output goes to an ipc
 * endpoint nobody reads, with a zero send timeout: sends fail and are
 * counted, which is a path worth fuzzing as well.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "router/router.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const char *const fuzz_ifaces[] = {
	"tcp://*:1c", "eth0", "mirror0", "tcp://*:2c", "nowhere"
};

static struct router *
fuzz_router(void)
{
	static struct router *r;
	static struct conf_list ifs, mir, comp;
	char err[256], ep[96];
	unsigned k;

	if (r != NULL)
		return r;
	log_init("fuzz_router", LOG_LVL_WARN);
	r = calloc(1, sizeof(*r));
	for (k = 0; k < 4; k++)
		snprintf(ifs.item[ifs.n++], CONF_STR_LEN, "%s", fuzz_ifaces[k]);
	snprintf(mir.item[mir.n++], CONF_STR_LEN, "mirror0");
	snprintf(comp.item[comp.n++], CONF_STR_LEN, "tcp://*:1c mirror0");
	if (r == NULL || iface_table_build(&r->tab, &ifs, &mir, &comp, err,
	    sizeof(err)) == -1)
		abort();
	snprintf(r->conf.name, sizeof(r->conf.name), "router");
	snprintf(ep, sizeof(ep), "ipc:///tmp/evflow-fuzz-router-%d.ipc",
	    (int)getpid());
	if ((r->out = link_out_new(ep, 0, EVP_ROLE_ROUTER, "router", "", 0,
	    err, sizeof(err))) == NULL ||
	    (r->in = calloc(1, sizeof(*r->in))) == NULL)
		abort();
	r->in->sock = -1;
	r->in->cb = dispatch_record;
	r->in->arg = r;
	r->last_iface = -1;
	return r;
}

static const size_t fuzz_sizes[EVP_TYPE_MAX] = {
	[EVP_FLOW] = EVP_FLOW_FIXED_LEN,
	[EVP_IFCOUNTER] = sizeof(struct evp_ifcounter),
	[EVP_LISTEN] = sizeof(struct evp_listen),
	[EVP_PRODUCER] = sizeof(struct evp_producer),
	[EVP_STATS] = sizeof(struct evp_stats),
	[EVP_IFACE] = sizeof(struct evp_iface),
	[EVP_HOSTNAME] = sizeof(struct evp_hostname),
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t msg[EVP_BATCH_MAX_BYTES];
	static uint64_t sender = 1;
	struct router *r = fuzz_router();
	struct evp_batch b;
	struct evp_hello h;
	size_t off = 1, len, blen;
	uint16_t extra;
	unsigned type;
	_Alignas(8) uint8_t body[sizeof(struct evp_flow)];

	if (size < 1)
		return 0;
	evp_batch_init(&b, msg, sender++);
	memset(&h, 0, sizeof(h));
	h.proto_version = EVP_VERSION;
	h.role = EVP_ROLE_COLLECTOR;
	snprintf(h.name, sizeof(h.name), "fuzz");
	snprintf(h.iface, sizeof(h.iface), "%s", fuzz_ifaces[data[0] % 5]);
	(void)evp_batch_add(&b, EVP_HELLO, 0, &h, sizeof(h));
	while (off + 3 <= size) {
		type = data[off] % (EVP_TYPE_MAX + 1);
		len = (size_t)data[off + 1] | (size_t)data[off + 2] << 8;
		off += 3;
		blen = len <= size - off ? len : size - off;
		if (blen > sizeof(body))
			blen = sizeof(body);
		memset(body, 0, sizeof(body));
		memcpy(body, data + off, blen);
		off += blen;
		/* High bit of the length: stretch to the record's real size. */
		if ((len & 0x8000) && type < EVP_TYPE_MAX && fuzz_sizes[type]) {
			memcpy(&extra, body + offsetof(struct evp_flow,
			    extra_len), sizeof(extra));
			blen = fuzz_sizes[type] + (type == EVP_FLOW ?
			    extra % (EVP_EXTRA_MAX + 1) : 0);
		}
		if (blen > sizeof(body))
			blen = sizeof(body);
		/* A stretched flow goes through the real encoder, so dispatch
		 * sees well-formed records; anything else is sent verbatim. */
		if ((len & 0x8000) && type == EVP_FLOW) {
			blen = evp_flow_len((const struct evp_flow *)
			    (const void *)body);
			if (evp_batch_add(&b, EVP_FLOW, b.count, body, blen) ==
			    -1)
				break;
		} else if (evp_batch_add_raw(&b, (uint16_t)type, b.count, body,
		    blen) == -1)
			break;
	}
	link_in_dispatch(r->in, b.buf, b.len);
	if (r->ctr[RC_RECEIVED] != r->ctr[RC_FORWARDED] +
	    r->ctr[RC_DROP_UNKNOWN_IFACE] + r->ctr[RC_DROP_BAD_RECORD] +
	    r->ctr[RC_DROP_UNEXPECTED_TYPE] + r->ctr[RC_DROP_SEND])
		abort();	/* every record is forwarded or counted */
	return 0;
}
