/*
 * common/nnlink: real nanomsg PUSH/PULL over ipc, sequence and loss; the
 * bounds of issue 13: the receive bound, non-loopback binds, and a
 * sender that never blocks (queue, peer down, counted drops).
 */
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <nanomsg/nn.h>
#include <nanomsg/pipeline.h>

#include "common/clock.h"
#include "common/nnlink.h"
#include "t.h"

struct seen {
	unsigned flows;
	unsigned ifaces;
	char name[64];
};

static void
on_record(void *arg, const struct link_sender *s, const struct evp_rec_hdr *rh,
    const void *body)
{
	struct seen *seen = arg;
	struct evp_iface i;

	snprintf(seen->name, sizeof(seen->name), "%s", s->hello.name);
	if (rh->type == EVP_IFACE && evp_decode_iface(body, rh->len, &i) == 0)
		seen->ifaces++;
	else
		seen->flows++;
}

/* Receives until `want` records arrived; `out` (may be NULL) gets its
 * queue retried meanwhile, as a daemon's loop does at its deadline. */
static void
drain(struct link_in *in, struct link_out *out, unsigned want,
    struct seen *seen)
{
	int tries;

	for (tries = 0; tries < 200 && seen->ifaces < want; tries++) {
		struct pollfd p = { .fd = nnlink_recv_fd(in->sock), .events = POLLIN };

		poll(&p, 1, 20);
		link_in_poll(in, 64);
		if (out != NULL)
			(void)link_out_flush(out);
	}
}

static void
test_bind_check(void)
{
	static const char *const ok[] = { "ipc:///tmp/x.ipc", "inproc://x",
	    "tcp://127.0.0.1:5555", "tcp://127.9.9.9:1", "tcp://[::1]:1",
	    "tcp://localhost:1", NULL };
	static const char *const refused[] = { "tcp://*:5555",
	    "tcp://0.0.0.0:1", "tcp://[::]:1", "tcp://eth0:1",
	    "tcp://10.0.0.1:1", "tcp://128.0.0.1:1", "ws://*:1",
	    "tcp://[::ffff:10.0.0.1]:1", "tcp://:1", NULL };
	char err[512];
	unsigned i;

	for (i = 0; ok[i] != NULL; i++)
		CHECK(nnlink_bind_check(ok[i], 0, err, sizeof(err)) == 0);
	for (i = 0; refused[i] != NULL; i++) {
		err[0] = '\0';
		CHECK(nnlink_bind_check(refused[i], 0, err, sizeof(err)) ==
		    -1);
		CHECK(strstr(err, "link_trusted_network") != NULL);
		CHECK(nnlink_bind_check(refused[i], 1, err, sizeof(err)) == 0);
	}
	/* And the sockets apply it. */
	CHECK(link_in_new("tcp://0.0.0.0:1", 1, on_record, NULL, err,
	    sizeof(err)) == NULL);
	CHECK(strstr(err, "not a loopback address") != NULL);
}

/* A message over the receive bound drops its connection (counted);
 * the input keeps working for the next sender. */
static void
test_recv_bound(const char *dir)
{
	char ep[128], err[256];
	struct link_conf lc = { EVP_BATCH_MAX_BYTES, 1 << 20, 0, 0, 3, "" };
	struct seen seen = { 0 };
	struct link_in *in;
	struct link_out *out;
	struct evp_iface i = { .id = 1, .kind = EVP_IFACE_ZMQ, .name = "y" };
	size_t big = EVP_BATCH_MAX_BYTES + 4096;
	char *msg = calloc(1, big);
	int s, tries;

	snprintf(ep, sizeof(ep), "ipc://%s/bound.ipc", dir);
	(void)nnlink_configure(&lc, NULL);
	in = link_in_new(ep, 1, on_record, &seen, err, sizeof(err));
	CHECK(in != NULL && msg != NULL);
	if (in == NULL || msg == NULL) {
		free(msg);
		return;
	}
	s = nn_socket(AF_SP, NN_PUSH);
	CHECK(s >= 0 && nn_connect(s, ep) >= 0);
	CHECK(nn_send(s, msg, big, 0) == (int)big);
	for (tries = 0; tries < 200 && link_in_refused(in) == 0; tries++) {
		usleep(10000);
		link_in_poll(in, 64);
	}
	CHECK(link_in_refused(in) >= 1);
	CHECK_EQ_U(in->msgs, 0);
	nn_close(s);
	out = link_out_new(ep, 0, EVP_ROLE_TOOL, "after", "", 1000, err,
	    sizeof(err));
	CHECK(out != NULL);
	if (out != NULL) {
		for (tries = 0; tries < 200 && seen.ifaces == 0; tries++) {
			CHECK(link_out_put(out, EVP_IFACE, &i, sizeof(i)) ==
			    0);
			CHECK(link_out_flush(out) == 0);
			drain(in, out, 1, &seen);
		}
		CHECK(seen.ifaces >= 1);
		link_out_free(out);
	}
	link_in_free(in);
	free(msg);
	snprintf(ep, sizeof(ep), "%s/bound.ipc", dir);
	unlink(ep);
}

