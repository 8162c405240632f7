/*
 * Interned values: distinct byte strings with reference counts.  See
 * store.h.  A value is allocated when it is first seen and freed when
 * its last reference goes; lookups hash the bytes.
 */
#include <assert.h>
#include <malloc.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "../common/hash.h"
#include "store.h"

struct intern_ent {
	uint32_t	refs;
	uint32_t	next;		/* chain: id, or free list: id */
	uint64_t	hash;
	int64_t		row;		/* database row, 0 = none yet */
	uint32_t	len;
	uint32_t	serial;		/* in->serial when made (memos) */
	uint8_t		data[];
};

#define INTERN_MIN_BUCKETS	1024

struct intern *
intern_new(void)
{
	struct intern *in;

	if ((in = calloc(1, sizeof(*in))) == NULL)
		return NULL;
	in->nbucket = INTERN_MIN_BUCKETS;
	if ((in->bucket = calloc(in->nbucket, sizeof(*in->bucket))) == NULL) {
		free(in);
		return NULL;
	}
	in->mem.used = in->nbucket * sizeof(*in->bucket);
	in->seed = hash_random_seed();
	return in;
}

void
intern_free(struct intern *in)
{
	uint32_t i;

	if (in == NULL)
		return;
	for (i = 0; i < in->nent; i++)
		free(in->ent[i]);
	free(in->ent);
	free(in->freeid);
	free(in->bucket);
	free(in);
}

/* Doubles the bucket array when the load passes 1; keeps old on ENOMEM. */
static void
grow_buckets(struct intern *in)
{
	uint32_t *nb, n = in->nbucket * 2, i, id, next;
	struct intern_ent *e;

	if (mem_charge(&in->mem, n * sizeof(*nb)) == -1)
		return;		/* longer chains, still correct */
	if ((nb = calloc(n, sizeof(*nb))) == NULL) {
		mem_release(&in->mem, n * sizeof(*nb));
		return;
	}
	for (i = 0; i < in->nbucket; i++)
		for (id = in->bucket[i]; id != 0; id = next) {
			e = in->ent[id - 1];
			next = e->next;
			e->next = nb[e->hash & (n - 1)];
			nb[e->hash & (n - 1)] = id;
		}
	free(in->bucket);
	mem_release(&in->mem, in->nbucket * sizeof(*in->bucket));
	in->bucket = nb;
	in->nbucket = n;
}

/* intern_get() with the value's hash `h` given: any function of the
 * bytes that equal values share (see proc_hash()). */
static uint32_t
intern_get_hashed(struct intern *in, const void *data, size_t len, uint64_t h)
{
	struct intern_ent *e, **ne;
	uint32_t *nf;
	uint32_t id, b;
	size_t sz;

	if (len == 0 || len > UINT32_MAX)
		return 0;
	assert(in->nbucket > 0 && (in->nbucket & (in->nbucket - 1)) == 0);
	b = (uint32_t)(h & (in->nbucket - 1));
	for (id = in->bucket[b]; id != 0; id = e->next) {
		e = in->ent[id - 1];
		if (e->hash == h && e->len == len &&
		    memcmp(e->data, data, len) == 0) {
			e->refs++;
			return id;
		}
	}
	if ((e = malloc(sizeof(*e) + len)) == NULL)
		return 0;
	sz = malloc_usable_size(e);
	if (mem_charge(&in->mem, sz) == -1) {
		free(e);
		return 0;
	}
	if (in->nfree > 0)
		id = in->freeid[--in->nfree];
	else {
		if (in->nent == in->cap) {
			uint32_t ncap = in->cap ? in->cap * 2 : 1024;
			size_t grow = (ncap - in->cap) *
			    (sizeof(*ne) + sizeof(*nf));

			if (mem_charge(&in->mem, grow) == -1)
				goto fail;
			if ((ne = realloc(in->ent, ncap * sizeof(*ne))) ==
			    NULL) {
				mem_release(&in->mem, grow);
				goto fail;
			}
			in->ent = ne;
			if ((nf = realloc(in->freeid, ncap * sizeof(*nf))) ==
			    NULL) {
				/* ent[] grew (uncharged until both do:
				 * the budget follows `cap`). */
				mem_release(&in->mem, grow);
				goto fail;
			}
			in->freeid = nf;
			in->cap = ncap;
		}
		id = ++in->nent;
	}
	e->refs = 1;
	e->hash = h;
	e->row = 0;
	e->len = (uint32_t)len;
	e->serial = ++in->serial;
	memcpy(e->data, data, len);
	e->next = in->bucket[b];
	in->bucket[b] = id;
	in->ent[id - 1] = e;
	in->live++;
	in->bytes += sz;
	if (in->live > in->nbucket)
		grow_buckets(in);
	return id;
fail:
	mem_release(&in->mem, sz);
	free(e);
	return 0;
}

