/*
 * One live flow table per interface.  See store.h.
 *
 * Entries live in a pool of fixed chunks of slots that grows a chunk
 * at a time up to max_flows (memory follows the live flow count, slots
 * never move, nothing is allocated per record); links are slot index
 * + 1 so 0 means none.
 * Every entry is on exactly one expiry list; each list has a single
 * timeout, so appending at the tail keeps it ordered by deadline and
 * expiry only ever looks at list heads.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../common/hash.h"
#include "store.h"

#define FT_MIN_SLOTS	1024
#define FT_REHASH_STEP	8	/* old buckets moved per creation */

const char *const ft_counter_names[FTC_MAX] = {
	[FTC_MERGED] = "merged",
	[FTC_CREATED] = "created",
	[FTC_JOINS] = "joins",
	[FTC_MISSES] = "misses",
	[FTC_PENDING_EVICTED] = "pending_evicted",
	[FTC_PACKET_FLOWS] = "packet_flows",
	[FTC_PACKET_FLOWS_WITH_PROCESS] = "packet_flows_with_process",
	[FTC_PACKET_FLOWS_NO_PROCESS] = "packet_flows_no_process",
	[FTC_EXPIRED] = "expired",
	[FTC_EVICTED] = "evicted",
	[FTC_MEM_EVICTED_PENDING] = "mem_evicted_pending",
	[FTC_MEM_EVICTED_ENDED] = "mem_evicted_ended",
	[FTC_MEM_EVICTED_IDLE] = "mem_evicted_idle",
};

#define SLOT(ft, i)	(&(ft)->chunk[((i) - 1) >> FT_CHUNK_SHIFT]	\
			    [((i) - 1) & (FT_CHUNK - 1)])
#define IDX(ft, f)	((f)->self)

struct flow_table *
flow_table_new(struct intern *in, uint64_t *next_id, int packet,
    uint32_t max_flows, uint32_t max_pending, uint64_t idle_usec,
    uint64_t window_usec)
{
	struct flow_table *ft;

	if ((ft = calloc(1, sizeof(*ft))) == NULL)
		return NULL;
	ft->in = in;
	ft->next_id = next_id;
	ft->packet = packet;
	ft->max_flows = max_flows > 0 ? max_flows : 1;
	ft->max_pending = max_pending > 0 ? max_pending : 1;
	ft->idle_usec = idle_usec;
	ft->window_usec = window_usec;
	ft->seed = hash_random_seed();
	ft->nbucket = FT_MIN_SLOTS;
	if (mem_charge(&in->mem, sizeof(*ft) + ft->nbucket *
	    sizeof(*ft->bucket)) == -1) {
		free(ft);
		return NULL;
	}
	if ((ft->bucket = calloc(ft->nbucket, sizeof(*ft->bucket))) == NULL) {
		mem_release(&in->mem, sizeof(*ft) + ft->nbucket *
		    sizeof(*ft->bucket));
		free(ft);
		return NULL;
	}
	return ft;
}

void
flow_table_set_retire(struct flow_table *ft, flow_retire_cb cb, void *arg)
{
	ft->retire = cb;
	ft->retire_arg = arg;
}

void
flow_table_free(struct flow_table *ft)
{
	if (ft == NULL)
		return;
	flow_table_flush(ft);
	mem_release(&ft->in->mem, flow_table_mem(ft));
	while (ft->nchunk > 0)
		free(ft->chunk[--ft->nchunk]);
	free(ft->chunk);
	free(ft->bucket);
	free(ft->obucket);
	free(ft->tcpi);
	free(ft);
}

/* Compares (addr, port) endpoints a and b of a record. */
static int
ep_cmp(const uint8_t *aa, uint16_t ap, const uint8_t *ba, uint16_t bp)
{
	int r = memcmp(aa, ba, 16);

	if (r != 0)
		return r;
	return (ap > bp) - (ap < bp);
}

