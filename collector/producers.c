/*
 * Per-producer loss accounting.  A producer is a (peer address,
 * source_id) pair; its msg_id must grow by one per message.  A jump
 * counts the gap as lost messages, a repeat is a duplicate.  A restart
 * (msg_id behind every sequence of the producer) opens a new sequence:
 * the old one's
 * messages still queued keep following the old one, so a restart while
 * the collector is busy costs no phantom loss (see struct producer_seq).
 *
 * The table is small and dense (producers are few): the last producer
 * found is checked first, then a linear scan.  Entries are kept packed
 * in tab[0..n) so expiry and scans touch only live ones.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "collector.h"

struct producers *
producers_new(uint64_t *ctr)
{
	struct producers *ps;

	if ((ps = calloc(1, sizeof(*ps))) == NULL)
		return NULL;
	ps->ctr = ctr;
	ps->next_id = 1;
	ps->state_fd = -1;
	return ps;
}

void
producers_free(struct producers *ps)
{
	if (ps == NULL)
		return;
	if (ps->state_fd != -1)
		(void)close(ps->state_fd);
	free(ps->state_buf);
	free(ps);
}

static int
same(const struct producer *p, const char *peer, uint32_t source_id)
{
	return p->source_id == source_id && strcmp(p->rec.peer, peer) == 0;
}

/* A fresh entry: a free slot, or the least recently seen one. */
static struct producer *
slot(struct producers *ps)
{
	struct producer *p, *old;
	unsigned i;

	if (ps->n < PROD_MAX)
		return &ps->tab[ps->n++];
	old = &ps->tab[0];
	for (i = 1; i < ps->n; i++)
		if (ps->tab[i].last_mono < old->last_mono)
			old = &ps->tab[i];
	p = old;
	ps->ctr[C_PRODUCERS_EVICTED]++;
	LOG_RATELIMITED(log_warnx, "producer table full: forgetting %s/%u",
	    p->rec.peer, p->source_id);
	return p;
}

/* A new sequence slot; the least recently used one when all are taken
 * (connections of a producer come and go). */
static struct producer_seq *
seq_new(struct producer *p, int conn, uint64_t now)
{
	struct producer_seq *q;
	unsigned i;

	if (p->nseq < PROD_CONNS)
		q = &p->seq[p->nseq++];
	else {
		q = &p->seq[0];
		for (i = 1; i < PROD_CONNS; i++)
			if (p->seq[i].last_mono < q->last_mono)
				q = &p->seq[i];
	}
	q->conn = conn;
	q->last_msg_id = 0;
	q->last_mono = now;
	return q;
}

struct producer *
producers_seen(struct producers *ps, const char *peer, int conn,
    uint32_t source_id, int has_msg_id, uint32_t msg_id, uint64_t now)
{
	struct producer *p = NULL;
	struct producer_seq *q, *best;
	uint32_t d, bd, ref;
	unsigned i;

	if (ps->n > 0 && ps->last < ps->n &&
	    same(&ps->tab[ps->last], peer, source_id))
		p = &ps->tab[ps->last];
	for (i = 0; p == NULL && i < ps->n; i++)
		if (same(&ps->tab[i], peer, source_id))
			p = &ps->tab[i];
	if (p == NULL) {
		p = slot(ps);
		memset(p, 0, sizeof(*p));
		p->used = 1;
		p->id = ps->next_id++;
		p->source_id = source_id;
		p->rec.producer = p->id;
		p->rec.source_id = source_id;
		(void)jt_strlcpy(p->rec.peer, peer, sizeof(p->rec.peer));
		LOG_RATELIMITED(log_info, "producer %llu: %s source_id %u",
		    (unsigned long long)p->id, p->rec.peer, source_id);
	}
	ps->last = (unsigned)(p - ps->tab);
	p->last_mono = now;
	p->rec.msgs++;
	if (!has_msg_id)
		return p;
	if (p->restored) {
		p->restored = 0;
		if (msg_id - p->last_msg_id > 1 &&
		    msg_id - p->last_msg_id < PROD_MAX_GAP)
			log_info("producer %s/%u: msg_id %u after %u, the last "
			    "let out before the collector restarted: %u "
			    "messages lost", p->rec.peer, source_id, msg_id,
			    p->last_msg_id, msg_id - p->last_msg_id - 1);
	}
	if (!p->has_last) {
		p->has_last = 1;
		q = seq_new(p, conn, now);
		q->last_msg_id = p->last_msg_id = msg_id;
		return p;
	}
	/*
	 * The sequence this message continues: the one it is closest ahead
	 * of.  Connection ids are only a hint (a closed connection's fd is
	 * reused by the next one while its messages are still queued).
	 */
	best = NULL;
	bd = 0;
	for (i = 0; i < p->nseq; i++) {
		d = msg_id - p->seq[i].last_msg_id;
		if (d == 0) {
			ps->ctr[C_DUPLICATES]++;
			p->seq[i].last_mono = now;
			return p;
		}
		if (d < PROD_MAX_GAP && (best == NULL || d < bd ||
		    (d == bd && p->seq[i].conn == conn))) {
			best = &p->seq[i];
			bd = d;
		}
	}
	if (best == NULL) {
		/* Behind every sequence, or too far ahead: a restart. */
		ref = p->last_msg_id;
		q = seq_new(p, conn, now);
		q->last_msg_id = p->last_msg_id = msg_id;
		p->rec.restarts++;
		ps->ctr[C_RESTARTS]++;
		LOG_RATELIMITED(log_info, "producer %s/%u restarted (msg_id "
		    "%u after %u)", p->rec.peer, source_id, msg_id, ref);
		return p;
	}
	p->rec.lost_msgs += bd - 1;
	ps->ctr[C_LOST_MSGS] += bd - 1;
	best->conn = conn;
	best->last_mono = now;
	best->last_msg_id = p->last_msg_id = msg_id;
	return p;
}

