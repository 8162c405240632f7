/*
 * The router's own state file: runtime interface settings (made with
 * `iface set` over the control socket, by evflowctl or webd) survive a
 * restart without the router reading anybody else's data.  The data
 * flow stays one-way: webd/evflowctl -> router -> (EVP_IFACE) -> store.
 *
 * The file, <datadir>/<name>.state, is text, at most STATE_FILE_MAX
 * bytes:
 *
 *   evflow-router-state 1
 *   iface<TAB>NAME<TAB>yes|no<TAB>COMPANION or -
 *   ...
 *   end
 *
 * one line per interface changed at runtime (mirrored; companion),
 * kept even when the interface is no longer declared, so that a
 * configuration change and back loses nothing.  The `end` line tells a
 * cut file from a whole one.  It is written whole at each change: a
 * temporary file, fsync, rename over the old one, fsync of the
 * directory.  A file that does not parse is logged, counted, kept as
 * NAME.state.bad and ignored: the configuration's values apply.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/log.h"
#include "router.h"

#define STATE_MAGIC	"evflow-router-state"

enum state_pass { PASS_MIRROR_ON, PASS_COMPANION, PASS_MIRROR_OFF };

void
state_init(struct router_state *s, const char *path)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->path, sizeof(s->path), "%s", path);
}

/* The entry of `name`, or NULL. */
static struct state_entry *
state_find(struct router_state *s, const char *name)
{
	unsigned k;

	for (k = 0; k < s->n; k++)
		if (strcmp(s->e[k].name, name) == 0)
			return &s->e[k];
	return NULL;
}

/* Copies the field [p, end) into out (size EVP_NAME_LEN).  -1 if empty,
 * too long, or holding a control character. */
static int
field(char *out, const char *p, const char *end)
{
	size_t n = (size_t)(end - p), k;

	if (n == 0 || n >= EVP_NAME_LEN)
		return -1;
	for (k = 0; k < n; k++)
		if ((unsigned char)p[k] < 0x20)
			return -1;
	memcpy(out, p, n);
	out[n] = '\0';
	return 0;
}

/* Parses one "iface" line (without its newline) into a new entry. */
static int
parse_line(struct router_state *s, const char *p, const char *end,
    char *err, size_t errlen)
{
	const char *f[4];
	struct state_entry e;
	unsigned nf = 0;
	const char *q;
	char yes[8];

	f[nf++] = p;
	for (q = p; q < end; q++)
		if (*q == '\t') {
			if (nf == 4) {
				snprintf(err, errlen, "too many fields");
				return -1;
			}
			f[nf++] = q + 1;
		}
	if (nf != 4 || (size_t)(f[1] - f[0]) != 6 ||
	    memcmp(f[0], "iface\t", 6) != 0) {
		snprintf(err, errlen, "expected 'iface NAME yes|no COMPANION'");
		return -1;
	}
	memset(&e, 0, sizeof(e));
	if (field(e.name, f[1], f[2] - 1) == -1 ||
	    field(e.companion, f[3], end) == -1 ||
	    (size_t)(f[3] - 1 - f[2]) >= sizeof(yes)) {
		snprintf(err, errlen, "bad name or companion");
		return -1;
	}
	memcpy(yes, f[2], (size_t)(f[3] - 1 - f[2]));
	yes[f[3] - 1 - f[2]] = '\0';
	if (strcmp(yes, "yes") == 0)
		e.mirrored = 1;
	else if (strcmp(yes, "no") != 0) {
		snprintf(err, errlen, "mirrored: '%s' is not yes or no", yes);
		return -1;
	}
	if (strcmp(e.companion, "-") == 0)
		e.companion[0] = '\0';
	if (state_find(s, e.name) != NULL) {
		snprintf(err, errlen, "'%s' twice", e.name);
		return -1;
	}
	if (s->n == ROUTER_STATE_MAX) {
		snprintf(err, errlen, "more than %d interfaces",
		    ROUTER_STATE_MAX);
		return -1;
	}
	s->e[s->n++] = e;
	return 0;
}