int
flow_key_make(struct flow_key *k, const struct evp_flow *r)
{
	int cli = ep_cmp(r->addr[0], r->port[0], r->addr[1], r->port[1]) <= 0
	    ? 0 : 1;

	memset(k, 0, sizeof(*k));
	memcpy(k->addr[cli], r->addr[0], 16);
	k->port[cli] = r->port[0];
	memcpy(k->addr[!cli], r->addr[1], 16);
	k->port[!cli] = r->port[1];
	k->vlan = r->vlan;
	k->proto = r->proto;
	return cli;
}

/*
 * The hash chain that holds (or would hold) key k.  While the buckets
 * are being grown (obucket set), an old bucket not yet moved
 * (index >= rehash_pos) still holds its keys, and new keys that hash
 * there go there too; rehash_step() moves them later.  So every key is
 * in exactly the chain this returns, during a resize or not.
 */
static uint32_t *
chain_of_hash(const struct flow_table *ft, uint64_t h)
{
	uint32_t ob;

	if (ft->obucket != NULL &&
	    (ob = (uint32_t)(h & (ft->onbucket - 1))) >= ft->rehash_pos)
		return &ft->obucket[ob];
	return &ft->bucket[h & (ft->nbucket - 1)];
}

static uint32_t *
chain_of(const struct flow_table *ft, const struct flow_key *k)
{
	return chain_of_hash(ft, hash_bytes(k, sizeof(*k), ft->seed));
}

/*
 * Moves up to `n` old buckets into the new array; frees the old one
 * when all are moved.  Doubling a table of a million flows at once
 * touched every flow (a cache miss each): a 50-70 ms loop turn in the
 * store.  Spread over the creations that follow (FT_REHASH_STEP per
 * creation) it costs the same in total but never stalls, and it is
 * done long before the next growth (3 x `onbucket` creations
 * away; grow() finishes a pending one first anyway).
 */
static void
rehash_step(struct flow_table *ft, uint32_t n)
{
	uint32_t i, next, *nb;
	struct flow *f;

	while (ft->obucket != NULL && n-- > 0) {
		for (i = ft->obucket[ft->rehash_pos]; i != 0; i = next) {
			f = SLOT(ft, i);
			next = f->hnext;
			nb = &ft->bucket[hash_bytes(&f->key, sizeof(f->key),
			    ft->seed) & (ft->nbucket - 1)];
			f->hnext = *nb;
			*nb = i;
		}
		if (++ft->rehash_pos == ft->onbucket) {
			mem_release(&ft->in->mem, ft->onbucket *
			    sizeof(*ft->obucket));
			free(ft->obucket);
			ft->obucket = NULL;
			ft->onbucket = ft->rehash_pos = 0;
		}
	}
}

uint64_t
flow_table_prefetch(const struct flow_table *ft, const struct evp_flow *r)
{
	struct flow_key k;
	uint64_t h;

	(void)flow_key_make(&k, r);
	h = hash_bytes(&k, sizeof(k), ft->seed);
	__builtin_prefetch(chain_of_hash(ft, h));
	return h;
}

void
flow_table_prefetch_chain(const struct flow_table *ft, uint64_t h)
{
	uint32_t i = *chain_of_hash(ft, h);

	if (i != 0)
		__builtin_prefetch(SLOT(ft, i));
}

struct flow *
flow_table_find(struct flow_table *ft, const struct flow_key *k)
{
	uint32_t i;
	struct flow *f;

	for (i = *chain_of(ft, k); i != 0; i = f->hnext) {
		f = SLOT(ft, i);
		if (memcmp(&f->key, k, sizeof(*k)) == 0)
			return f;
	}
	return NULL;
}

static void
list_unlink(struct flow_table *ft, struct flow *f)
{
	uint8_t l = f->list;

	if (l == FLIST_NONE)
		return;
	if (f->prev)
		SLOT(ft, f->prev)->next = f->next;
	else
		ft->head[l] = f->next;
	if (f->next)
		SLOT(ft, f->next)->prev = f->prev;
	else
		ft->tail[l] = f->prev;
	if (l == FLIST_PENDING)
		ft->pending--;
	f->prev = f->next = 0;
	f->list = FLIST_NONE;
}

