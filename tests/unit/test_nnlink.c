/* common/nnlink: real nanomsg PUSH/PULL over ipc, sequence and loss. */
#include <poll.h>
#include <stdlib.h>
#include <unistd.h>

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

static void
drain(struct link_in *in, unsigned want, struct seen *seen)
{
	int tries;

	for (tries = 0; tries < 200 && seen->ifaces < want; tries++) {
		struct pollfd p = { .fd = nnlink_recv_fd(in->sock), .events = POLLIN };

		poll(&p, 1, 20);
		link_in_poll(in, 64);
	}
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
	drain(in, 1000, &seen);
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
	drain(in, 1001, &seen);
	CHECK_EQ_U(seen.ifaces, 1001);
	CHECK_EQ_U(in->lost, 7);

	/* Garbage is counted, not crashed on. */
	link_in_dispatch(in, "garbage", 7);
	CHECK_EQ_U(in->bad_msgs, 1);

	link_out_free(out);
	link_in_free(in);
	snprintf(ep, sizeof(ep), "%s/t.ipc", dir);
	unlink(ep);
	rmdir(dir);
	return t_done("test_nnlink");
}