uint32_t
intern_get(struct intern *in, const void *data, size_t len)
{
	return intern_get_hashed(in, data, len, hash_bytes(data, len,
	    in->seed));
}

void
intern_ref(struct intern *in, uint32_t id)
{
	if (id != 0) {
		assert(id <= in->nent && in->ent[id - 1] != NULL &&
		    in->ent[id - 1]->refs > 0);
		in->ent[id - 1]->refs++;
	}
}

void
intern_unref(struct intern *in, uint32_t id)
{
	struct intern_ent *e;
	uint32_t *pp;
	size_t sz;

	if (id == 0)
		return;
	assert(id <= in->nent && in->ent[id - 1] != NULL);
	e = in->ent[id - 1];
	assert(e->refs > 0);	/* one unref per get or ref */
	if (--e->refs > 0)
		return;
	for (pp = &in->bucket[e->hash & (in->nbucket - 1)]; *pp != id;
	    pp = &in->ent[*pp - 1]->next)
		assert(*pp != 0);	/* a live entry is in its chain */
	assert(in->nfree < in->cap);
	*pp = e->next;
	sz = malloc_usable_size(e);
	in->bytes -= sz;
	mem_release(&in->mem, sz);
	in->live--;
	free(e);
	in->ent[id - 1] = NULL;
	in->freeid[in->nfree++] = id;
}

const void *
intern_data(const struct intern *in, uint32_t id, size_t *len)
{
	const struct intern_ent *e;

	if (id == 0)
		return NULL;
	assert(id <= in->nent && in->ent[id - 1] != NULL);
	e = in->ent[id - 1];
	if (len != NULL)
		*len = e->len;
	return e->data;
}

int64_t
intern_row(struct intern *in, uint32_t id, int *fresh)
{
	struct intern_ent *e;

	*fresh = 0;
	if (id == 0)
		return 0;
	e = in->ent[id - 1];
	if (e->row == 0) {
		e->row = ++in->last_row;
		*fresh = 1;
	}
	return e->row;
}

int64_t
intern_min_row(const struct intern *in)
{
	int64_t min = in->last_row + 1;
	uint32_t i;

	for (i = 0; i < in->nent; i++)
		if (in->ent[i] != NULL && in->ent[i]->row != 0 &&
		    in->ent[i]->row < min)
			min = in->ent[i]->row;
	return min;
}

void
intern_forget_rows(struct intern *in)
{
	uint32_t i;

	for (i = 0; i < in->nent; i++)
		if (in->ent[i] != NULL)
			in->ent[i]->row = 0;
}

size_t
intern_mem(const struct intern *in)
{
	return in->bytes + in->cap * (sizeof(*in->ent) + sizeof(*in->freeid)) +
	    in->nbucket * sizeof(*in->bucket);
}

size_t
intern_need(const struct intern *in, unsigned n, size_t bytes)
{
	/* malloc's own word and rounding: at most 24 bytes per value */
	size_t need = (size_t)n * (sizeof(struct intern_ent) + 24) + bytes;
	uint32_t grow = in->cap ? in->cap : 1024;	/* see intern_get() */

	if (in->nfree < n && in->nent + (n - in->nfree) > in->cap)
		need += (size_t)grow * (sizeof(*in->ent) +
		    sizeof(*in->freeid));
	if (in->live + n > in->nbucket)
		need += (size_t)in->nbucket * 2 * sizeof(*in->bucket);
	return need;
}

/* Copies a bounded string, zeroing the rest, so equal strings compare
 * equal byte for byte whatever followed their NUL on the wire. */
static void
norm_str(char *dst, const char *src, size_t n)
{
	size_t l = strnlen(src, n - 1);

	memcpy(dst, src, l);
	memset(dst + l, 0, n - l);
}

/* Tagged value: one byte of kind, then the struct. */
struct tagged_proc {
	uint8_t		tag;
	uint8_t		pad[7];
	struct evp_proc	p;
};

struct tagged_cont {
	uint8_t		tag;
	uint8_t		pad[7];
	struct evp_container c;
};

/*
 * Hashes of the normalized process and container: the numbers, then
 * each string up to its end, not the zeros that pad it (norm_str()).
 * Equal values hash alike; the strings' lengths go into each step's
 * seed, so "ab"+"c" and "a"+"bc" differ.  hash_bytes() is one chain of
 * multiplies per 8 bytes: the whole 360-byte process was ~0.25 us a
 * lookup in the store's loop (tests/bench/join.sh, 30,000 processes),
 * its strings are usually a few dozen bytes.
 */
static uint64_t
hash_str(const char *p, size_t n, uint64_t h)
{
	return hash_bytes(p, strnlen(p, n), h);
}

