/*
 * evflow-testpub: publishes events in ntopng's ZMQ format, the way
 * ebpflowexport, nprobe_mini and softflowd do, for the integration
 * tests, the end-to-end benchmark and `evflowctl demo`.  Run with -h.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "testpub.h"

struct opts {
	const char	*endpoint;
	int		 bind;
	int		 hdrlen;
	int		 version;	/* -1: the header's usual version */
	int		 zlib;
	unsigned	 array;		/* 0: single objects */
	uint32_t	 source_id;
	uint32_t	 msgid_start;
	uint32_t	 skip_msgid;	/* gap size */
	uint64_t	 skip_at;	/* after this many messages */
	uint64_t	 restart_at;	/* msg_id starts over after this many */
	const char	*topic;
	const char	*file;
	unsigned	 repeat;
	uint64_t	 gen;
	uint64_t	 first;		/* first generated flow number */
	int		 dialect;
	double		 rate;		/* events/s, 0 = as fast as possible */
	int		 live;
	const char	*malformed;
	const char	*ifname;
	int		 hwm;
	int		 wait_subs;
	int		 wait_ms;
	int		 linger_ms;
	int		 quiet;
	const char	*curve_server_key;
};

static volatile int stop;

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void
usage(int rc)
{
	FILE *f = rc ? stderr : stdout;

	fprintf(f,
"usage: evflow-testpub (-z ENDPOINT | -b ENDPOINT) [options] SOURCE\n"
"Publishes events in ntopng's ZMQ format, like ebpflowexport/nprobe_mini.\n"
"\n"
"Socket:\n"
"  -z ENDPOINT        connect to a collector (tcp://127.0.0.1:1234c; the\n"
"                     trailing c is stripped, as ebpflowexport does)\n"
"  -b ENDPOINT        bind, for collectors that connect\n"
"  --hwm N            send high-water mark, messages (default 1000000);\n"
"                     at the mark the publisher waits, it never drops\n"
"  --wait-subs N      wait for N subscribers before sending (default 1)\n"
"  --wait-ms MS       ... for at most MS milliseconds (default 5000)\n"
"  --linger-ms MS     time queued messages get to leave at exit (10000)\n"
"  --curve-server-key KEY  encrypt with CURVE: KEY is the collector's\n"
"                     public key (z85, as its log and stats show)\n"
"Framing:\n"
"  --header 40|24|28|36  header length (default 24)\n"
"  --version V        header version (default: 40->0, 24->2, 28->1, 36->4;\n"
"                     1 sends msg_id in host order, others big-endian)\n"
"  --zlib             compress: 0x00 prefix before v4, flag 0x04 with v4\n"
"  --array N          N events per message as a JSON array (default: one\n"
"                     object per message)\n"
"  --topic T          flow (default), counter, listening-ports, event, ...\n"
"  --source-id N      source_id field (default 0)\n"
"  --msgid-start N    first msg_id (default 1)\n"
"  --skip-msgid K     leave a gap of K msg_ids ...\n"
"  --skip-at M        ... after message M (default 1)\n"
"  --restart-at M     start msg_id over after message M (a restart)\n"
"Source (one):\n"
"  -f FILE            one JSON document per line, sent as is\n"
"  --repeat N         send the file N times (default 1)\n"
"  --gen N            N distinct flows (distinct 5-tuples), precomputed\n"
"  --first K          number of the first generated flow (default 0)\n"
"  --dialect D        ebpf (default), nprobe, netstat, netflow\n"
"  --live             endless realistic demo stream (flows, and every ~10 s\n"
"                     counter, listening-ports and event messages) until\n"
"                     SIGINT/SIGTERM; --rate defaults to 2 events/s\n"
"  --malformed KIND   hostile input of KIND, or all; kinds:\n");
	bad_list();
	fprintf(f,
"Other:\n"
"  --rate R           events per second (default: as fast as possible)\n"
"  --ifname NAME      INTERFACE_NAME/IF_NAME of generated events (eth0;\n"
"                     empty to leave it out)\n"
"  -q                 no summary line\n"
"At exit prints: testpub: messages=M events=E bytes=B last_msg_id=I\n"
"first_send=T (unix time of the first message)\n");
	exit(rc);
}

