/*
 * ClickHouse's answers for webd: TabSeparatedWithNamesAndTypes parsed
 * in place, and rows as JSON by their types.  No database or network
 * here (tests/fuzz/fuzz_clickhouse.c runs it on any input).  See ch.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ch.h"
#include "webd.h"

/* Unescapes a TabSeparated field in place; NULL for \N. */
static char *
unescape(char *s)
{
	char *r = s, *w = s;

	if (strcmp(s, "\\N") == 0)
		return NULL;
	for (; *r != '\0'; r++) {
		if (*r != '\\' || r[1] == '\0') {
			*w++ = *r;
			continue;
		}
		switch (*++r) {
		case 'n': *w++ = '\n'; break;
		case 't': *w++ = '\t'; break;
		case 'r': *w++ = '\r'; break;
		case 'b': *w++ = '\b'; break;
		case 'f': *w++ = '\f'; break;
		case '0': *w++ = '\0'; break;
		default: *w++ = *r; break;
		}
	}
	*w = '\0';
	return s;
}

int
ch_result_parse(struct ch_result *res, char *err, size_t errlen)
{
	char *p = res->data.p, *end = p + res->data.len, *nl, *tab;
	size_t line = 0, cap = 0, i;
	char **cells = NULL, **nc;
	int col;

	while (p < end) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		*nl = '\0';
		for (col = 0; ; col++) {
			tab = strchr(p, '\t');
			if (tab != NULL)
				*tab = '\0';
			if (line < 2) {
				if (col >= CH_COLS_MAX)
					goto bad;
				if (line == 0)
					res->name[col] = p;
				else
					res->type[col] = p;
			} else {
				if (col >= res->ncol)
					goto bad;
				i = (line - 2) * (size_t)res->ncol + (size_t)col;
				if (i >= cap) {
					cap = cap ? cap * 2 : 1024;
					if ((nc = realloc(cells, cap *
					    sizeof(*nc))) == NULL)
						goto bad;
					cells = nc;
				}
				cells[i] = unescape(p);
			}
			if (tab == NULL)
				break;
			p = tab + 1;
		}
		if (line == 0)
			res->ncol = col + 1;
		else if (col + 1 != res->ncol)
			goto bad;
		line++;
		p = nl + 1;
	}
	if (line < 2)
		goto bad;
	res->cell = cells;
	res->nrow = line - 2;
	return 0;
bad:
	free(cells);
	snprintf(err, errlen, "clickhouse: malformed answer");
	return -1;
}

void
ch_result_free(struct ch_result *res)
{
	buf_free(&res->data);
	free(res->cell);
	res->cell = NULL;
}

/* The type without Nullable(...). */
static const char *
base_type(const char *t)
{
	return strncmp(t, "Nullable(", 9) == 0 ? t + 9 : t;
}

static const char *
iface_name(const struct ch_ifaces *f, const char *id)
{
	long long v;
	size_t i;

	if (f == NULL || id == NULL)
		return NULL;
	v = strtoll(id, NULL, 10);
	for (i = 0; i < f->n; i++)
		if (f->id[i] == v)
			return f->name[i];
	return NULL;
}

/* An integer as JSON has it: -?[0-9]+, no leading zero. */
static int
int_ok(const char *v)
{
	if (*v == '-')
		v++;
	if (*v < '0' || *v > '9' || (*v == '0' && v[1] != '\0'))
		return 0;
	return strspn(v, "0123456789") == strlen(v);
}

void
ch_cell_json(struct buf *b, const char *type, const char *v)
{
	const char *t = base_type(type);

	if (v == NULL)
		buf_puts(b, "null");
	else if ((strncmp(t, "Int", 3) == 0 || strncmp(t, "UInt", 4) == 0) &&
	    int_ok(v))
		buf_puts(b, v);
	else if (strncmp(t, "Float", 5) == 0)
		json_real(b, strtod(v, NULL));
	else
		json_str(b, v, strlen(v));
}

void
ch_row_json(struct buf *b, const struct ch_result *res, size_t row,
    const struct ch_ifaces *ifs)
{
	char **cell = res->cell + row * (size_t)res->ncol;
	const char *name;
	int i, first = 1;

	buf_puts(b, "{");
	for (i = 0; i < res->ncol; i++) {
		if (res->name[i][0] == '_')
			continue;
		if (!first)
			buf_puts(b, ",");
		first = 0;
		json_str(b, res->name[i], strlen(res->name[i]));
		buf_puts(b, ":");
		if (ifs != NULL && (strcmp(res->name[i], "cli_name") == 0 ||
		    strcmp(res->name[i], "srv_name") == 0))
			ch_host_json(b, ifs, cell[i]);
		else if (ifs != NULL && strcmp(res->name[i], "iface") == 0) {
			name = iface_name(ifs, cell[i]);
			if (name != NULL)
				json_str(b, name, strlen(name));
			else
				buf_puts(b, "null");
		} else
			ch_cell_json(b, res->type[i], cell[i]);
	}
	buf_puts(b, "}");
}

void
ch_rows_json(struct buf *b, const struct ch_result *res,
    const struct ch_ifaces *ifs, int join)
{
	size_t r;
	int i, col = -1, n = 0;

	for (i = 0; i < res->ncol; i++)
		if (strcmp(res->name[i], "iface") == 0)
			col = i;
	buf_puts(b, "[");
	for (r = 0; r < res->nrow; r++) {
		if (join && col >= 0 && iface_name(ifs,
		    res->cell[r * (size_t)res->ncol + (size_t)col]) == NULL)
			continue;
		if (n++)
			buf_puts(b, ",");
		ch_row_json(b, res, r, ifs);
	}
	buf_puts(b, "]");
}

void
ch_host_json(struct buf *b, const struct ch_ifaces *f, const char *addr)
{
	const unsigned char *t;

	if (f->host == NULL || addr == NULL) {
		buf_puts(b, "null");
		return;
	}
	sqlite3_reset(f->host);
	sqlite3_bind_text(f->host, 1, addr, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(f->host) == SQLITE_ROW &&
	    (t = sqlite3_column_text(f->host, 0)) != NULL)
		json_str(b, (const char *)t,
		    (size_t)sqlite3_column_bytes(f->host, 0));
	else
		buf_puts(b, "null");
	sqlite3_reset(f->host);
}