int
state_parse(struct router_state *s, const char *buf, size_t len, char *err,
    size_t errlen)
{
	const char *p = buf, *end = buf + len, *nl;
	char why[160];
	unsigned line = 0;
	int ended = 0;

	s->n = 0;
	if (len > STATE_FILE_MAX) {
		snprintf(err, errlen, "larger than %d bytes", STATE_FILE_MAX);
		return -1;
	}
	while (p < end) {
		line++;
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL) {
			snprintf(err, errlen, "line %u: no newline (cut?)",
			    line);
			goto fail;
		}
		if (ended) {
			snprintf(err, errlen, "line %u: after 'end'", line);
			goto fail;
		}
		if (line == 1) {
			if ((size_t)(nl - p) != sizeof(STATE_MAGIC) + 1 ||
			    memcmp(p, STATE_MAGIC " ", sizeof(STATE_MAGIC)) !=
			    0 || p[sizeof(STATE_MAGIC)] != '0' +
			    ROUTER_STATE_VERSION) {
				snprintf(err, errlen, "line 1: not '%s %d'",
				    STATE_MAGIC, ROUTER_STATE_VERSION);
				goto fail;
			}
		} else if (nl - p == 3 && memcmp(p, "end", 3) == 0)
			ended = 1;
		else if (parse_line(s, p, nl, why, sizeof(why)) == -1) {
			snprintf(err, errlen, "line %u: %s", line, why);
			goto fail;
		}
		p = nl + 1;
	}
	if (!ended) {
		snprintf(err, errlen, "no 'end' line (cut?)");
		goto fail;
	}
	assert(s->n <= ROUTER_STATE_MAX);
	return 0;
fail:
	s->n = 0;
	return -1;
}

int
state_load(struct router_state *s, char *err, size_t errlen)
{
	char *buf, bad[sizeof(s->path) + 8];
	ssize_t n;
	size_t len = 0;
	int fd;

	s->n = 0;
	if ((fd = open(s->path, O_RDONLY | O_CLOEXEC)) == -1) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", s->path, strerror(errno));
		s->damaged++;
		return -1;
	}
	if ((buf = malloc(STATE_FILE_MAX + 1)) == NULL) {
		close(fd);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	/* One byte more than allowed tells a too large file. */
	while (len <= STATE_FILE_MAX && (n = read(fd, buf + len,
	    STATE_FILE_MAX + 1 - len)) > 0)
		len += (size_t)n;
	close(fd);
	if (state_parse(s, buf, len, err, errlen) == 0) {
		free(buf);
		return 0;
	}
	free(buf);
	s->damaged++;
	snprintf(bad, sizeof(bad), "%s.bad", s->path);
	if (rename(s->path, bad) == -1)
		log_warn("%s: keeping the damaged file", bad);
	return -1;
}

/* Applies entry `e` in pass `pass`.  Returns 1 if it changed the table. */
static int
apply_entry(struct iface_table *t, enum state_pass pass,
    const struct state_entry *e)
{
	char why[256];
	struct iface *i;
	int r = 0;

	if ((i = iface_table_find(t, e->name)) == NULL) {
		if (pass == PASS_MIRROR_ON)
			log_info("saved settings for undeclared interface "
			    "'%s' kept, not applied", e->name);
		return 0;
	}
	switch (pass) {
	case PASS_MIRROR_ON:
		if (e->mirrored && i->kind == EVP_IFACE_PACKET)
			r = iface_table_set_mirrored(t, e->name, 1, why,
			    sizeof(why)) == 0;
		break;
	case PASS_COMPANION:
		if (i->kind != EVP_IFACE_ZMQ)
			return 0;
		r = iface_table_set_companion(t, e->name, e->companion[0] ?
		    e->companion : "none", why, sizeof(why)) == 0;
		if (!r)
			log_warnx("saved companion of '%s' not applied: %s",
			    e->name, why);
		break;
	case PASS_MIRROR_OFF:
		if (e->mirrored || i->kind != EVP_IFACE_PACKET)
			return 0;
		r = iface_table_set_mirrored(t, e->name, 0, why,
		    sizeof(why)) == 0;
		if (!r)
			log_warnx("saved 'mirrored no' of '%s' not applied: "
			    "%s", e->name, why);
		break;
	}
	return r;
}