enum { O_HWM = 256, O_WAIT_SUBS, O_WAIT_MS, O_LINGER, O_HEADER, O_VERSION,
	O_ZLIB, O_ARRAY, O_TOPIC, O_SOURCE, O_MSGID, O_SKIP, O_SKIP_AT,
	O_RESTART, O_REPEAT, O_GEN, O_FIRST, O_DIALECT, O_LIVE, O_MALFORMED,
	O_RATE, O_IFNAME, O_CURVE };

static const struct option longopts[] = {
	{ "hwm", required_argument, NULL, O_HWM },
	{ "wait-subs", required_argument, NULL, O_WAIT_SUBS },
	{ "wait-ms", required_argument, NULL, O_WAIT_MS },
	{ "linger-ms", required_argument, NULL, O_LINGER },
	{ "header", required_argument, NULL, O_HEADER },
	{ "version", required_argument, NULL, O_VERSION },
	{ "zlib", no_argument, NULL, O_ZLIB },
	{ "array", required_argument, NULL, O_ARRAY },
	{ "topic", required_argument, NULL, O_TOPIC },
	{ "source-id", required_argument, NULL, O_SOURCE },
	{ "msgid-start", required_argument, NULL, O_MSGID },
	{ "skip-msgid", required_argument, NULL, O_SKIP },
	{ "skip-at", required_argument, NULL, O_SKIP_AT },
	{ "restart-at", required_argument, NULL, O_RESTART },
	{ "repeat", required_argument, NULL, O_REPEAT },
	{ "gen", required_argument, NULL, O_GEN },
	{ "first", required_argument, NULL, O_FIRST },
	{ "dialect", required_argument, NULL, O_DIALECT },
	{ "live", no_argument, NULL, O_LIVE },
	{ "malformed", required_argument, NULL, O_MALFORMED },
	{ "rate", required_argument, NULL, O_RATE },
	{ "ifname", required_argument, NULL, O_IFNAME },
	{ "curve-server-key", required_argument, NULL, O_CURVE },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 }
};

static uint64_t
num(const char *s, uint64_t max)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *s == '\0' || *end != '\0' || v > max) {
		fprintf(stderr, "testpub: bad number: %s\n", s);
		exit(2);
	}
	return v;
}

static double
now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Paces the sender: sleeps until `events` are due at `rate` per second. */
static void
pace(const struct opts *o, double start, uint64_t events)
{
	double due, now;
	struct timespec ts;

	if (o->rate <= 0)
		return;
	due = start + (double)events / o->rate;
	if ((now = now_sec()) + 0.001 < due) {
		ts.tv_sec = (time_t)(due - now);
		ts.tv_nsec = (long)((due - now - (double)ts.tv_sec) * 1e9);
		nanosleep(&ts, NULL);
	}
}

/* msg_id gaps and restarts, applied after each message. */
static void
after_message(struct pub *p, const struct opts *o)
{
	if (o->skip_msgid && p->msgs == o->skip_at)
		p->msg_id += o->skip_msgid;
	if (o->restart_at && p->msgs == o->restart_at)
		p->msg_id = o->msgid_start;
}

/* Sends what is in msg (n events, JSON array if o->array). */
static int
flush_msg(struct pub *p, const struct opts *o, char *msg, size_t len,
    unsigned n)
{
	if (n == 0)
		return 0;
	if (o->array)
		msg[len++] = ']';
	if (pub_send(p, o->topic, msg, len, n) == -1)
		return -1;
	after_message(p, o);
	return 0;
}

