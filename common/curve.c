/*
 * CURVE keys on disk (common/curve.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <zmq.h>

#include "curve.h"

int
curve_key_load(const char *path, char *secret, char *public, int *created,
    char *err, size_t errlen)
{
	char buf[128];
	ssize_t n;
	int fd;

	*created = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) != -1) {
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n < 40) {
			snprintf(err, errlen, "%s: not a z85 CURVE secret key",
			    path);
			return -1;
		}
		memcpy(secret, buf, 40);
		secret[40] = '\0';
		if (zmq_curve_public(public, secret) != 0) {
			snprintf(err, errlen, "%s: bad CURVE secret key: %s",
			    path, zmq_strerror(zmq_errno()));
			return -1;
		}
		return 0;
	}
	if (errno != ENOENT) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (zmq_curve_keypair(public, secret) != 0) {
		snprintf(err, errlen, "zmq_curve_keypair: %s",
		    zmq_strerror(zmq_errno()));
		return -1;
	}
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0600)) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	n = snprintf(buf, sizeof(buf), "%s\n", secret);
	if (write(fd, buf, (size_t)n) != n) {
		snprintf(err, errlen, "%s: write: %s", path, strerror(errno));
		close(fd);
		(void)unlink(path);
		return -1;
	}
	close(fd);
	*created = 1;
	return 0;
}

int
curve_key_decode(const char *z85, unsigned char *bin)
{
	if (strlen(z85) != CURVE_KEY_Z85 - 1 ||
	    zmq_z85_decode(bin, z85) == NULL)
		return -1;
	return 0;
}
