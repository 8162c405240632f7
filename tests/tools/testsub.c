/*
 * evflow-testsub: an independent reader of ntopng's ZMQ format, to check
 * evflow-testpub itself (tests/integration/pipeline_testpub.sh).  Binds
 * a SUB socket, decodes each message's header by its length, inflates
 * zlib payloads, counts the JSON events, and prints one line per message:
 *
 *   frames=2 hdr=24 topic=flow version=2 msg_id=7 source_id=3 zlib=1
 *     payload=612 events=1
 *
 *   evflow-testsub -b ENDPOINT [-n MESSAGES] [-t IDLE_MS] [-q] [-p]
 *
 * -q leaves out the per-message lines; -p prints each decoded payload
 * that parsed as JSON on a line of its own.
 *
 * Stops after MESSAGES messages or IDLE_MS without one; the last line is
 * "total messages=M events=E bad=B".
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <zmq.h>

#include <cJSON.h>

#define INFLATE_CAP	(16u * 1024 * 1024)	/* bytes */

static uint32_t
get_u32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* Inflates src into a new buffer of at most INFLATE_CAP; NULL if bad. */
static uint8_t *
inflate_all(const uint8_t *src, size_t len, size_t *out)
{
	z_stream zs;
	uint8_t *b;
	int rc;

	if ((b = malloc(INFLATE_CAP)) == NULL)
		return NULL;
	memset(&zs, 0, sizeof(zs));
	if (inflateInit(&zs) != Z_OK) {
		free(b);
		return NULL;
	}
	zs.next_in = (Bytef *)(uintptr_t)src;
	zs.avail_in = (uInt)len;
	zs.next_out = b;
	zs.avail_out = INFLATE_CAP;
	rc = inflate(&zs, Z_FINISH);
	*out = INFLATE_CAP - zs.avail_out;
	inflateEnd(&zs);
	if (rc != Z_STREAM_END) {
		free(b);
		return NULL;
	}
	return b;
}

int
main(int argc, char *argv[])
{
	const char *ep = NULL;
	long want = -1, msgs = 0, events = 0, bad = 0;
	int c, idle = 3000, quiet = 0, dump = 0, more, nframes;
	void *ctx, *s;
	int hwm = 0;

	/* One line per message, readable by a test while it runs (stdbuf's
	 * LD_PRELOAD does not mix with ASan). */
	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((c = getopt(argc, argv, "b:n:t:qp")) != -1) {
		switch (c) {
		case 'b': ep = optarg; break;
		case 'n': want = atol(optarg); break;
		case 't': idle = atoi(optarg); break;
		case 'q': quiet = 1; break;
		case 'p': dump = 1; break;
		default: goto usage;
		}
	}
	if (ep == NULL) {
usage:
		fprintf(stderr, "usage: evflow-testsub -b ENDPOINT [-n N] "
		    "[-t IDLE_MS] [-q] [-p]\n");
		return 2;
	}
	ctx = zmq_ctx_new();
	s = zmq_socket(ctx, ZMQ_SUB);
	zmq_setsockopt(s, ZMQ_RCVHWM, &hwm, sizeof(hwm));
	zmq_setsockopt(s, ZMQ_SUBSCRIBE, "", 0);
	zmq_setsockopt(s, ZMQ_RCVTIMEO, &idle, sizeof(idle));
	if (zmq_bind(s, ep) != 0) {
		fprintf(stderr, "testsub: bind %s: %s\n", ep,
		    zmq_strerror(errno));
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	while (want < 0 || msgs < want) {
		zmq_msg_t f[4];
		size_t moresz = sizeof(more), hl = 0, pl = 0, il;
		const uint8_t *h = NULL, *pay = NULL;
		uint8_t *infl = NULL;
		char topic[33] = "";
		unsigned version = 0, zflag = 0;
		uint32_t msg_id = 0, source_id = 0;
		long n = -1;
		cJSON *j;

		nframes = 0;
		do {
			zmq_msg_t m;

			zmq_msg_init(&m);
			if (zmq_msg_recv(&m, s, 0) < 0) {
				zmq_msg_close(&m);
				goto done;
			}
			if (nframes < 4)
				f[nframes++] = m;
			else
				zmq_msg_close(&m);
			zmq_getsockopt(s, ZMQ_RCVMORE, &more, &moresz);
		} while (more);
		msgs++;
		h = zmq_msg_data(&f[0]);
		hl = zmq_msg_size(&f[0]);
		if (nframes == 2) {
			pay = zmq_msg_data(&f[1]);
			pl = zmq_msg_size(&f[1]);
		}
		switch (hl) {
		case 40:
			memcpy(topic, h, 32);
			version = get_u32(h + 32);
			break;
		case 24:
			memcpy(topic, h, 16);
			version = h[16];
			source_id = h[17];
			msg_id = get_u32(h + 20);
			break;
		case 28:
			memcpy(topic, h, 16);
			version = h[16];
			msg_id = get_u32(h + 20);
			source_id = get_u32(h + 24);
			break;
		case 36:
			memcpy(topic, h, 16);
			version = h[16];
			zflag = (h[17] & 0x04) != 0;
			msg_id = get_u32(h + 28);
			source_id = get_u32(h + 32);
			break;
		}
		topic[32] = '\0';
		if (hl == 24 || hl == 28 || hl == 36)
			topic[16] = '\0';
		if (version != 1)
			msg_id = ntohl(msg_id);
		if (pay != NULL && hl != 36 && pl > 0 && pay[0] == 0x00) {
			zflag = 1;
			pay++;
			pl--;
		}
		if (pay != NULL && zflag) {
			infl = inflate_all(pay, pl, &il);
			pay = infl;
			pl = infl ? il : 0;
		}
		if (pay != NULL && (j = cJSON_ParseWithLength((const char *)pay,
		    pl)) != NULL) {
			n = cJSON_IsArray(j) ? cJSON_GetArraySize(j) :
			    cJSON_IsObject(j) ? 1 : -1;
			cJSON_Delete(j);
		}
		if (n < 0 || nframes != 2)
			bad++;
		else
			events += n;
		if (!quiet)
			printf("frames=%d hdr=%zu topic=%s version=%u msg_id=%u "
			    "source_id=%u zlib=%u payload=%zu events=%ld\n",
			    nframes, hl, topic, version, msg_id, source_id,
			    zflag, pl, n);
		if (dump && n >= 0) {
			fwrite(pay, 1, pl, stdout);
			putchar('\n');
		}
		free(infl);
		while (nframes > 0)
			zmq_msg_close(&f[--nframes]);
	}
done:
	printf("total messages=%ld events=%ld bad=%ld\n", msgs, events, bad);
	zmq_close(s);
	zmq_ctx_term(ctx);
	return 0;
}