void
producers_expire(struct producers *ps, uint64_t now, uint64_t timeout)
{
	unsigned i = 0;

	while (i < ps->n) {
		struct producer *p = &ps->tab[i];

		if (p->last_mono + timeout > now) {
			i++;
			continue;
		}
		/* Loss at the end of a stream shows in no later msg_id:
		 * the last one is the producer's to compare. */
		LOG_RATELIMITED(log_info, "producer %llu (%s/%u) silent, "
		    "forgotten; its last msg_id %u", (unsigned long long)p->id,
		    p->rec.peer, p->source_id, p->last_msg_id);
		ps->ctr[C_PRODUCERS_EXPIRED]++;
		ps->n--;
		if (i != ps->n)
			*p = ps->tab[ps->n];
		memset(&ps->tab[ps->n], 0, sizeof(ps->tab[ps->n]));
	}
	ps->last = 0;
}

#define PROD_STATE_MAGIC	"evflow-collector-producers 3"
#define PROD_STATE_MAGIC2	"evflow-collector-producers 2"	/* no CRC */
#define PROD_LINE_MAX	(EVP_NAME_LEN + 96)	/* bytes of one line */
#define PROD_STATE_MAX	(2 * PROD_LINE_MAX + PROD_MAX * PROD_LINE_MAX)

int
producers_save(struct producers *ps, const char *path, uint64_t sender,
    uint64_t seq, char *err, size_t errlen)
{
	const struct producer *p;
	struct stat st;
	size_t n;
	ssize_t w;
	unsigned i;
	char *b;

	if (ps->state_buf == NULL &&
	    (ps->state_buf = malloc(PROD_STATE_MAX)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	if (ps->state_fd == -1) {
		if ((ps->state_fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC,
		    0644)) == -1) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			return -1;
		}
		ps->state_len = fstat(ps->state_fd, &st) == 0 ?
		    (size_t)st.st_size : SIZE_MAX;
	}
	/* Every line is under PROD_LINE_MAX: the buffer holds them all. */
	b = ps->state_buf;
	n = (size_t)snprintf(b, PROD_STATE_MAX, "%s\nsender %016llx %llu\n",
	    PROD_STATE_MAGIC, (unsigned long long)sender,
	    (unsigned long long)seq);
	for (i = 0; i < ps->n; i++) {
		p = &ps->tab[i];
		if (p->has_last)
			n += (size_t)snprintf(b + n, PROD_STATE_MAX - n,
			    "%u %u %llu %llu %llu %s\n", p->source_id,
			    p->last_msg_id,
			    (unsigned long long)p->rec.ts_usec,
			    (unsigned long long)p->rec.lost_msgs,
			    (unsigned long long)p->rec.restarts, p->rec.peer);
	}
	n += (size_t)snprintf(b + n, PROD_STATE_MAX - n, "end %08lx\n",
	    crc32(0L, (const Bytef *)b, (uInt)n));
	/* Bytes of a longer earlier state beyond the end line are left
	 * until the truncate (a kill between the two leaves them: the
	 * load stops at the end line). */
	if ((w = pwrite(ps->state_fd, b, n, 0)) != (ssize_t)n ||
	    (n < ps->state_len && ftruncate(ps->state_fd, (off_t)n) == -1)) {
		snprintf(err, errlen, "%s: %s", path, w == -1 ||
		    w == (ssize_t)n ? strerror(errno) : "short write");
		ps->state_len = SIZE_MAX;
		return -1;
	}
	ps->state_len = n;
	return 0;
}

/*
 * Reads a state file whole and checks it: version 3 must end with a
 * line "end CRC" (CRC-32 of the bytes before it; what follows it is
 * ignored), version 2 (before the CRC) is taken as it is.  Returns 1
 * with the text (malloc'd) in *textp and its checked length in *lenp, 0
 * if there is no file, or -1 with the reason in err.
 */