static int
run_file(struct pub *p, const struct opts *o)
{
	FILE *f;
	char **lines = NULL, *line = NULL, *msg;
	size_t nlines = 0, cap = 0, lcap = 0, maxlen = 0, len, i;
	ssize_t r;
	unsigned rep, n = 0, per = o->array ? o->array : 1;
	double start;
	int rc = -1;

	if ((f = strcmp(o->file, "-") == 0 ? stdin : fopen(o->file, "r")) ==
	    NULL) {
		fprintf(stderr, "testpub: %s: %s\n", o->file, strerror(errno));
		return -1;
	}
	while ((r = getline(&line, &lcap, f)) > 0) {
		while (r > 0 && (line[r - 1] == '\n' || line[r - 1] == '\r'))
			line[--r] = '\0';
		if (r == 0)
			continue;
		if (nlines == cap) {
			char **nl = realloc(lines, (cap = cap * 2 + 16) *
			    sizeof(*lines));

			if (nl == NULL)
				goto out;
			lines = nl;
		}
		if ((lines[nlines++] = strdup(line)) == NULL)
			goto out;
		if ((size_t)r > maxlen)
			maxlen = (size_t)r;
	}
	if ((msg = malloc((maxlen + 1) * per + 2)) == NULL)
		goto out;
	len = 0;
	start = now_sec();	/* --rate paces from here, not the reading */
	for (rep = 0; rep < o->repeat && !stop; rep++) {
		for (i = 0; i < nlines && !stop; i++) {
			size_t l = strlen(lines[i]);

			if (o->array)
				msg[len++] = n == 0 ? '[' : ',';
			memcpy(msg + len, lines[i], l);
			len += l;
			if (++n == per) {
				if (flush_msg(p, o, msg, len, n) == -1)
					goto out2;
				len = 0;
				n = 0;
				pace(o, start, p->events);
			}
		}
	}
	if (flush_msg(p, o, msg, len, n) == -1)
		goto out2;
	rc = 0;
out2:
	free(msg);
out:
	for (i = 0; i < nlines; i++)
		free(lines[i]);
	free(lines);
	free(line);
	if (f != stdin)
		fclose(f);
	return rc;
}

static int
run_gen(struct pub *p, const struct opts *o)
{
	struct gen g;
	char *msg;
	size_t len = 0;
	uint64_t i, end = o->first + o->gen;
	unsigned n = 0, per = o->array ? o->array : 1;
	double start = now_sec();
	int rc = -1;

	if (gen_init(&g, o->dialect, o->ifname) == -1) {
		fprintf(stderr, "testpub: generator set-up failed\n");
		return -1;
	}
	if ((msg = malloc((gen_max_len(&g) + 1) * per + 2)) == NULL)
		goto out;
	for (i = o->first; i < end && !stop; i++) {
		if (o->array)
			msg[len++] = n == 0 ? '[' : ',';
		len += gen_event(&g, i, (uint32_t)time(NULL), msg + len);
		if (++n == per) {
			if (flush_msg(p, o, msg, len, n) == -1)
				goto out;
			len = 0;
			n = 0;
			pace(o, start, p->events);
		}
	}
	if (flush_msg(p, o, msg, len, n) == -1)
		goto out;
	rc = 0;
out:
	free(msg);
	gen_free(&g);
	return rc;
}

