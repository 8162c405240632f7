/*
 * The interface table: what is declared, what is mirrored, which packet
 * interface is each ZMQ interface's companion.  The same checks guard
 * the configuration and runtime changes, so a table that passed `-n`
 * and every accepted change keeps one invariant: a companion is always
 * a mirrored packet interface.
 *
 * Un-marking `mirrored` on an interface that is some ZMQ interface's
 * companion is refused (the operator clears the companion first), so a
 * change never has a hidden side effect on another interface.
 */
#include <stdio.h>
#include <string.h>

#include "router.h"

const char *const ifc_counter_names[IFC_MAX] = {
	[IFC_RECEIVED] = "received",
	[IFC_DELIVERED] = "delivered",
	[IFC_ORIGIN_DELIVERED] = "origin_delivered",
	[IFC_IFNAME_DELIVERED] = "ifname_delivered",
	[IFC_COMPANION_DELIVERED] = "companion_delivered",
	[IFC_IFNAME_UNMATCHED] = "ifname_unmatched",
	[IFC_IFNAME_SELF] = "ifname_self",
	[IFC_COMPANION_SKIPPED_LOOPBACK] = "companion_skipped_loopback",
	[IFC_COMPANION_SKIPPED_DUPLICATE] = "companion_skipped_duplicate",
};

int
iface_name_is_zmq(const char *name)
{
	return strstr(name, "://") != NULL;
}

/* 1 if `a` and `b` are interfaces of the same host (both local, or
 * both "H:..." with the same H). */
static int
same_host(const char *a, const char *b)
{
	size_t n = evp_iface_host_len(a);

	return n == evp_iface_host_len(b) && strncmp(a, b, n) == 0;
}

struct iface *
iface_table_find(struct iface_table *t, const char *name)
{
	unsigned i;

	for (i = 0; i < t->n; i++)
		if (strcmp(t->ifs[i].name, name) == 0)
			return &t->ifs[i];
	return NULL;
}

/* Adds a declared interface; refuses duplicates and overflow. */
static int
table_add(struct iface_table *t, const char *name, char *err, size_t errlen)
{
	struct iface *i;

	if (name[0] == '\0') {
		snprintf(err, errlen, "interface: empty name");
		return -1;
	}
	if (strlen(name) >= EVP_NAME_LEN) {
		snprintf(err, errlen, "interface '%s': name longer than %d "
		    "bytes", name, EVP_NAME_LEN - 1);
		return -1;
	}
	if (strpbrk(name, " \t") != NULL) {
		snprintf(err, errlen, "interface '%s': names cannot contain "
		    "blanks", name);
		return -1;
	}
	if (iface_table_find(t, name) != NULL) {
		snprintf(err, errlen, "interface '%s' declared twice", name);
		return -1;
	}
	if (t->n >= EVP_MAX_IFACES) {
		snprintf(err, errlen, "more than %d interfaces",
		    EVP_MAX_IFACES);
		return -1;
	}
	i = &t->ifs[t->n];
	memset(i, 0, sizeof(*i));
	i->id = t->n;
	i->kind = iface_name_is_zmq(name) ? EVP_IFACE_ZMQ : EVP_IFACE_PACKET;
	i->companion = -1;
	memcpy(i->name, name, strlen(name) + 1);
	t->n++;
	return 0;
}

/* The checks shared by configuration and runtime: 0 or -1 with err. */
static int
check_mirrored(struct iface_table *t, const char *name, int on,
    struct iface **out, char *err, size_t errlen)
{
	struct iface *i;
	unsigned k;

	if ((i = iface_table_find(t, name)) == NULL) {
		snprintf(err, errlen, "no interface named '%s'", name);
		return -1;
	}
	if (on && i->kind != EVP_IFACE_PACKET) {
		snprintf(err, errlen, "'%s' is a ZMQ interface: only a packet "
		    "interface can receive mirrored traffic", name);
		return -1;
	}
	if (!on)
		for (k = 0; k < t->n; k++)
			if (t->ifs[k].companion == (int)i->id) {
				snprintf(err, errlen, "'%s' is the companion of "
				    "'%s': set that companion to none first",
				    name, t->ifs[k].name);
				return -1;
			}
	*out = i;
	return 0;
}

static int
check_companion(struct iface_table *t, const char *zname, const char *other,
    struct iface **zout, struct iface **cout, char *err, size_t errlen)
{
	struct iface *z, *c = NULL;

	if ((z = iface_table_find(t, zname)) == NULL) {
		snprintf(err, errlen, "no interface named '%s'", zname);
		return -1;
	}
	if (z->kind != EVP_IFACE_ZMQ) {
		snprintf(err, errlen, "'%s' is a packet interface: only a ZMQ "
		    "interface has a companion", zname);
		return -1;
	}
	if (strcmp(other, "none") != 0) {
		if ((c = iface_table_find(t, other)) == NULL) {
			snprintf(err, errlen, "no interface named '%s'", other);
			return -1;
		}
		if (c->kind != EVP_IFACE_PACKET) {
			snprintf(err, errlen, "'%s' is a ZMQ interface: a "
			    "companion must be a mirrored packet interface",
			    other);
			return -1;
		}
		if (!same_host(zname, other)) {
			snprintf(err, errlen, "'%s' and '%s' are on different "
			    "hosts: a companion is on its ZMQ interface's host",
			    zname, other);
			return -1;
		}
		if (!c->mirrored) {
			snprintf(err, errlen, "'%s' is not mirrored: only a "
			    "mirrored packet interface can be a companion "
			    "(set '%s' mirrored yes first)", other, other);
			return -1;
		}
	}
	*zout = z;
	*cout = c;
	return 0;
}

