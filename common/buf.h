/*
 * A growable text buffer for building replies (JSON, Prometheus text).
 * buf_* functions never fail silently: on allocation failure the buffer
 * is marked and buf_ok() returns 0; the caller checks once at the end.
 */
#ifndef EVFLOW_BUF_H
#define EVFLOW_BUF_H

#include <stddef.h>
#include <stdint.h>

struct buf {
	char	*p;		/* NUL-terminated when len > 0 */
	size_t	 len;
	size_t	 cap;
	int	 failed;
};

void	buf_init(struct buf *);
void	buf_free(struct buf *);
void	buf_reset(struct buf *);
int	buf_ok(const struct buf *);
void	buf_add(struct buf *, const void *, size_t);
void	buf_puts(struct buf *, const char *);
void	buf_printf(struct buf *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
/* Appends `s` as a JSON string literal, quotes included. */
void	buf_json_str(struct buf *, const char *);
void	buf_json_strn(struct buf *, const char *, size_t);

#endif
