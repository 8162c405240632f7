/*
 * collector/tlv.c against what Debian's libndpi serializer writes: each
 * record is serialized with ndpi_init_serializer(.., tlv) and also
 * written as the JSON a producer would send; both must give the same
 * records, through ej_parse_tlv and through ingest_msg (header version 3,
 * and version 4 with the TLV and zlib flags).  Built with -lndpi when
 * pkg-config finds libndpi (packaging/deps.sh --test), else it skips.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collector/collector.h"
#include "t.h"

#ifndef HAVE_NDPI
int
main(void)
{
	printf("skip: libndpi-dev not installed (packaging/deps.sh --test)\n");
	return 77;
}
#else
#include <arpa/inet.h>
#include <zlib.h>
#include <ndpi_api.h>

#define MAX_RECS	16

struct rec {
	uint16_t	type;
	size_t		len;
	unsigned char	body[sizeof(struct evp_flow)];
};

static struct rec recs[2][MAX_RECS];
static unsigned nrecs[2], cur;

static int
capture(void *arg, uint16_t type, const void *body, size_t len)
{
	struct rec *r;

	(void)arg;
	if (nrecs[cur] == MAX_RECS || len > sizeof(r->body))
		return -1;
	r = &recs[cur][nrecs[cur]++];
	r->type = type;
	r->len = len;
	memcpy(r->body, body, len);
	return 0;
}

#define NOW_USEC	1764680000000000ull

/* The records of `n` serialized TLV bytes equal those of `json`. */
static void
same_records(struct ej *ej, enum ej_topic t, const char *what,
    const uint8_t *tlv, uint32_t n, const char *json, unsigned want)
{
	unsigned i;

	cur = 0;
	nrecs[0] = 0;
	CHECK(ej_parse_tlv(ej, t, tlv, n) == 0);
	cur = 1;
	nrecs[1] = 0;
	CHECK(ej_parse(ej, t, json, strlen(json)) == 0);
	CHECK_EQ_U(nrecs[0], want);
	CHECK_EQ_U(nrecs[1], want);
	for (i = 0; i < nrecs[0] && i < nrecs[1]; i++) {
		CHECK_EQ_U(recs[0][i].type, recs[1][i].type);
		CHECK_EQ_U(recs[0][i].len, recs[1][i].len);
		if (memcmp(recs[0][i].body, recs[1][i].body,
		    recs[0][i].len) != 0) {
			fprintf(stderr, "%s: record %u differs\n", what, i);
			CHECK(0);
		}
	}
}

/* Two NetFlow records (numeric keys, IPv4 as uint32) in one payload. */
static uint8_t *
netflow_tlv(ndpi_serializer *s, uint32_t *n)
{
	CHECK(ndpi_init_serializer(s, ndpi_serialization_format_tlv) == 0);
	ndpi_serialize_uint32_uint32(s, 8, 0x0a000001);
	ndpi_serialize_uint32_uint32(s, 12, 0x0a000002);
	ndpi_serialize_uint32_uint32(s, 7, 40000);
	ndpi_serialize_uint32_uint32(s, 11, 443);
	ndpi_serialize_uint32_uint32(s, 4, 6);
	ndpi_serialize_uint32_uint64(s, 1, 123456789012ull);
	ndpi_serialize_uint32_uint32(s, 2, 1000);
	ndpi_serialize_uint32_uint32(s, 22, (uint32_t)(NOW_USEC / 1000000 - 9));
	ndpi_serialize_uint32_uint32(s, 21, (uint32_t)(NOW_USEC / 1000000 - 1));
	ndpi_serialize_uint32_int32(s, 57943, -7);
	ndpi_serialize_string_string(s, "L7_PROTO_NAME", "TLS.Google");
	ndpi_serialize_end_of_record(s);
	ndpi_serialize_uint32_uint32(s, 8, 0xc0a80105);
	ndpi_serialize_uint32_uint32(s, 12, 0x08080808);
	ndpi_serialize_uint32_uint32(s, 7, 5353);
	ndpi_serialize_uint32_uint32(s, 11, 53);
	ndpi_serialize_uint32_uint32(s, 4, 17);
	ndpi_serialize_end_of_record(s);
	return (uint8_t *)ndpi_serializer_get_buffer(s, n);
}