static void
list_append(struct flow_table *ft, struct flow *f, enum flow_list l)
{
	uint32_t i = IDX(ft, f);

	f->list = (uint8_t)l;
	f->prev = ft->tail[l];
	f->next = 0;
	if (ft->tail[l])
		SLOT(ft, ft->tail[l])->next = i;
	else
		ft->head[l] = i;
	ft->tail[l] = i;
	if (l == FLIST_PENDING)
		ft->pending++;
}

void
flow_table_touch(struct flow_table *ft, struct flow *f, enum flow_list l,
    uint64_t now)
{
	list_unlink(ft, f);
	f->touch = now;
	list_append(ft, f, l);
}

void
flow_table_mark_dirty(struct flow_table *ft, struct flow *f, uint64_t now)
{
	uint32_t i = IDX(ft, f);

	if (f->flags & FL_DIRTY)
		return;
	f->flags |= FL_DIRTY;
	f->dirty_ms = (uint32_t)(now / 1000);
	f->qnext = 0;
	f->qprev = ft->qtail;
	if (ft->qtail)
		SLOT(ft, ft->qtail)->qnext = i;
	else
		ft->qhead = i;
	ft->qtail = i;
	ft->ndirty++;
}

static void
dirty_unlink(struct flow_table *ft, struct flow *f)
{
	if (!(f->flags & FL_DIRTY))
		return;
	if (f->qprev)
		SLOT(ft, f->qprev)->qnext = f->qnext;
	else
		ft->qhead = f->qnext;
	if (f->qnext)
		SLOT(ft, f->qnext)->qprev = f->qprev;
	else
		ft->qtail = f->qprev;
	f->qprev = f->qnext = 0;
	f->flags &= (uint16_t)~FL_DIRTY;
	ft->ndirty--;
}

struct flow *
flow_table_pop_dirty(struct flow_table *ft, uint64_t before)
{
	struct flow *f;

	if (!flow_table_dirty_before(ft, before))
		return NULL;
	f = SLOT(ft, ft->qhead);
	dirty_unlink(ft, f);
	return f;
}

uint64_t
flow_table_dirty_since(const struct flow_table *ft, uint64_t now)
{
	uint32_t age;

	if (ft->qhead == 0)
		return UINT64_MAX;
	age = (uint32_t)(now / 1000) - SLOT(ft, ft->qhead)->dirty_ms;
	return (uint64_t)age * 1000 > now ? 0 : now - (uint64_t)age * 1000;
}

int
flow_table_dirty_before(const struct flow_table *ft, uint64_t before)
{
	const struct flow *f;

	if (ft->qhead == 0)
		return 0;
	if (before == UINT64_MAX)
		return 1;
	f = SLOT(ft, ft->qhead);
	/* Milliseconds wrap every 49 days: compare the difference. */
	return (int32_t)(f->dirty_ms - (uint32_t)(before / 1000)) <= 0;
}

int
flow_has_process(const struct flow *f)
{
	return f->proc[0] != 0 || f->proc[1] != 0;
}

void
flow_table_attr(struct flow_table *ft, const struct flow *f, int d)
{
	if (!(f->flags & FL_PACKETS))
		return;
	ft->live_packet += (uint32_t)d;
	if (flow_has_process(f))
		ft->live_packet_proc += (uint32_t)d;
}

double
flow_table_attribution(const struct flow_table *ft)
{
	uint64_t n = ft->c[FTC_PACKET_FLOWS] + ft->live_packet;

	return n ? (double)(ft->c[FTC_PACKET_FLOWS_WITH_PROCESS] +
	    ft->live_packet_proc) / (double)n : -1;
}

