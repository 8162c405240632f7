/*
 * Container identity from a cgroup path, the way the runtimes name
 * their cgroups (no runtime API is asked: names are not known here):
 *
 *   docker       /docker/<id>, /system.slice/docker-<id>.scope
 *   containerd   .../cri-containerd-<id>.scope, a bare <id> under kubepods
 *   podman       .../libpod-<id>.scope, /libpod_parent/libpod-<id>
 *   cri-o        .../crio-<id>.scope
 *   Kubernetes   pod<uid> (cgroupfs) or kubepods-<qos>-pod<uid>.slice
 *                (systemd driver, '_' for '-' in the uid)
 *
 * <id> is 64 hex digits.  The deepest component naming a container
 * wins; the runtimes' monitor processes (libpod-conmon-, crio-conmon-)
 * are not containers.  Pure functions on bounded text: fuzzed.
 */
#include <ctype.h>
#include <string.h>

#include "probe.h"

#define HEX_ID_LEN	64
#define POD_UID_LEN	36	/* 8-4-4-4-12 */

static int
is_hex_id(const char *s, size_t n)
{
	size_t i;

	if (n != HEX_ID_LEN)
		return 0;
	for (i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]))
			return 0;
	return 1;
}

struct prefix_kind {
	const char	*prefix;
	enum probe_cont_kind kind;
};

/* Component forms "<prefix><id>[.scope]". */
static const struct prefix_kind prefixes[] = {
	{ "docker-", PCONT_DOCKER },
	{ "cri-containerd-", PCONT_CONTAINERD },
	{ "libpod-", PCONT_PODMAN },
	{ "crio-", PCONT_CRIO },
	{ NULL, PCONT_NONE }
};

/* The container id in component `c` (n bytes), or PCONT_NONE. */
static enum probe_cont_kind
component_id(const char *c, size_t n, const char *prev, size_t prevn,
    int in_kubepods, const char **id)
{
	const struct prefix_kind *p;
	size_t pl;

	if (n > 6 && memcmp(c + n - 6, ".scope", 6) == 0)
		n -= 6;
	for (p = prefixes; p->prefix != NULL; p++) {
		pl = strlen(p->prefix);
		if (n > pl && memcmp(c, p->prefix, pl) == 0 &&
		    is_hex_id(c + pl, n - pl)) {
			*id = c + pl;
			return p->kind;
		}
	}
	if (is_hex_id(c, n)) {
		*id = c;
		if (prevn == 6 && memcmp(prev, "docker", 6) == 0)
			return PCONT_DOCKER;
		if (in_kubepods)
			return PCONT_CONTAINERD;
		if (prevn == 13 && memcmp(prev, "libpod_parent", 13) == 0)
			return PCONT_PODMAN;
	}
	return PCONT_NONE;
}

/* A pod uid in component `c`: "pod<uid>" or "...-pod<uid>.slice". */
static int
component_pod(const char *c, size_t n, char *uid, size_t cap)
{
	const char *p = NULL;
	size_t i, l;

	if (n > 6 && memcmp(c + n - 6, ".slice", 6) == 0) {
		n -= 6;
		for (i = n; i >= 4; i--)
			if (memcmp(c + i - 4, "-pod", 4) == 0) {
				p = c + i;
				break;
			}
	} else if (n > 3 && memcmp(c, "pod", 3) == 0)
		p = c + 3;
	if (p == NULL)
		return 0;
	l = n - (size_t)(p - c);
	if (l != POD_UID_LEN || l >= cap)
		return 0;
	for (i = 0; i < l; i++) {
		if (p[i] == '_' || p[i] == '-')
			uid[i] = '-';
		else if (isxdigit((unsigned char)p[i]))
			uid[i] = p[i];
		else
			return 0;
	}
	uid[l] = '\0';
	return 1;
}

int
cgroup_container(const char *path, struct probe_container *k)
{
	const char *c = path, *e, *prev = "", *id;
	size_t n, prevn = 0;
	int kube = 0;
	enum probe_cont_kind kind;

	memset(k, 0, sizeof(*k));
	while (*c != '\0') {
		while (*c == '/')
			c++;
		if (*c == '\0')
			break;
		for (e = c; *e != '\0' && *e != '/'; e++)
			;
		n = (size_t)(e - c);
		if (n >= 8 && memcmp(c, "kubepods", 8) == 0)
			kube = 1;
		if (kube && component_pod(c, n, k->pod, sizeof(k->pod)) &&
		    k->kind == PCONT_NONE)
			k->kind = PCONT_K8S_POD;
		if ((kind = component_id(c, n, prev, prevn, kube, &id)) !=
		    PCONT_NONE) {
			k->kind = kind;
			memcpy(k->id, id, HEX_ID_LEN);
			k->id[HEX_ID_LEN] = '\0';
		}
		prev = c;
		prevn = n;
		c = e;
	}
	return k->kind != PCONT_NONE;
}

int
cgroup_proc_path(const char *text, size_t len, char *dst, size_t cap)
{
	const char *l = text, *end = text + len, *nl, *p;
	struct probe_container k;
	char tmp[CONF_STR_LEN];
	size_t n;
	int found = 0;

	if (cap == 0)
		return -1;
	dst[0] = '\0';
	for (; l < end; l = nl + 1) {
		if ((nl = memchr(l, '\n', (size_t)(end - l))) == NULL)
			nl = end;
		/* hierarchy-id:controllers:path; the path may hold ':'. */
		if ((p = memchr(l, ':', (size_t)(nl - l))) == NULL ||
		    (p = memchr(p + 1, ':', (size_t)(nl - p - 1))) == NULL)
			continue;
		p++;
		n = (size_t)(nl - p);
		if (n >= sizeof(tmp))
			continue;
		memcpy(tmp, p, n);
		tmp[n] = '\0';
		if (nl - l >= 3 && memcmp(l, "0::", 3) == 0) {
			if (n >= cap)
				return -1;
			memcpy(dst, tmp, n + 1);
			return 0;
		}
		if (!found && n < cap && (cgroup_container(tmp, &k) ||
		    dst[0] == '\0')) {
			memcpy(dst, tmp, n + 1);
			found = k.kind != PCONT_NONE;
		}
	}
	return dst[0] != '\0' ? 0 : -1;
}

const char *
cgroup_kind_name(enum probe_cont_kind k)
{
	switch (k) {
	case PCONT_DOCKER: return "docker";
	case PCONT_CONTAINERD: return "containerd";
	case PCONT_PODMAN: return "podman";
	case PCONT_CRIO: return "cri-o";
	case PCONT_K8S_POD: return "kubernetes";
	case PCONT_NONE: break;
	}
	return "";
}
