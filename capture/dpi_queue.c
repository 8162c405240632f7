/*
 * The queue between the capture's packet path and the nDPI worker: a
 * bounded single-producer single-consumer ring of variable-length
 * records, lock-free (C11 atomics on two positions), with futex waits
 * so that neither side spins when it has to wait.
 *
 * Layout: `size` bytes (a power of 2); positions `head` (producer) and
 * `tail` (consumer) grow without wrapping (64 bits) and are taken
 * modulo size.  A record is an 8-byte header (its length) and its bytes,
 * rounded up to 8.  A record never wraps: when the bytes left before the
 * end are too few, the producer writes a skip header there (length
 * DPIQ_SKIP) and the record starts at offset 0.
 *
 * Publication: the producer fills records (head, its own), then stores
 * pub = head (release): at the latest when 1/16 of the ring is
 * unpublished, and whenever the caller asks (dpiq_publish: the packet
 * path does at the end of each batch, and before it waits); the
 * consumer reads pub (acquire), uses the record, and only then stores
 * tail (release).  So when the producer sees tail == head (acquire),
 * the consumer has finished with every record and touches nothing until
 * the next one is published (dpi.c relies on this).
 *
 * Sleeping: a side that must wait sets its flag (csleep, psleep), checks
 * the condition again and sleeps on the flag (futex, with a timeout so a
 * missed wake costs at most that); the other side, after moving its
 * position, wakes a sleeper.  Both the flag and the positions use
 * sequentially consistent accesses, so one of the two sees the other.
 * A producer waits for a position (pwant): the consumer wakes it once
 * tail has reached it; waiting for room it asks for half the ring
 * (hysteresis: one wake per half ring, not one per record).  Each side
 * spins briefly before it sleeps.
 */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "capture.h"

#define DPIQ_HDR	8u
#define DPIQ_SKIP	UINT32_MAX
#define DPIQ_SLEEP_NS	10000000L	/* futex timeout: 10 ms */
#define DPIQ_SPIN	2000	/* pauses before sleeping (~tens of us) */

static size_t
rec_bytes(size_t len)
{
	return DPIQ_HDR + ((len + 7) & ~(size_t)7);
}

struct dpiq *
dpiq_new(size_t bytes)
{
	struct dpiq *q;
	size_t size = 4096;

	if (bytes < 4096 || bytes > ((size_t)1 << 32)) {
		errno = EINVAL;
		return NULL;
	}
	while (size < bytes)
		size <<= 1;
	if ((q = aligned_alloc(64, sizeof(*q))) == NULL)
		return NULL;
	memset(q, 0, sizeof(*q));
	q->size = size;
	if ((q->buf = aligned_alloc(64, size)) == NULL) {
		free(q);
		return NULL;
	}
	return q;
}

void
dpiq_free(struct dpiq *q)
{
	if (q == NULL)
		return;
	free(q->buf);
	free(q);
}

size_t
dpiq_bytes(const struct dpiq *q)
{
	return q->size;
}

size_t
dpiq_max_record(const struct dpiq *q)
{
	return q->size / 4 - DPIQ_HDR;
}

static void
futex_sleep(uint32_t *word, long ns)
{
	struct timespec ts = { 0, ns };

	(void)syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, 1, &ts, NULL, 0);
}

static void
futex_wake(uint32_t *word)
{
	(void)syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, INT_MAX, NULL,
	    NULL, 0);
}

void *
dpiq_reserve(struct dpiq *q, size_t len)
{
	size_t need = rec_bytes(len), off, end;
	uint64_t head = q->head;	/* only this thread writes it */

	if (len > dpiq_max_record(q))
		return NULL;
	off = (size_t)(head & (q->size - 1));
	end = q->size - off;
	if (end < need)
		need += end;		/* skip to the start */
	if (head + need - q->tail_seen > q->size) {
		q->tail_seen = __atomic_load_n(&q->tail, __ATOMIC_ACQUIRE);
		if (head + need - q->tail_seen > q->size)
			return NULL;
	}
	if (end < rec_bytes(len)) {
		*(uint32_t *)(void *)(q->buf + off) = DPIQ_SKIP;
		q->pend = end;
		off = 0;
	} else
		q->pend = 0;
	*(uint32_t *)(void *)(q->buf + off) = (uint32_t)len;
	q->pend += rec_bytes(len);
	return q->buf + off + DPIQ_HDR;
}

void
dpiq_commit(struct dpiq *q)
{
	q->head += q->pend;
	q->pend = 0;
	if (q->head - q->published >= q->size / 16)
		dpiq_publish(q);
}

void
dpiq_publish(struct dpiq *q)
{
	if (q->published == q->head)
		return;
	q->published = q->head;
	__atomic_store_n(&q->pub, q->head, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&q->csleep, __ATOMIC_SEQ_CST)) {
		__atomic_store_n(&q->csleep, 0, __ATOMIC_SEQ_CST);
		futex_wake(&q->csleep);
	}
}