static const char netflow_json[] =
    "[{\"8\":\"10.0.0.1\",\"12\":\"10.0.0.2\",\"7\":40000,\"11\":443,\"4\":6,"
    "\"1\":123456789012,\"2\":1000,\"22\":1764679991,\"21\":1764679999,"
    "\"57943\":-7,\"L7_PROTO_NAME\":\"TLS.Google\"},"
    "{\"8\":\"192.168.1.5\",\"12\":\"8.8.8.8\",\"7\":5353,\"11\":53,"
    "\"4\":17}]";

static void
test_netflow(struct ej *ej)
{
	ndpi_serializer s;
	uint32_t n;
	uint8_t *b = netflow_tlv(&s, &n);

	same_records(ej, EJ_FLOW, "netflow", b, n, netflow_json, 2);
	ndpi_term_serializer(&s);
}

/* An Agent event: string keys, nested blocks, a float. */
static void
test_agent(struct ej *ej)
{
	ndpi_serializer s;
	uint32_t n;
	uint8_t *b;
	const struct evp_flow *f;

	CHECK(ndpi_init_serializer(&s, ndpi_serialization_format_tlv) == 0);
	ndpi_serialize_string_string(&s, "TCP_EVENT_TYPE", "ACCEPT");
	ndpi_serialize_string_string(&s, "IPV4_LOCAL_ADDR", "10.0.0.5");
	ndpi_serialize_string_string(&s, "IPV4_REMOTE_ADDR", "10.0.0.9");
	ndpi_serialize_string_uint32(&s, "L4_LOCAL_PORT", 8080);
	ndpi_serialize_string_uint32(&s, "L4_REMOTE_PORT", 40000);
	ndpi_serialize_string_uint32(&s, "PROTOCOL", 6);
	ndpi_serialize_string_float(&s, "NW_LATENCY_MS", 1.5f, "%.3f");
	ndpi_serialize_start_of_block(&s, "LOCAL_PROCESS");
	ndpi_serialize_string_uint32(&s, "PID", 4242);
	ndpi_serialize_string_string(&s, "PROCESS_PATH", "/usr/sbin/nginx");
	ndpi_serialize_string_uint64(&s, "VM_SIZE", 123456789ull);
	ndpi_serialize_end_of_block(&s);
	ndpi_serialize_start_of_block(&s, "LOCAL_CONTAINER");
	ndpi_serialize_string_string(&s, "ID", "275d71585e03");
	ndpi_serialize_start_of_block(&s, "K8S");
	ndpi_serialize_string_string(&s, "NAME", "coredns");
	ndpi_serialize_string_string(&s, "NS", "kube-system");
	ndpi_serialize_end_of_block(&s);
	ndpi_serialize_end_of_block(&s);
	ndpi_serialize_end_of_record(&s);
	b = (uint8_t *)ndpi_serializer_get_buffer(&s, &n);
	same_records(ej, EJ_FLOW, "agent", b, n,
	    "{\"TCP_EVENT_TYPE\":\"ACCEPT\",\"IPV4_LOCAL_ADDR\":\"10.0.0.5\","
	    "\"IPV4_REMOTE_ADDR\":\"10.0.0.9\",\"L4_LOCAL_PORT\":8080,"
	    "\"L4_REMOTE_PORT\":40000,\"PROTOCOL\":6,\"NW_LATENCY_MS\":1.5,"
	    "\"LOCAL_PROCESS\":{\"PID\":4242,\"PROCESS_PATH\":"
	    "\"/usr/sbin/nginx\",\"VM_SIZE\":123456789},\"LOCAL_CONTAINER\":"
	    "{\"ID\":\"275d71585e03\",\"K8S\":{\"NAME\":\"coredns\","
	    "\"NS\":\"kube-system\"}}}", 1);
	/* And the values themselves, not only their agreement. */
	f = (const struct evp_flow *)recs[0][0].body;
	CHECK_EQ_U(f->port[1], 8080);
	CHECK_EQ_U(f->side[1].proc.pid, 4242);
	CHECK_EQ_U(f->side[1].proc.vm_size, 123456789);
	CHECK_EQ_U(f->nw_latency_us, 1500);
	CHECK(strcmp(f->side[1].container.id, "275d71585e03") == 0);
	CHECK(strcmp(f->side[1].container.ns, "kube-system") == 0);
	ndpi_term_serializer(&s);
}