static uint64_t
proc_hash(const struct intern *in, const struct tagged_proc *t)
{
	uint64_t h;

	h = hash_bytes(&t->p, offsetof(struct evp_proc, uid_name),
	    in->seed ^ INTERN_PROC);
	h = hash_str(t->p.uid_name, sizeof(t->p.uid_name), h);
	h = hash_str(t->p.gid_name, sizeof(t->p.gid_name), h);
	h = hash_str(t->p.path, sizeof(t->p.path), h);
	return hash_str(t->p.cmdline, sizeof(t->p.cmdline), h);
}

static uint64_t
cont_hash(const struct intern *in, const struct tagged_cont *t)
{
	uint64_t h;

	h = hash_bytes(&t->c.kind, sizeof(t->c.kind), in->seed ^ INTERN_CONT);
	h = hash_str(t->c.id, sizeof(t->c.id), h);
	h = hash_str(t->c.name, sizeof(t->c.name), h);
	h = hash_str(t->c.pod, sizeof(t->c.pod), h);
	return hash_str(t->c.ns, sizeof(t->c.ns), h);
}

/* The memo slot of a key. */
static unsigned
memo_slot(uint32_t k)
{
	return (k * 0x9e3779b1u) >> (32 - INTERN_MEMO_BITS);
}

/* A memo's entry, with one more reference, if it is still the entry
 * it names; else 0. */
static uint32_t
memo_take(struct intern *in, uint32_t id, uint32_t serial)
{
	struct intern_ent *e;

	if (id == 0 || id > in->nent || (e = in->ent[id - 1]) == NULL ||
	    e->serial != serial)
		return 0;
	e->refs++;
	return id;
}

/* Remembers that `raw` was interned as `id`. */
#define MEMO_SET(in, m, p, i) do {					\
	(m)->raw = *(p);						\
	(m)->id = (i);							\
	(m)->serial = (i) ? (in)->ent[(i) - 1]->serial : 0;		\
} while (0)

uint32_t
intern_proc(struct intern *in, const struct evp_proc *p)
{
	struct intern_memo_proc *m = &in->mproc[memo_slot(p->pid ^
	    p->tid << 16)];
	struct tagged_proc t;
	uint32_t id;

	if (m->id != 0 && memcmp(&m->raw, p, sizeof(*p)) == 0 &&
	    (id = memo_take(in, m->id, m->serial)) != 0)
		return id;
	memset(&t, 0, sizeof(t));
	t.tag = INTERN_PROC;
	t.p.pid = p->pid;
	t.p.tid = p->tid;
	t.p.uid = p->uid;
	t.p.gid = p->gid;
	t.p.vm_size = p->vm_size;
	t.p.vm_peak = p->vm_peak;
	norm_str(t.p.uid_name, p->uid_name, sizeof(t.p.uid_name));
	norm_str(t.p.gid_name, p->gid_name, sizeof(t.p.gid_name));
	norm_str(t.p.path, p->path, sizeof(t.p.path));
	norm_str(t.p.cmdline, p->cmdline, sizeof(t.p.cmdline));
	id = intern_get_hashed(in, &t, sizeof(t), proc_hash(in, &t));
	MEMO_SET(in, m, p, id);
	return id;
}

uint32_t
intern_container(struct intern *in, const struct evp_container *c)
{
	struct intern_memo_cont *m = &in->mcont[memo_slot(c->kind ^
	    (unsigned char)c->id[0] << 8 ^ (unsigned char)c->id[1] << 16 ^
	    (uint32_t)(unsigned char)c->id[2] << 24)];
	struct tagged_cont t;
	uint32_t id;

	if (m->id != 0 && memcmp(&m->raw, c, sizeof(*c)) == 0 &&
	    (id = memo_take(in, m->id, m->serial)) != 0)
		return id;
	memset(&t, 0, sizeof(t));
	t.tag = INTERN_CONT;
	t.c.kind = c->kind;
	norm_str(t.c.id, c->id, sizeof(t.c.id));
	norm_str(t.c.name, c->name, sizeof(t.c.name));
	norm_str(t.c.pod, c->pod, sizeof(t.c.pod));
	norm_str(t.c.ns, c->ns, sizeof(t.c.ns));
	id = intern_get_hashed(in, &t, sizeof(t), cont_hash(in, &t));
	MEMO_SET(in, m, c, id);
	return id;
}

const struct evp_proc *
intern_get_proc(const struct intern *in, uint32_t id)
{
	const struct tagged_proc *t = intern_data(in, id, NULL);

	return t == NULL ? NULL : &t->p;
}

const struct evp_container *
intern_get_container(const struct intern *in, uint32_t id)
{
	const struct tagged_cont *t = intern_data(in, id, NULL);

	return t == NULL ? NULL : &t->c;
}

const struct flow_meta *
intern_get_meta(const struct intern *in, uint32_t id)
{
	const uint8_t *d = intern_data(in, id, NULL);

	return d == NULL ? NULL : (const struct flow_meta *)(const void *)
	    (d + 8);
}