const void *
dpiq_peek(struct dpiq *q, size_t *len)
{
	uint64_t tail = q->tail;	/* only this thread writes it */
	size_t off;
	uint32_t n;

	if (tail == q->head_seen &&
	    (q->head_seen = __atomic_load_n(&q->pub, __ATOMIC_ACQUIRE)) ==
	    tail)
		return NULL;
	off = (size_t)(tail & (q->size - 1));
	n = *(const uint32_t *)(const void *)(q->buf + off);
	q->skip = 0;
	if (n == DPIQ_SKIP) {
		q->skip = q->size - off;
		off = 0;
		n = *(const uint32_t *)(const void *)q->buf;
	}
	*len = n;
	return q->buf + off + DPIQ_HDR;
}

void
dpiq_release(struct dpiq *q, size_t len)
{
	uint64_t tail = q->tail + q->skip + rec_bytes(len);

	__atomic_store_n(&q->tail, tail, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&q->psleep, __ATOMIC_SEQ_CST) &&
	    tail >= __atomic_load_n(&q->pwant, __ATOMIC_RELAXED)) {
		__atomic_store_n(&q->psleep, 0, __ATOMIC_SEQ_CST);
		futex_wake(&q->psleep);
	}
}

uint64_t
dpiq_head(const struct dpiq *q)
{
	return q->head;
}

int
dpiq_done(struct dpiq *q, uint64_t pos)
{
	return __atomic_load_n(&q->tail, __ATOMIC_ACQUIRE) >= pos;
}

uint64_t
dpiq_backlog(struct dpiq *q)
{
	return q->head - __atomic_load_n(&q->tail, __ATOMIC_ACQUIRE);
}

int
dpiq_idle(struct dpiq *q)
{
	return dpiq_done(q, q->head);
}

void
dpiq_wait_data(struct dpiq *q)
{
	unsigned spin;

	/* A short spin first: waking a sleeper costs the producer a
	 * system call. */
	for (spin = 0; spin < DPIQ_SPIN; spin++) {
		if (__atomic_load_n(&q->pub, __ATOMIC_ACQUIRE) != q->tail ||
		    __atomic_load_n(&q->stop, __ATOMIC_ACQUIRE))
			return;
		__builtin_ia32_pause();
	}
	__atomic_store_n(&q->csleep, 1, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&q->pub, __ATOMIC_SEQ_CST) == q->tail &&
	    !__atomic_load_n(&q->stop, __ATOMIC_SEQ_CST))
		futex_sleep(&q->csleep, DPIQ_SLEEP_NS);
	__atomic_store_n(&q->csleep, 0, __ATOMIC_SEQ_CST);
}

size_t
dpiq_record_bytes(size_t len)
{
	return rec_bytes(len);
}

int
dpiq_wait(struct dpiq *q, uint64_t pos, uint64_t usec)
{
	struct timespec t0, t1;
	uint64_t spent = 0;
	long ns;
	unsigned spin;

	dpiq_publish(q);	/* what it waits for must be seen */
	for (spin = 0; spin < DPIQ_SPIN; spin++) {
		if (dpiq_done(q, pos))
			return 1;
		__builtin_ia32_pause();
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	__atomic_store_n(&q->pwant, pos, __ATOMIC_RELAXED);
	for (;;) {
		__atomic_store_n(&q->psleep, 1, __ATOMIC_SEQ_CST);
		if (__atomic_load_n(&q->tail, __ATOMIC_SEQ_CST) >= pos)
			break;
		ns = DPIQ_SLEEP_NS;
		if (usec != UINT64_MAX && (usec - spent) * 1000 < (uint64_t)ns)
			ns = (long)((usec - spent) * 1000);
		futex_sleep(&q->psleep, ns);
		if (dpiq_done(q, pos))
			break;
		clock_gettime(CLOCK_MONOTONIC, &t1);
		spent = (uint64_t)(t1.tv_sec - t0.tv_sec) * 1000000u +
		    (uint64_t)(t1.tv_nsec - t0.tv_nsec) / 1000;
		if (usec != UINT64_MAX && spent >= usec) {
			__atomic_store_n(&q->psleep, 0, __ATOMIC_SEQ_CST);
			return dpiq_done(q, pos);
		}
	}
	__atomic_store_n(&q->psleep, 0, __ATOMIC_SEQ_CST);
	return 1;
}

void
dpiq_stop(struct dpiq *q)
{
	__atomic_store_n(&q->stop, 1, __ATOMIC_SEQ_CST);
	__atomic_store_n(&q->csleep, 0, __ATOMIC_SEQ_CST);
	futex_wake(&q->csleep);
}

int
dpiq_stopped(struct dpiq *q)
{
	return __atomic_load_n(&q->stop, __ATOMIC_ACQUIRE);
}