static int
state_read(const char *path, char **textp, size_t *lenp, char *err,
    size_t errlen)
{
	unsigned long crc;
	char *buf, *e, *end;
	size_t len;
	FILE *fp;

	if ((fp = fopen(path, "r")) == NULL) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if ((buf = malloc(PROD_STATE_MAX + 1)) == NULL) {
		fclose(fp);
		snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	len = fread(buf, 1, PROD_STATE_MAX + 1, fp);
	fclose(fp);
	if (len > PROD_STATE_MAX) {
		snprintf(err, errlen, "%s: over %d bytes", path, PROD_STATE_MAX);
		free(buf);
		return -1;
	}
	buf[len] = '\0';
	if (len > sizeof(PROD_STATE_MAGIC2) &&
	    memcmp(buf, PROD_STATE_MAGIC2 "\n", sizeof(PROD_STATE_MAGIC2)) == 0) {
		*textp = buf;
		*lenp = len;
		return 1;
	}
	if (len <= sizeof(PROD_STATE_MAGIC) ||
	    memcmp(buf, PROD_STATE_MAGIC "\n", sizeof(PROD_STATE_MAGIC)) != 0) {
		snprintf(err, errlen, "%s: not a producer state file", path);
		free(buf);
		return -1;
	}
	if ((e = strstr(buf, "\nend ")) == NULL ||
	    (crc = strtoul(e + 5, &end, 16), *end != '\n') ||
	    crc != crc32(0L, (const Bytef *)buf, (uInt)(e + 1 - buf))) {
		snprintf(err, errlen, "%s: no end line or a wrong CRC (a write "
		    "cut short?)", path);
		free(buf);
		return -1;
	}
	*textp = buf;
	*lenp = (size_t)(e + 1 - buf);
	return 1;
}

int
producers_load(struct producers *ps, const char *path, uint64_t *sender,
    uint64_t *seq, char *err, size_t errlen)
{
	unsigned long long snd, sq;
	char line[PROD_LINE_MAX], peer[EVP_NAME_LEN];
	unsigned source_id, msg_id, lineno = 1, n = 0;
	unsigned long long seen, lost, restarts;
	struct producer *p;
	char *text;
	size_t len;
	FILE *fp;
	int off, r;

	*sender = *seq = 0;

	if ((r = state_read(path, &text, &len, err, errlen)) <= 0)
		return r;
	if ((fp = fmemopen(text, len, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		free(text);
		return -1;
	}
	if (fgets(line, sizeof(line), fp) == NULL ||
	    fgets(line, sizeof(line), fp) == NULL ||
	    sscanf(line, "sender %llx %llu", &snd, &sq) != 2) {
		snprintf(err, errlen, "%s: not a producer state file", path);
		fclose(fp);
		free(text);
		return -1;
	}
	lineno++;
	while (fgets(line, sizeof(line), fp) != NULL) {
		lineno++;
		off = 0;
		if (n == PROD_MAX || strchr(line, '\n') == NULL ||
		    sscanf(line, "%u %u %llu %llu %llu %n", &source_id,
		    &msg_id, &seen, &lost, &restarts, &off) != 5 || off == 0 ||
		    strlen(line + off) < 2 ||
		    strlen(line + off) > sizeof(peer)) {
			snprintf(err, errlen, "%s:%u: bad line", path, lineno);
			fclose(fp);
			free(text);
			ps->n = 0;
			memset(ps->tab, 0, sizeof(ps->tab));
			return -1;
		}
		memcpy(peer, line + off, strlen(line + off) - 1);
		peer[strlen(line + off) - 1] = '\0';
		p = &ps->tab[ps->n++];
		memset(p, 0, sizeof(*p));
		p->used = 1;
		p->id = ps->next_id++;
		p->source_id = source_id;
		p->rec.producer = p->id;
		p->rec.source_id = source_id;
		p->rec.ts_usec = seen;
		p->last_mono = clock_mono_usec();
		p->rec.lost_msgs = lost;
		p->rec.restarts = restarts;
		(void)jt_strlcpy(p->rec.peer, peer, sizeof(p->rec.peer));
		p->has_last = 1;
		p->last_msg_id = msg_id;
		p->restored = 1;
		p->nseq = 1;
		p->seq[0].conn = -1;
		p->seq[0].last_msg_id = msg_id;
		n++;
	}
	fclose(fp);
	free(text);
	*sender = snd;
	*seq = sq;
	return (int)n;
}

unsigned
producers_stale(const struct producers *ps, uint64_t now)
{
	unsigned i, n = 0;

	for (i = 0; i < ps->n; i++)
		if (ps->tab[i].last_mono + PROD_STALE_USEC <= now)
			n++;
	return n;
}