/* Per-interface accounting of a flow leaving the table. */
static void
account(struct flow_table *ft, const struct flow *f, enum flow_retire why)
{
	switch (why) {
	case RETIRE_EVICT:
		ft->c[FTC_EVICTED]++;
		break;
	case RETIRE_PENDING_CAP:
		ft->c[FTC_PENDING_EVICTED]++;
		break;
	case RETIRE_IDLE:
	case RETIRE_WINDOW:
	case RETIRE_ENDED:
		ft->c[FTC_EXPIRED]++;
		break;
	case RETIRE_MEMORY:
		ft->c[f->list == FLIST_PENDING ? FTC_MEM_EVICTED_PENDING :
		    f->list == FLIST_ENDED ? FTC_MEM_EVICTED_ENDED :
		    FTC_MEM_EVICTED_IDLE]++;
		break;
	case RETIRE_FLUSH:
		break;
	}
	if (!ft->packet)
		return;
	if (f->flags & FL_PACKETS) {
		ft->c[FTC_PACKET_FLOWS]++;
		if (flow_has_process(f))
			ft->c[FTC_PACKET_FLOWS_WITH_PROCESS]++;
		else
			ft->c[FTC_PACKET_FLOWS_NO_PROCESS]++;
	} else if (why == RETIRE_WINDOW)
		ft->c[FTC_MISSES] += f->events;
}

void
flow_table_retire(struct flow_table *ft, struct flow *f, enum flow_retire why)
{
	uint32_t i = IDX(ft, f), *pp;
	unsigned s;

	if (ft->retire != NULL)
		ft->retire(ft->retire_arg, ft, f, why);
	account(ft, f, why);
	flow_table_attr(ft, f, -1);
	list_unlink(ft, f);
	dirty_unlink(ft, f);
	for (pp = chain_of(ft, &f->key); *pp != i;
	    pp = &SLOT(ft, *pp)->hnext)
		;
	*pp = f->hnext;
	for (s = 0; s < 2; s++) {
		intern_unref(ft->in, f->proc[s]);
		intern_unref(ft->in, f->parent[s]);
		intern_unref(ft->in, f->cont[s]);
	}
	intern_unref(ft->in, f->meta);
	if (f->tcpi) {
		ft->tcpi[f->tcpi - 1].next_free = ft->tcpi_free;
		ft->tcpi_free = f->tcpi;
	}
	memset(f, 0, sizeof(*f));
	f->self = i;
	f->flags = FL_FREE;
	f->hnext = ft->free_head;
	ft->free_head = i;
	ft->live--;
}

/*
 * Faults in a new chunk's pages with one call (MADV_POPULATE_WRITE,
 * Linux 5.14) instead of a fault per 4 KB page as the slots are first
 * used: on these machines the trap costs more than the page.  The
 * chunk is charged to the budget whole already.  An older kernel
 * refuses it, and the pages fault one by one as before.
 */
static void
populate(void *p, size_t n)
{
	uintptr_t pg = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t a = ((uintptr_t)p + pg - 1) & ~(pg - 1);
	uintptr_t b = ((uintptr_t)p + n) & ~(pg - 1);

	if (b > a)
		(void)madvise((void *)a, b - a, MADV_POPULATE_WRITE);
}

/* Adds a chunk of slots, and quadruples the buckets when the slots
 * outnumber them.  0, -1 at max_flows, or -2 out of memory (the
 * budget's or the system's). */