/*
 * Entries go in three passes so that their order does not matter:
 * interfaces becoming mirrored, then companions, then interfaces losing
 * mirrored (which the rules refuse while they are still a companion).
 */
int
state_apply(const struct router_state *s, struct iface_table *t)
{
	enum state_pass pass;
	unsigned k;
	int applied = 0;

	for (pass = PASS_MIRROR_ON; pass <= PASS_MIRROR_OFF; pass++)
		for (k = 0; k < s->n; k++)
			applied += apply_entry(t, pass, &s->e[k]);
	return applied;
}

int
state_record(struct router_state *s, const struct iface_table *t,
    const struct iface *i)
{
	struct state_entry *e;
	const char *c;

	for (c = i->name; *c != '\0'; c++)
		if ((unsigned char)*c < 0x20)
			return -1;	/* would break the line format */
	if ((e = state_find(s, i->name)) == NULL) {
		if (s->n == ROUTER_STATE_MAX)
			return -1;
		e = &s->e[s->n++];
		memset(e, 0, sizeof(*e));
		snprintf(e->name, sizeof(e->name), "%s", i->name);
	}
	e->mirrored = i->mirrored;
	e->companion[0] = '\0';
	if (i->companion >= 0) {
		assert((unsigned)i->companion < t->n);
		snprintf(e->companion, sizeof(e->companion), "%s",
		    t->ifs[i->companion].name);
	}
	return 0;
}

/* Writes all of buf to fd.  0 or -1 (errno). */
static int
write_all(int fd, const char *buf, size_t len)
{
	ssize_t n;

	while (len > 0) {
		if ((n = write(fd, buf, len)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

int
state_save(struct router_state *s, char *err, size_t errlen)
{
	char tmp[sizeof(s->path) + 8], dir[sizeof(s->path)], *slash;
	struct buf b;
	unsigned k;
	int fd, rc = -1;

	buf_init(&b);
	buf_printf(&b, "%s %d\n", STATE_MAGIC, ROUTER_STATE_VERSION);
	for (k = 0; k < s->n; k++)
		buf_printf(&b, "iface\t%s\t%s\t%s\n", s->e[k].name,
		    s->e[k].mirrored ? "yes" : "no", s->e[k].companion[0] ?
		    s->e[k].companion : "-");
	buf_puts(&b, "end\n");
	if (!buf_ok(&b)) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	assert(b.len <= STATE_FILE_MAX);
	snprintf(tmp, sizeof(tmp), "%s.tmp", s->path);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0640)) == -1) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	if (write_all(fd, b.p, b.len) == -1 || fsync(fd) == -1) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		goto out;
	}
	close(fd);
	if (rename(tmp, s->path) == -1) {
		snprintf(err, errlen, "%s: %s", s->path, strerror(errno));
		unlink(tmp);
		goto out;
	}
	/* The rename itself survives a crash once the directory is synced. */
	snprintf(dir, sizeof(dir), "%s", s->path);
	if ((slash = strrchr(dir, '/')) != NULL) {
		*slash = '\0';
		if ((fd = open(dir[0] ? dir : "/", O_RDONLY | O_DIRECTORY |
		    O_CLOEXEC)) != -1) {
			(void)fsync(fd);
			close(fd);
		}
	}
	rc = 0;
out:
	if (rc == -1)
		s->write_errors++;
	buf_free(&b);
	return rc;
}