int
iface_table_build(struct iface_table *t, const struct conf_list *ifaces,
    const struct conf_list *mirrored, const struct conf_list *companions,
    char *err, size_t errlen)
{
	char line[CONF_STR_LEN], *zname, *other, *rest, *save = NULL;
	struct iface *i, *z, *c;
	unsigned k;

	memset(t, 0, sizeof(*t));
	for (k = 0; k < ifaces->n; k++)
		if (table_add(t, ifaces->item[k], err, errlen) == -1)
			return -1;
	for (k = 0; k < mirrored->n; k++)
		if (check_mirrored(t, mirrored->item[k], 1, &i, err,
		    errlen) == -1)
			return -1;
		else
			i->mirrored = 1;
	for (k = 0; k < companions->n; k++) {
		snprintf(line, sizeof(line), "%s", companions->item[k]);
		zname = strtok_r(line, " \t", &save);
		other = strtok_r(NULL, " \t", &save);
		rest = strtok_r(NULL, " \t", &save);
		if (zname == NULL || other == NULL || rest != NULL) {
			snprintf(err, errlen, "companion '%s': expected "
			    "'ZMQIFACE PACKETIFACE' or 'ZMQIFACE none'",
			    companions->item[k]);
			return -1;
		}
		if (check_companion(t, zname, other, &z, &c, err,
		    errlen) == -1)
			return -1;
		z->companion = c ? (int)c->id : -1;
	}
	return 0;
}

int
iface_table_set_mirrored(struct iface_table *t, const char *name, int on,
    char *err, size_t errlen)
{
	struct iface *i;

	if (check_mirrored(t, name, on, &i, err, errlen) == -1)
		return -1;
	if (i->mirrored != on) {
		i->mirrored = on;
		i->changed = 1;
	}
	return 0;
}

int
iface_table_set_companion(struct iface_table *t, const char *zname,
    const char *other, char *err, size_t errlen)
{
	struct iface *z, *c;
	int id;

	if (check_companion(t, zname, other, &z, &c, err, errlen) == -1)
		return -1;
	id = c ? (int)c->id : -1;
	if (z->companion != id) {
		z->companion = id;
		z->changed = 1;
	}
	return 0;
}

void
iface_to_evp(const struct iface *i, struct evp_iface *e)
{
	memset(e, 0, sizeof(*e));
	e->id = i->id;
	e->kind = i->kind;
	e->mirrored = (uint32_t)i->mirrored;
	e->companion = i->companion >= 0 ? (uint32_t)i->companion + 1 : 0;
	e->flags = i->changed ? EVP_IFACE_F_CHANGED : 0;
	memcpy(e->name, i->name, sizeof(e->name));
}

void
iface_table_json(struct buf *b, const struct iface_table *t)
{
	const struct iface *i;
	unsigned k, c;

	buf_puts(b, "[");
	for (k = 0; k < t->n; k++) {
		i = &t->ifs[k];
		buf_printf(b, "%s{\"id\": %u, \"name\": ", k ? ", " : "", i->id);
		buf_json_str(b, i->name);
		buf_printf(b, ", \"kind\": \"%s\", \"mirrored\": %s, "
		    "\"companion\": ", i->kind == EVP_IFACE_ZMQ ? "zmq" :
		    "packet", i->mirrored ? "true" : "false");
		if (i->companion >= 0)
			buf_json_str(b, t->ifs[i->companion].name);
		else
			buf_puts(b, "null");
		buf_puts(b, ", \"counters\": {");
		for (c = 0; c < IFC_MAX; c++) {
			buf_printf(b, "%s", c ? ", " : "");
			buf_json_str(b, ifc_counter_names[c]);
			buf_printf(b, ": %llu", (unsigned long long)i->ctr[c]);
		}
		buf_puts(b, "}}");
	}
	buf_puts(b, "]");
}

void
iface_table_dump(FILE *fp, const struct iface_table *t)
{
	const struct iface *i;
	unsigned k;

	fprintf(fp, "# interface table: id name kind [mirrored] "
	    "[companion=NAME]\n");
	for (k = 0; k < t->n; k++) {
		i = &t->ifs[k];
		fprintf(fp, "# iface %u %s %s%s%s%s\n", i->id, i->name,
		    i->kind == EVP_IFACE_ZMQ ? "zmq" : "packet",
		    i->mirrored ? " mirrored" : "",
		    i->companion >= 0 ? " companion=" : "",
		    i->companion >= 0 ? t->ifs[i->companion].name : "");
	}
}