static int
grow(struct flow_table *ft)
{
	struct mem_budget *m = &ft->in->mem;
	struct flow **nc, *c;
	uint32_t *nb, nbk;

	if (ft->nslot >= ft->max_flows)
		return -1;
	if (ft->nchunk == ft->chunk_cap) {
		uint32_t cap = ft->chunk_cap ? ft->chunk_cap * 2 : 16;
		size_t more = (cap - ft->chunk_cap) * sizeof(*nc);

		if (mem_charge(m, more) == -1)
			return -2;
		if ((nc = realloc(ft->chunk, cap * sizeof(*nc))) == NULL) {
			mem_release(m, more);
			return -2;
		}
		ft->chunk = nc;
		ft->chunk_cap = cap;
	}
	if (mem_charge(m, FT_CHUNK * sizeof(*c)) == -1)
		return -2;
	if ((c = malloc(FT_CHUNK * sizeof(*c))) == NULL) {
		mem_release(m, FT_CHUNK * sizeof(*c));
		return -2;
	}
	populate(c, FT_CHUNK * sizeof(*c));
	ft->chunk[ft->nchunk++] = c;
	ft->nslot += FT_CHUNK;
	if (ft->nslot > ft->max_flows)
		ft->nslot = ft->max_flows;
	/* Four times as many: a third of the moves of doubling (every
	 * move is a cache miss), for 4-16 bytes of buckets per flow. */
	for (nbk = ft->nbucket; nbk < ft->nslot; nbk *= 4)
		;
	if (nbk == ft->nbucket)
		return 0;
	rehash_step(ft, UINT32_MAX);	/* rare: see rehash_step() */
	if (mem_charge(m, nbk * sizeof(*nb)) == -1)
		return 0;	/* longer chains, still correct */
	if ((nb = calloc(nbk, sizeof(*nb))) == NULL) {
		mem_release(m, nbk * sizeof(*nb));
		return 0;
	}
	ft->obucket = ft->bucket;
	ft->onbucket = ft->nbucket;
	ft->rehash_pos = 0;
	ft->bucket = nb;
	ft->nbucket = nbk;
	return 0;
}

/* Chooses what to evict when the table is full: ended flows first
 * (their rows are final), then the least recently updated live flow,
 * then the oldest pending event-only entry.  Out of memory
 * (store.max_memory), the pending entries go first, as in
 * store_mem_reserve(). */
static struct flow *
victim(struct flow_table *ft, int memory)
{
	if (memory && ft->head[FLIST_PENDING])
		return SLOT(ft, ft->head[FLIST_PENDING]);
	if (ft->head[FLIST_ENDED])
		return SLOT(ft, ft->head[FLIST_ENDED]);
	if (ft->head[FLIST_IDLE])
		return SLOT(ft, ft->head[FLIST_IDLE]);
	if (ft->head[FLIST_PENDING])
		return SLOT(ft, ft->head[FLIST_PENDING]);
	return NULL;
}

struct flow *
flow_table_create(struct flow_table *ft, const struct flow_key *k,
    enum flow_list l, uint64_t now)
{
	struct flow *f, *v;
	uint32_t i, *chain;
	int g;

	if (l == FLIST_PENDING && ft->pending >= ft->max_pending)
		flow_table_retire(ft, SLOT(ft, ft->head[FLIST_PENDING]),
		    RETIRE_PENDING_CAP);
	if (ft->free_head == 0 && ft->used == ft->nslot &&
	    (g = grow(ft)) < 0) {
		if ((v = victim(ft, g == -2)) == NULL)
			return NULL;
		flow_table_retire(ft, v, g == -2 ? RETIRE_MEMORY :
		    v->list == FLIST_PENDING ? RETIRE_PENDING_CAP :
		    RETIRE_EVICT);
	}
	if (ft->free_head != 0) {
		i = ft->free_head;
		ft->free_head = SLOT(ft, i)->hnext;
	} else
		i = ++ft->used;
	f = SLOT(ft, i);
	memset(f, 0, sizeof(*f));
	f->self = i;
	f->key = *k;
	f->id = ++*ft->next_id;
	rehash_step(ft, FT_REHASH_STEP);
	chain = chain_of(ft, k);
	f->hnext = *chain;
	*chain = i;
	f->touch = now;
	list_append(ft, f, l);
	ft->live++;
	ft->c[FTC_CREATED]++;
	return f;
}

static uint64_t
list_timeout(const struct flow_table *ft, int l)
{
	return l == FLIST_IDLE ? ft->idle_usec : ft->window_usec;
}

static enum flow_retire
list_reason(int l)
{
	switch (l) {
	case FLIST_PENDING:
		return RETIRE_WINDOW;
	case FLIST_ENDED:
		return RETIRE_ENDED;
	default:
		return RETIRE_IDLE;
	}
}

