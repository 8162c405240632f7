/*
 * Privilege drop.  See privdrop.h.
 */
#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <linux/capability.h>

#include "privdrop.h"

#define CAP_MAX_TRY	64	/* capability numbers tried in the bound */

static int	 was_root = -1;	/* set by privdrop_begin() */

/* Empties the calling thread's permitted, effective, inheritable sets. */
static int
caps_clear(void)
{
	struct __user_cap_header_struct h;
	struct __user_cap_data_struct data[2];

	memset(&h, 0, sizeof(h));
	memset(data, 0, sizeof(data));
	h.version = _LINUX_CAPABILITY_VERSION_3;
	h.pid = 0;
	return (int)syscall(SYS_capset, &h, data);
}

int
privdrop_begin(char *err, size_t errlen)
{
	int cap;

	was_root = geteuid() == 0;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1) {
		snprintf(err, errlen, "PR_SET_NO_NEW_PRIVS: %s",
		    strerror(errno));
		return -1;
	}
	if (was_root) {
		/* Needs CAP_SETPCAP, which root has until setuid. */
		for (cap = 0; cap < CAP_MAX_TRY; cap++)
			if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) == -1 &&
			    errno != EINVAL) {
				snprintf(err, errlen, "drop bounding "
				    "capability %d: %s", cap, strerror(errno));
				return -1;
			}
		return 0;
	}
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) == -1 &&
	    errno != EINVAL) {
		snprintf(err, errlen, "clear ambient capabilities: %s",
		    strerror(errno));
		return -1;
	}
	if (caps_clear() == -1) {
		snprintf(err, errlen, "capset: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* The value of "Key:" in a status file (hex or decimal), or -1. */
static long long
status_field(FILE *fp, const char *key, int hex)
{
	char line[256];
	size_t n = strlen(key);
	unsigned long long v;

	rewind(fp);
	while (fgets(line, sizeof(line), fp) != NULL)
		if (strncmp(line, key, n) == 0 && line[n] == ':' &&
		    sscanf(line + n + 1, hex ? "%llx" : "%llu", &v) == 1)
			return (long long)v;
	return -1;
}

/* 0 if every thread shows the drop, else -1 with err. */
static int
check_threads(char *err, size_t errlen)
{
	static const char *const zero[] = { "CapInh", "CapPrm", "CapEff",
	    "CapAmb", "CapBnd" };
	char path[64];
	struct dirent *de;
	DIR *dir;
	FILE *fp;
	unsigned k, nzero = was_root ? 5 : 4;
	int bad = 0, n = 0;

	if ((dir = opendir("/proc/self/task")) == NULL) {
		snprintf(err, errlen, "/proc/self/task: %s", strerror(errno));
		return -1;
	}
	while (!bad && (de = readdir(dir)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%.16s/status",
		    de->d_name);
		if ((fp = fopen(path, "r")) == NULL)
			continue;	/* the thread ended */
		for (k = 0; k < nzero && !bad; k++)
			if (status_field(fp, zero[k], 1) != 0) {
				snprintf(err, errlen, "thread %s: %s is not 0",
				    de->d_name, zero[k]);
				bad = 1;
			}
		if (!bad && status_field(fp, "NoNewPrivs", 0) != 1) {
			snprintf(err, errlen, "thread %s: NoNewPrivs is not 1",
			    de->d_name);
			bad = 1;
		}
		fclose(fp);
		n++;
	}
	closedir(dir);
	if (!bad && n == 0) {
		snprintf(err, errlen, "/proc/self/task: no thread readable");
		bad = 1;
	}
	return bad ? -1 : 0;
}

/* Root: take the user's ids. */
static int
become(const char *user, const char **who, char *err, size_t errlen)
{
	struct passwd *pw;

	if (user == NULL || *user == '\0') {
		user = PRIVDROP_DEFAULT_USER;
		if (getpwnam(user) == NULL)
			user = PRIVDROP_FALLBACK_USER;
	}
	if ((pw = getpwnam(user)) == NULL) {
		snprintf(err, errlen, "user '%s': no such user", user);
		return -1;
	}
	if (pw->pw_uid == 0 || pw->pw_gid == 0) {
		snprintf(err, errlen, "user '%s': uid or gid 0 is not a drop",
		    user);
		return -1;
	}
	*who = user;
	if (setgroups(1, &pw->pw_gid) == -1 || setgid(pw->pw_gid) == -1 ||
	    setuid(pw->pw_uid) == -1) {
		snprintf(err, errlen, "become '%s' (%u:%u): %s", user,
		    (unsigned)pw->pw_uid, (unsigned)pw->pw_gid,
		    strerror(errno));
		return -1;
	}
	return 0;
}

int
privdrop_finish(const char *user, const char **who, char *err,
    size_t errlen)
{
	static char self[32];

	if (was_root == -1) {
		snprintf(err, errlen, "privdrop_begin was not called");
		return -1;
	}
	if (was_root) {
		if (become(user, who, err, errlen) == -1)
			return -1;
	} else {
		snprintf(self, sizeof(self), "uid %u", (unsigned)getuid());
		*who = self;
	}
	if (setuid(0) == 0 || setgid(0) == 0) {
		snprintf(err, errlen, "setuid(0) or setgid(0) still works "
		    "after the drop");
		return -1;
	}
	return check_threads(err, errlen);
}
