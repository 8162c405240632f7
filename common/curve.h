/*
 * CURVE keys on disk, for the daemons that speak ZMQ with CURVE (the
 * collector as a server for producers, the relay at both ends of the
 * hop between hosts).  Only programs that link libzmq use it.
 */
#ifndef EVFLOW_CURVE_H
#define EVFLOW_CURVE_H

#include <stddef.h>

#define CURVE_KEY_Z85	41	/* a z85 key and its NUL */

/*
 * Loads the CURVE secret key from `path`, or creates a key pair there
 * (mode 0600) if the file is missing.  Fills the z85 secret and public
 * keys (CURVE_KEY_Z85 bytes each).  *created tells whether it was
 * generated.  Returns 0 or -1 with err.
 */
int	curve_key_load(const char *, char *, char *, int *, char *, size_t);
/* 0 if `z85` is a 40-character z85 key (then `bin` has its 32 bytes),
 * else -1. */
int	curve_key_decode(const char *, unsigned char *);

#endif