unsigned
flow_table_expire(struct flow_table *ft, uint64_t now, unsigned max)
{
	unsigned n = 0;
	int l;
	struct flow *f;

	for (l = FLIST_IDLE; l < FLIST_MAX; l++)
		while (n < max && ft->head[l] != 0) {
			f = SLOT(ft, ft->head[l]);
			if (f->touch + list_timeout(ft, l) > now)
				break;
			flow_table_retire(ft, f, list_reason(l));
			n++;
		}
	return n;
}

uint64_t
flow_table_deadline(const struct flow_table *ft)
{
	uint64_t d = UINT64_MAX, t;
	int l;

	for (l = FLIST_IDLE; l < FLIST_MAX; l++)
		if (ft->head[l] != 0) {
			t = SLOT(ft, ft->head[l])->touch +
			    list_timeout(ft, l);
			if (t < d)
				d = t;
		}
	return d;
}

void
flow_table_flush(struct flow_table *ft)
{
	int l;

	for (l = FLIST_IDLE; l < FLIST_MAX; l++)
		while (ft->head[l] != 0)
			flow_table_retire(ft, SLOT(ft, ft->head[l]),
			    RETIRE_FLUSH);
}

struct flow_tcpinfo *
flow_tcpinfo(struct flow_table *ft, struct flow *f, int create)
{
	struct flow_tcpinfo *nt;
	uint32_t i, n;

	if (f->tcpi != 0)
		return &ft->tcpi[f->tcpi - 1];
	if (!create)
		return NULL;
	if (ft->tcpi_free != 0) {
		i = ft->tcpi_free;
		ft->tcpi_free = ft->tcpi[i - 1].next_free;
	} else {
		if (ft->tcpi_used == ft->ntcpi) {
			n = ft->ntcpi ? ft->ntcpi * 2 : 256;
			if (mem_charge(&ft->in->mem, (size_t)(n - ft->ntcpi) *
			    sizeof(*nt)) == -1)
				return NULL;
			if ((nt = realloc(ft->tcpi, (size_t)n * sizeof(*nt))) ==
			    NULL) {
				mem_release(&ft->in->mem,
				    (size_t)(n - ft->ntcpi) * sizeof(*nt));
				return NULL;
			}
			ft->tcpi = nt;
			ft->ntcpi = n;
		}
		i = ++ft->tcpi_used;
	}
	memset(&ft->tcpi[i - 1], 0, sizeof(ft->tcpi[0]));
	f->tcpi = i;
	return &ft->tcpi[i - 1];
}

size_t
flow_table_mem(const struct flow_table *ft)
{
	return sizeof(*ft) +
	    (size_t)ft->nchunk * FT_CHUNK * sizeof(struct flow) +
	    (size_t)ft->chunk_cap * sizeof(struct flow *) +
	    (size_t)(ft->nbucket + ft->onbucket) * sizeof(uint32_t) +
	    (size_t)ft->ntcpi * sizeof(struct flow_tcpinfo);
}

size_t
flow_table_need(const struct flow_table *ft, int tcp)
{
	size_t need = 0;

	if (tcp && ft->tcpi_free == 0 && ft->tcpi_used == ft->ntcpi)
		need += (size_t)(ft->ntcpi ? ft->ntcpi : 256) *
		    sizeof(struct flow_tcpinfo);
	/* A full table with a flow evicts it for a slot (victim()); an
	 * empty one must grow. */
	if (ft->live == 0 && ft->free_head == 0 && ft->used == ft->nslot &&
	    ft->nslot < ft->max_flows)
		need += FT_CHUNK * sizeof(struct flow) +
		    (size_t)(ft->chunk_cap ? ft->chunk_cap : 16) *
		    sizeof(struct flow *) +
		    (size_t)ft->nbucket * 4 * sizeof(uint32_t);
	return need;
}

struct flow *
flow_table_head(struct flow_table *ft, enum flow_list l)
{
	return ft->head[l] ? SLOT(ft, ft->head[l]) : NULL;
}