int
main(int argc, char *argv[])
{
	struct opts o = { .hdrlen = PUB_HDR_24, .version = -1, .topic = "flow",
	    .repeat = 1, .msgid_start = 1, .skip_at = 1, .dialect = GEN_EBPF,
	    .ifname = "eth0", .hwm = 1000000, .wait_subs = 1, .wait_ms = 5000,
	    .linger_ms = 10000 };
	struct pub p;
	struct sigaction sa;
	int c, rc = 0, sources;

	while ((c = getopt_long(argc, argv, "z:b:f:qh", longopts, NULL)) != -1) {
		switch (c) {
		case 'z': o.endpoint = optarg; o.bind = 0; break;
		case 'b': o.endpoint = optarg; o.bind = 1; break;
		case 'f': o.file = optarg; break;
		case 'q': o.quiet = 1; break;
		case 'h': usage(0); break;
		case O_HWM: o.hwm = (int)num(optarg, 1u << 30); break;
		case O_WAIT_SUBS: o.wait_subs = (int)num(optarg, 1024); break;
		case O_WAIT_MS: o.wait_ms = (int)num(optarg, 3600000); break;
		case O_LINGER: o.linger_ms = (int)num(optarg, 3600000); break;
		case O_HEADER:
			o.hdrlen = (int)num(optarg, 64);
			if (o.hdrlen != 40 && o.hdrlen != 24 && o.hdrlen != 28 &&
			    o.hdrlen != 36)
				usage(2);
			break;
		case O_VERSION: o.version = (int)num(optarg, 255); break;
		case O_ZLIB: o.zlib = 1; break;
		case O_ARRAY: o.array = (unsigned)num(optarg, 100000); break;
		case O_TOPIC: o.topic = optarg; break;
		case O_SOURCE: o.source_id = (uint32_t)num(optarg, UINT32_MAX);
			break;
		case O_MSGID: o.msgid_start = (uint32_t)num(optarg, UINT32_MAX);
			break;
		case O_SKIP: o.skip_msgid = (uint32_t)num(optarg, UINT32_MAX);
			break;
		case O_SKIP_AT: o.skip_at = num(optarg, UINT64_MAX); break;
		case O_RESTART: o.restart_at = num(optarg, UINT64_MAX); break;
		case O_REPEAT: o.repeat = (unsigned)num(optarg, 1u << 30);
			break;
		case O_GEN: o.gen = num(optarg, 50000000000ull); break;
		case O_FIRST: o.first = num(optarg, 50000000000ull); break;
		case O_DIALECT:
			if ((o.dialect = gen_dialect_parse(optarg)) == -1)
				usage(2);
			break;
		case O_LIVE: o.live = 1; break;
		case O_MALFORMED: o.malformed = optarg; break;
		case O_RATE: o.rate = strtod(optarg, NULL); break;
		case O_IFNAME: o.ifname = optarg; break;
		case O_CURVE: o.curve_server_key = optarg; break;
		default: usage(2);
		}
	}
	sources = (o.file != NULL) + (o.gen > 0) + o.live +
	    (o.malformed != NULL);
	if (o.endpoint == NULL || sources != 1 || optind != argc)
		usage(2);
	if (o.version < 0)
		o.version = o.hdrlen == 40 ? 0 : o.hdrlen == 24 ? 2 :
		    o.hdrlen == 28 ? 1 : 4;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	memset(&p, 0, sizeof(p));
	p.hdrlen = o.hdrlen;
	p.version = o.version;
	p.zlib = o.zlib;
	p.msg_id = o.msgid_start;
	p.source_id = o.source_id;
	p.curve_server_key = o.curve_server_key;
	if (pub_open(&p, o.endpoint, o.bind, o.hwm) == -1)
		return 1;
	if (o.wait_subs > 0 &&
	    pub_wait_subscribers(&p, o.wait_subs, o.wait_ms) < o.wait_subs)
		fprintf(stderr, "testpub: warning: fewer than %d subscriber(s) "
		    "after %d ms; sending anyway\n", o.wait_subs, o.wait_ms);

	if (o.file != NULL)
		rc = run_file(&p, &o);
	else if (o.gen > 0)
		rc = run_gen(&p, &o);
	else if (o.live)
		rc = live_run(&p, o.rate, o.ifname, &stop);
	else if (bad_send(&p, o.malformed) == -1) {
		fprintf(stderr, "testpub: unknown or failed kind: %s\n",
		    o.malformed);
		rc = -1;
	}
	pub_close(&p, o.linger_ms);
	if (!o.quiet)
		printf("testpub: messages=%llu events=%llu bytes=%llu "
		    "last_msg_id=%u first_send=%.6f\n",
		    (unsigned long long)p.msgs, (unsigned long long)p.events,
		    (unsigned long long)p.bytes, p.msg_id - 1, p.first_send);
	return rc == 0 ? 0 : 1;
}