/* The counter topic, numeric values of every width. */
static void
test_counter(struct ej *ej)
{
	ndpi_serializer s;
	uint32_t n;
	uint8_t *b;

	CHECK(ndpi_init_serializer(&s, ndpi_serialization_format_tlv) == 0);
	ndpi_serialize_string_string(&s, "deviceIP", "192.168.1.1");
	ndpi_serialize_string_uint32(&s, "ifIndex", 3);
	ndpi_serialize_string_string(&s, "ifName", "eth0");
	ndpi_serialize_string_uint64(&s, "ifSpeed", 10000000000ull);
	ndpi_serialize_string_uint32(&s, "ifOperStatus", 1);
	ndpi_serialize_string_uint64(&s, "ifInOctets", 9007199254740993ull);
	ndpi_serialize_end_of_record(&s);
	b = (uint8_t *)ndpi_serializer_get_buffer(&s, &n);
	same_records(ej, EJ_COUNTER, "counter", b, n,
	    "{\"deviceIP\":\"192.168.1.1\",\"ifIndex\":3,\"ifName\":\"eth0\","
	    "\"ifSpeed\":10000000000,\"ifOperStatus\":1,"
	    "\"ifInOctets\":\"9007199254740993\"}", 1);
	CHECK_EQ_U(((const struct evp_ifcounter *)recs[0][0].body)->in_octets,
	    9007199254740993ull);
	ndpi_term_serializer(&s);
}

/* Through the whole message path: version 3, and version 4 zlib+TLV. */
static void
test_ingest(void)
{
	struct ingest in;
	ndpi_serializer s;
	uint8_t h[36], *b, *z;
	uint32_t n, id;
	uLongf zl;

	CHECK(ingest_init(&in, 1 << 20, capture, NULL) == 0);
	b = netflow_tlv(&s, &n);
	cur = 0;
	nrecs[0] = 0;
	memset(h, 0, sizeof(h));
	memcpy(h, "flow", 4);
	h[16] = 3;
	id = htonl(1);
	memcpy(h + 20, &id, 4);
	ingest_msg(&in, h, 28, b, n, 2, "10.0.0.1", 5, 1000, NOW_USEC);
	CHECK_EQ_U(nrecs[0], 2);
	CHECK_EQ_U(in.ctr[C_MSGS_TLV], 1);
	CHECK_EQ_U(in.ctr[C_MSGS_DECODED], 1);
	/* v4: flags TLV | zlib, the payload deflated. */
	zl = compressBound(n);
	z = malloc(zl);
	CHECK(compress(z, &zl, b, n) == Z_OK);
	memset(h, 0, sizeof(h));
	memcpy(h, "flow", 4);
	h[16] = 4;
	h[17] = ZF_V4_TLV | ZF_V4_ZLIB;
	id = htonl(2);
	memcpy(h + 28, &id, 4);
	ingest_msg(&in, h, 36, z, zl, 2, "10.0.0.1", 5, 1000, NOW_USEC);
	CHECK_EQ_U(nrecs[0], 4);
	CHECK_EQ_U(in.ctr[C_MSGS_TLV], 2);
	CHECK_EQ_U(in.ctr[C_DROP_MSG_TLV], 0);
	CHECK_EQ_U(in.ctr[C_EVENTS_FORWARDED], 4);
	/* A cut payload is refused whole, counted. */
	h[17] = ZF_V4_TLV;
	ingest_msg(&in, h, 36, b, n - 3, 2, "10.0.0.1", 5, 1000, NOW_USEC);
	CHECK_EQ_U(in.ctr[C_DROP_MSG_TLV], 1);
	CHECK_EQ_U(nrecs[0], 4);
	free(z);
	ndpi_term_serializer(&s);
	ingest_free(&in);
}

int
main(void)
{
	static uint64_t ctr[C_COUNTER_MAX];
	static struct ej ej;

	ej_init(&ej, ctr, capture, NULL);
	ej.producer = 3;
	ej.now_usec = NOW_USEC;
	test_netflow(&ej);
	test_agent(&ej);
	test_counter(&ej);
	test_ingest();
	return t_done("test_collector_tlv");
}
#endif
