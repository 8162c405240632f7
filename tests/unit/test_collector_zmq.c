/*
 * collector/zmq_sock.c with real ZMQ sockets: a PUB publishes to the
 * collector's SUB in both modes (bind with a trailing 'c', connect),
 * over tcp and ipc, with CURVE; every frame of odd messages is consumed
 * so the stream stays in step (FIX: ntopng loses sync after a bad
 * header).  Messages go through ingest like the daemon's loop does.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zmq.h>

#include "collector/collector.h"
#include "t.h"
#include "t_flow.h"

static struct ingest in;
static unsigned flows;
static struct evp_flow last;
static char last_peer[EVP_NAME_LEN];

static int
capture(void *arg, uint16_t type, const void *body, size_t len)
{
	(void)arg;
	if (type == EVP_FLOW) {
		CHECK(t_flow_wire(body, len, &last) == 0);
		flows++;
	}
	return 0;
}

static const char ev[] = "{\"IPV4_SRC_ADDR\":\"10.0.0.1\","
    "\"IPV4_DST_ADDR\":\"10.0.0.2\",\"PROTOCOL\":6,\"L4_SRC_PORT\":40000,"
    "\"L4_DST_PORT\":%u,\"TCP_EVENT_TYPE\":\"CONNECT\"}";

static void
send_v4(void *pub, const char *topic, uint32_t msg_id, unsigned port)
{
	uint8_t h[36];
	uint32_t be = htonl(msg_id), sid = 1;
	char body[256];
	int n;

	memset(h, 0, sizeof(h));
	memcpy(h, topic, strlen(topic));
	h[16] = 4;
	memcpy(h + 28, &be, 4);
	memcpy(h + 32, &sid, 4);
	n = snprintf(body, sizeof(body), ev, port);
	CHECK(zmq_send(pub, h, sizeof(h), ZMQ_SNDMORE) == sizeof(h));
	CHECK(zmq_send(pub, body, (size_t)n, 0) == n);
}

/* Receives and ingests messages until `want` flows or ~10 s idle. */
static void
pump(void *sub, unsigned want, int max_idle)
{
	zmq_pollitem_t it = { sub, 0, ZMQ_POLLIN, 0 };
	struct zsock_msg m;
	int idle = 0;

	while (flows < want && idle < max_idle) {
		if (zmq_poll(&it, 1, 100) <= 0) {
			idle++;
			continue;
		}
		while (zsock_recv(sub, &m) == 1) {
			snprintf(last_peer, sizeof(last_peer), "%s", m.peer);
			ingest_msg(&in, zmq_msg_data(&m.part[0]),
			    zmq_msg_size(&m.part[0]),
			    m.nframes > 1 ? zmq_msg_data(&m.part[1]) : NULL,
			    m.nframes > 1 ? zmq_msg_size(&m.part[1]) : 0,
			    m.nframes, m.peer, m.conn, 1, 1);
			zsock_msg_close(&m);
		}
	}
}

/* PUB connects late (slow joiner): publish until the first arrives. */
static void
handshake(void *pub, void *sub)
{
	unsigned i, want = flows + 1;

	for (i = 0; i < 200 && flows < want; i++) {
		send_v4(pub, "flow", 0, 1);
		pump(sub, want, 1);
	}
	CHECK(flows >= want);
}

static void
test_tcp_bind(void *ctx)
{
	struct zsock_opts o = { 1000, 1 << 20, 1 << 20, 0, NULL };
	char err[256], ep[256];
	size_t len = sizeof(ep);
	void *sub, *pub;
	uint8_t bad[33];
	unsigned base;

	sub = zsock_open(ctx, "tcp://127.0.0.1:*c", &o, err, sizeof(err));
	CHECK(sub != NULL);
	if (sub == NULL) {
		fprintf(stderr, "%s\n", err);
		return;
	}
	CHECK(zmq_getsockopt(sub, ZMQ_LAST_ENDPOINT, ep, &len) == 0);
	pub = zmq_socket(ctx, ZMQ_PUB);
	CHECK(zmq_connect(pub, ep) == 0);
	handshake(pub, sub);
	CHECK_STR(last_peer, "127.0.0.1");

	base = flows;
	/* An unsupported header, a three-frame and a one-frame message
	 * between good ones: each is consumed whole. */
	send_v4(pub, "flow", 10, 1001);
	memset(bad, 'z', sizeof(bad));
	CHECK(zmq_send(pub, bad, sizeof(bad), ZMQ_SNDMORE) == sizeof(bad));
	CHECK(zmq_send(pub, "{}", 2, 0) == 2);
	send_v4(pub, "flow", 11, 1002);
	CHECK(zmq_send(pub, "flow", 4, ZMQ_SNDMORE) == 4);
	CHECK(zmq_send(pub, "x", 1, ZMQ_SNDMORE) == 1);
	CHECK(zmq_send(pub, "y", 1, 0) == 1);
	CHECK(zmq_send(pub, "flow", 4, 0) == 4);
	send_v4(pub, "ebpf", 12, 1003);
	send_v4(pub, "flow", 13, 1004);
	pump(sub, base + 3, 100);
	CHECK_EQ_U(flows, base + 3);
	CHECK_EQ_U(last.port[1], 1004);
	CHECK_EQ_U(in.ctr[C_DROP_MSG_BAD_HEADER], 2);	/* 33 and 4 bytes */
	CHECK_EQ_U(in.ctr[C_DROP_MSG_ONE_FRAME], 1);
	CHECK_EQ_U(in.ctr[C_DROP_MSG_EBPF_TOPIC], 1);
	zmq_close(pub);
	zmq_close(sub);
}

