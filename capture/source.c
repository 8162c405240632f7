/*
 * libpcap side: open a NIC or a file with the operator's options, read
 * packets in slices into the flow table, poll pcap_stats drops.
 */
#include <errno.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>

#include "../common/log.h"
#include "capture.h"

#define SOURCE_FILE_BUFFER	(256u << 10)	/* bytes of stdio buffer */

static int
source_filter(struct source *s, const char *filter, char *err,
    size_t errlen)
{
	struct bpf_program prog;

	if (filter == NULL || *filter == '\0')
		return 0;
	if (pcap_compile(s->pcap, &prog, filter, 1,
	    PCAP_NETMASK_UNKNOWN) == -1) {
		snprintf(err, errlen, "filter '%s': %s", filter,
		    pcap_geterr(s->pcap));
		return -1;
	}
	if (pcap_setfilter(s->pcap, &prog) == -1) {
		snprintf(err, errlen, "setfilter: %s", pcap_geterr(s->pcap));
		pcap_freecode(&prog);
		return -1;
	}
	pcap_freecode(&prog);
	return 0;
}

static struct source *
source_finish(struct source *s, const struct source_opts *o, char *err,
    size_t errlen)
{
	if (source_filter(s, o->filter, err, errlen) == -1) {
		source_free(s);
		return NULL;
	}
	s->dlt = pcap_datalink(s->pcap);
	if (!dissect_linktype_ok(s->dlt)) {
		snprintf(err, errlen, "link type %d (%s) is not supported",
		    s->dlt, pcap_datalink_val_to_name(s->dlt) ?
		    pcap_datalink_val_to_name(s->dlt) : "unknown");
		source_free(s);
		return NULL;
	}
	return s;
}

struct source *
source_open_live(const struct source_opts *o, char *err, size_t errlen)
{
	char ebuf[PCAP_ERRBUF_SIZE];
	struct source *s;
	int rc;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->live = 1;
	s->fd = -1;
	if ((s->pcap = pcap_create(o->device, ebuf)) == NULL) {
		snprintf(err, errlen, "%s: %s", o->device, ebuf);
		free(s);
		return NULL;
	}
	(void)pcap_set_snaplen(s->pcap, o->snaplen);
	(void)pcap_set_promisc(s->pcap, o->promisc);
	(void)pcap_set_timeout(s->pcap, SOURCE_TIMEOUT_MS);
	if (o->buffer_size > 0)
		(void)pcap_set_buffer_size(s->pcap, o->buffer_size);
	(void)pcap_set_immediate_mode(s->pcap, o->immediate);
	rc = pcap_activate(s->pcap);
	if (rc < 0) {
		snprintf(err, errlen, "%s: %s", o->device,
		    rc == PCAP_ERROR ? pcap_geterr(s->pcap) :
		    pcap_statustostr(rc));
		source_free(s);
		return NULL;
	}
	if (rc > 0)
		log_warnx("%s: %s", o->device, pcap_statustostr(rc));
	if (pcap_setnonblock(s->pcap, 1, ebuf) == -1) {
		snprintf(err, errlen, "%s: nonblock: %s", o->device, ebuf);
		source_free(s);
		return NULL;
	}
	s->fd = pcap_get_selectable_fd(s->pcap);
	if (s->fd == -1) {
		snprintf(err, errlen, "%s: no selectable descriptor",
		    o->device);
		source_free(s);
		return NULL;
	}
	return source_finish(s, o, err, errlen);
}

struct source *
source_open_file(const struct source_opts *o, char *err, size_t errlen)
{
	char ebuf[PCAP_ERRBUF_SIZE];
	struct source *s;
	FILE *fp;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->fd = -1;
	/*
	 * libpcap reads a file with two freads a packet.  The stream is
	 * ours and only this thread uses it: no stdio lock (with nDPI's
	 * worker the process has two threads, and glibc then takes a real
	 * lock in each call), and a larger buffer (fewer read calls).
	 */
	if (strcmp(o->file, "-") == 0)
		fp = stdin;	/* as libpcap's own open: "-" is stdin */
	else if ((fp = fopen(o->file, "rb")) == NULL) {
		snprintf(err, errlen, "%s: %s", o->file, strerror(errno));
		free(s);
		return NULL;
	}
	(void)__fsetlocking(fp, FSETLOCKING_BYCALLER);
	(void)setvbuf(fp, NULL, _IOFBF, SOURCE_FILE_BUFFER);
	s->pcap = pcap_fopen_offline_with_tstamp_precision(fp,
	    PCAP_TSTAMP_PRECISION_MICRO, ebuf);
	if (s->pcap == NULL) {
		snprintf(err, errlen, "%s: %s", o->file, ebuf);
		if (fp != stdin)
			fclose(fp);
		free(s);
		return NULL;
	}
	return source_finish(s, o, err, errlen);
}