/* Sends to an endpoint nobody binds: nothing blocks, batches wait in
 * the queue up to its bound, the rest is dropped and counted; once a
 * receiver binds, the queue is delivered in order and the peer is up. */
static void
test_peer_down(const char *dir)
{
	char ep[128], err[256];
	struct link_conf lc = { EVP_BATCH_MAX_BYTES, 64 * 1024, 0, 0, 3, "" };
	struct seen seen = { 0 };
	struct evp_iface i = { .id = 1, .kind = EVP_IFACE_ZMQ, .name = "z" };
	struct link_out *out;
	struct link_in *in;
	uint64_t t0, took;
	unsigned n, tries;

	snprintf(ep, sizeof(ep), "ipc://%s/down.ipc", dir);
	(void)nnlink_configure(&lc, NULL);
	out = link_out_new(ep, 0, EVP_ROLE_TOOL, "down", "", 1000, err,
	    sizeof(err));
	CHECK(out != NULL);
	if (out == NULL)
		return;
	CHECK(!link_out_down(out));
	t0 = clock_mono_usec();
	for (n = 0; n < 5000; n++)
		(void)link_out_put(out, EVP_IFACE, &i, sizeof(i));
	(void)link_out_flush(out);
	took = clock_mono_usec() - t0;
	/* 5000 records, ~20 batches: with a 1 s send timeout per batch a
	 * blocking sender would take 20 s. */
	CHECK(took < 500000);
	CHECK(link_out_down(out));
	CHECK(out->down_since != 0);
	CHECK_EQ_U(out->sent, 0);
	CHECK(out->qbytes <= 64 * 1024 && out->qmsgs >= 1);
	CHECK(out->dropped > 0 && out->queue_dropped > 0);
	CHECK_EQ_U(out->records, out->sent + out->dropped + out->qrecords);
	/* The next retry is a deadline of the loop. */
	CHECK(link_out_deadline(out) <= clock_mono_usec() + LINK_RETRY_USEC);

	in = link_in_new(ep, 1, on_record, &seen, err, sizeof(err));
	CHECK(in != NULL);
	if (in != NULL) {
		for (tries = 0; tries < 300 && (out->qmsgs > 0 ||
		    seen.ifaces < out->sent); tries++) {
			usleep(10000);
			(void)link_out_flush(out);
			drain(in, out, (unsigned)out->sent, &seen);
		}
		CHECK_EQ_U(out->qmsgs, 0);
		CHECK(!link_out_down(out));
		CHECK_EQ_U(out->down_since, 0);
		CHECK_EQ_U(out->sent + out->dropped, 5000);
		CHECK_EQ_U(seen.ifaces, out->sent);
		/* The newest batches were dropped: no gap in what arrived. */
		CHECK_EQ_U(in->lost, 0);
		link_in_free(in);
	}
	link_out_free(out);
	snprintf(ep, sizeof(ep), "%s/down.ipc", dir);
	unlink(ep);
}

int
main(void)
{
	char dir[] = "/tmp/evflow-nn-XXXXXX", ep[128], err[256];
	struct link_out *out;
	struct link_in *in;
	struct seen seen = { 0 };
	struct evp_iface i = { .id = 1, .kind = EVP_IFACE_ZMQ, .name = "x" };
	unsigned n;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(ep, sizeof(ep), "ipc://%s/t.ipc", dir);
	in = link_in_new(ep, 1, on_record, &seen, err, sizeof(err));
	CHECK(in != NULL);
	out = link_out_new(ep, 0, EVP_ROLE_TOOL, "unit", "", 2000, err,
	    sizeof(err));
	CHECK(out != NULL);
	if (in == NULL || out == NULL)
		return t_done("test_nnlink");

	for (n = 0; n < 1000; n++)
		CHECK(link_out_put(out, EVP_IFACE, &i, sizeof(i)) == 0);
	CHECK(link_out_flush(out) == 0);
	drain(in, out, 1000, &seen);
	CHECK_EQ_U(seen.ifaces, 1000);
	CHECK_STR(seen.name, "unit");
	CHECK_EQ_U(in->lost, 0);
	CHECK_EQ_U(out->sent, 1000);
	CHECK_EQ_U(out->dropped, 0);
	/* 1000 records in batches of at most EVP_BATCH_MAX_RECORDS - 1. */
	CHECK(out->msgs >= 4 && out->msgs <= 5);

	/* A gap in the sequence is counted as lost records. */
	out->seq += 7;
	CHECK(link_out_put(out, EVP_IFACE, &i, sizeof(i)) == 0);
	CHECK(link_out_flush(out) == 0);
	drain(in, out, 1001, &seen);
	CHECK_EQ_U(seen.ifaces, 1001);
	CHECK_EQ_U(in->lost, 7);

	/* Garbage is counted, not crashed on. */
	link_in_dispatch(in, "garbage", 7);
	CHECK_EQ_U(in->bad_msgs, 1);

	link_out_free(out);
	link_in_free(in);
	snprintf(ep, sizeof(ep), "%s/t.ipc", dir);
	unlink(ep);

	test_bind_check();
	test_recv_bound(dir);
	test_peer_down(dir);
	rmdir(dir);
	return t_done("test_nnlink");
}