/* Connect mode to an ipc PUB (a path ending in .ipc connects), plus a
 * second endpoint that binds (.ipcc). */
static void
test_ipc_connect(void *ctx, const char *dir)
{
	struct zsock_opts o = { 1000, 1 << 20, 1 << 20, 0, NULL };
	char err[256], ep[512], list[1024];
	void *sub, *pub;
	unsigned base = flows;

	snprintf(ep, sizeof(ep), "ipc://%s/pub.ipc", dir);
	pub = zmq_socket(ctx, ZMQ_PUB);
	CHECK(zmq_bind(pub, ep) == 0);
	snprintf(list, sizeof(list), "%s,ipc://%s/in.ipcc", ep, dir);
	sub = zsock_open(ctx, list, &o, err, sizeof(err));
	CHECK(sub != NULL);
	if (sub == NULL) {
		fprintf(stderr, "%s\n", err);
		zmq_close(pub);
		return;
	}
	handshake(pub, sub);
	send_v4(pub, "flow", 0, 2001);
	pump(sub, base + 2, 100);
	CHECK_EQ_U(last.port[1], 2001);
	zmq_close(pub);
	zmq_close(sub);
	/* Bad endpoints are refused with a reason. */
	CHECK(zsock_open(ctx, "bogus://x", &o, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "bogus") != NULL);
	CHECK(zsock_open(ctx, "tcp://127.0.0.1:*c,c", &o, err,
	    sizeof(err)) == NULL);
}

static void
test_curve(void *ctx, const char *dir)
{
	struct zsock_opts o = { 1000, 1 << 20, 1 << 20, 1, NULL };
	char err[256], ep[256], key[512], sec[41], pubk[41], sec2[41],
	    pubk2[41], csec[41], cpub[41];
	size_t len = sizeof(ep);
	struct stat st;
	void *sub, *pub;
	int created;

	if (!zmq_has("curve")) {
		printf("libzmq without CURVE: CURVE test skipped\n");
		return;
	}
	snprintf(key, sizeof(key), "%s/collector.key", dir);
	o.curve_key_file = key;
	sub = zsock_open(ctx, "tcp://127.0.0.1:*c", &o, err, sizeof(err));
	CHECK(sub != NULL);
	if (sub == NULL)
		return;
	CHECK(stat(key, &st) == 0 && (st.st_mode & 0777) == 0600);
	/* Loading it again gives the same key pair. */
	CHECK(curve_key_load(key, sec, pubk, &created, err, sizeof(err)) == 0);
	CHECK_EQ_U(created, 0);
	CHECK(curve_key_load(key, sec2, pubk2, &created, err,
	    sizeof(err)) == 0);
	CHECK_STR(pubk, pubk2);
	CHECK(zmq_getsockopt(sub, ZMQ_LAST_ENDPOINT, ep, &len) == 0);
	pub = zmq_socket(ctx, ZMQ_PUB);
	CHECK(zmq_curve_keypair(cpub, csec) == 0);
	CHECK(zmq_setsockopt(pub, ZMQ_CURVE_SERVERKEY, pubk, 40) == 0);
	CHECK(zmq_setsockopt(pub, ZMQ_CURVE_PUBLICKEY, cpub, 40) == 0);
	CHECK(zmq_setsockopt(pub, ZMQ_CURVE_SECRETKEY, csec, 40) == 0);
	CHECK(zmq_connect(pub, ep) == 0);
	handshake(pub, sub);
	zmq_close(pub);
	zmq_close(sub);
	/* A file that is not a key is refused. */
	snprintf(key, sizeof(key), "%s/bad.key", dir);
	FILE *fp = fopen(key, "w");
	fputs("short\n", fp);
	fclose(fp);
	CHECK(curve_key_load(key, sec, pubk, &created, err, sizeof(err)) ==
	    -1);
}

int
main(void)
{
	char dir[] = "/tmp/evflow-zmq-XXXXXX", cmd[128];
	void *ctx;
	int linger = 0;

	CHECK(mkdtemp(dir) != NULL);
	CHECK(ingest_init(&in, 1024 * 1024, capture, NULL) == 0);
	ctx = zmq_ctx_new();
	(void)linger;
	test_tcp_bind(ctx);
	test_ipc_connect(ctx, dir);
	test_curve(ctx, dir);
	zmq_ctx_term(ctx);
	ingest_free(&in);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	CHECK(system(cmd) == 0);
	return t_done("test_collector_zmq");
}