void
source_free(struct source *s)
{
	if (s == NULL)
		return;
	if (s->pcap != NULL)
		pcap_close(s->pcap);
	free(s->copy);
	free(s);
}

/* Accounts the prepared batch, in order, prefetching ahead. */
static void
source_drain(struct source *s)
{
	unsigned i, n = s->nbatch;

	for (i = 0; i < n && i < SOURCE_AHEAD; i++)
		flow_table_prefetch(s->ft, &s->prep[i]);
	for (i = 0; i < n; i++) {
		if (i + SOURCE_AHEAD < n)
			flow_table_prefetch(s->ft, &s->prep[i + SOURCE_AHEAD]);
		flow_table_account(s->ft, &s->batch[i], &s->prep[i]);
	}
	s->nbatch = 0;
	if (s->ft->dpi != NULL)
		dpi_poll(s->ft->dpi, s->ft->flows);
}

/*
 * A payload packet waits in the batch after libpcap moved on: its IP
 * packet is copied (up to DPI_COPY_MAX bytes; cut ones are counted and
 * inspected as far as they go) and l3/l4 point into the copy.
 */
static void
source_copy(struct source *s, struct pkt *k)
{
	uint8_t *c = s->copy + (size_t)s->nbatch * DPI_COPY_MAX;
	uint32_t n = k->l3_cap, l4off = (uint32_t)(k->l4 - k->l3);

	if (n > DPI_COPY_MAX) {
		n = DPI_COPY_MAX;
		s->cnt[CC_DPI_CUT]++;
	}
	memcpy(c, k->l3, n);
	k->l3 = c;
	k->l3_cap = n;
	if (l4off >= n) {
		k->l4 = NULL;
		k->l4_cap = 0;
	} else {
		k->l4 = c + l4off;
		if (k->l4_cap > n - l4off)
			k->l4_cap = n - l4off;
	}
}

int
source_keep_payload(struct source *s)
{
	if (s->copy == NULL &&
	    (s->copy = malloc((size_t)SOURCE_BATCH * DPI_COPY_MAX)) == NULL)
		return -1;
	return 0;
}

/* libpcap callback: one frame into the batch. */
static void
source_packet(u_char *arg, const struct pcap_pkthdr *h, const u_char *bytes)
{
	struct source *s = (struct source *)(void *)arg;
	uint64_t *cnt = s->cnt;
	enum dissect_result r;
	struct pkt *k = &s->batch[s->nbatch];

	cnt[CC_PACKETS]++;
	cnt[CC_BYTES] += h->len;
	r = dissect(s->dlt, bytes, h->caplen, h->len, k);
	if (k->truncated)
		cnt[CC_TRUNCATED]++;
	if (r != DIS_OK) {
		cnt[dissect_counter(r)]++;
		if (r != DIS_NON_IP)
			LOG_RATELIMITED(log_warnx, "packet %llu skipped: %s",
			    (unsigned long long)cnt[CC_PACKETS],
			    capture_counter_names[dissect_counter(r)]);
		return;
	}
	k->ts_usec = (uint64_t)h->ts.tv_sec * 1000000u +
	    (uint64_t)h->ts.tv_usec;
	if (s->copy != NULL && k->l3 != NULL && pkt_payload(k) != 0)
		source_copy(s, k);
	else
		k->l3 = k->l4 = NULL;
	flow_table_prepare(s->ft, k, &s->prep[s->nbatch]);
	if (++s->nbatch == SOURCE_BATCH)
		source_drain(s);
}

int
source_read(struct source *s, int max)
{
	int n;

	n = pcap_dispatch(s->pcap, max, source_packet, (u_char *)s);
	source_drain(s);
	if (s->ft->names != NULL)
		names_flush(s->ft->names);	/* at most a read late */
	if (n == PCAP_ERROR) {
		s->cnt[CC_READ_ERRORS]++;
		snprintf(s->err, sizeof(s->err), "%s", pcap_geterr(s->pcap));
		return -1;
	}
	if (n == PCAP_ERROR_BREAK)
		return 0;
	return n;
}

void
source_stats(struct source *s)
{
	struct pcap_stat ps;

	if (!s->live || pcap_stats(s->pcap, &ps) == -1)
		return;
	/* pcap_stat counters are 32 bits and wrap: add the difference. */
	s->cnt[CC_KERNEL_DROPS] += (uint32_t)(ps.ps_drop - s->prev_drop);
	s->cnt[CC_IFACE_DROPS] += (uint32_t)(ps.ps_ifdrop - s->prev_ifdrop);
	s->prev_drop = ps.ps_drop;
	s->prev_ifdrop = ps.ps_ifdrop;
}
