/* common/config: the directive table, file parsing and overrides. */
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/config.h"
#include "t.h"

struct settings {
	char		datadir[128];
	long long	flush;
	long long	cache;
	int		wal;
	struct conf_list iface;
};

static const struct conf_directive table[] = {
	{ "datadir", CONF_STR, offsetof(struct settings, datadir),
	  sizeof(((struct settings *)0)->datadir), "/var/lib/evflow", 0, 0,
	  "data directory" },
	{ "store.flush", CONF_SECONDS, offsetof(struct settings, flush), 0,
	  "1s", 1, 3600, "flush period" },
	{ "store.cache", CONF_BYTES, offsetof(struct settings, cache), 0,
	  "64M", 0, 0, "cache" },
	{ "store.wal", CONF_BOOL, offsetof(struct settings, wal), 0, "yes",
	  0, 0, "WAL" },
	{ "interface", CONF_LIST, offsetof(struct settings, iface), 0, NULL,
	  0, 0, "interfaces" },
	{ NULL, 0, 0, 0, NULL, 0, 0, NULL }
};

int
main(void)
{
	struct settings *s = calloc(1, sizeof(*s));
	char err[256], path[] = "/tmp/evflow-conf-XXXXXX";
	FILE *fp;
	int fd;

	CHECK(conf_defaults(table, s, err, sizeof(err)) == 0);
	CHECK_STR(s->datadir, "/var/lib/evflow");
	CHECK_EQ_U(s->flush, 1);
	CHECK_EQ_U(s->cache, 64 * 1024 * 1024);
	CHECK_EQ_U(s->wal, 1);
	CHECK_EQ_U(s->iface.n, 0);

	fd = mkstemp(path);
	CHECK(fd != -1);
	fp = fdopen(fd, "w");
	fprintf(fp, "# comment\n\ndatadir = \"/tmp/x y\"\nstore.flush=2m\n"
	    "interface = tcp://*:1234c\ninterface = eth0\n"
	    "collector.rcvbuf = 8M\nmirrored = eth0\nstore.wal = off\n");
	fclose(fp);
	CHECK(conf_load_file(table, s, path, err, sizeof(err)) == 0);
	CHECK_STR(s->datadir, "/tmp/x y");
	CHECK_EQ_U(s->flush, 120);
	CHECK_EQ_U(s->wal, 0);
	CHECK_EQ_U(s->iface.n, 2);
	CHECK_STR(s->iface.item[1], "eth0");

	/* Errors name the file and line. */
	fp = fopen(path, "w");
	fprintf(fp, "datadir = /a\nstore.bogus = 1\n");
	fclose(fp);
	CHECK(conf_load_file(table, s, path, err, sizeof(err)) == -1);
	CHECK(strstr(err, ":2: unknown key 'store.bogus'") != NULL);
	fp = fopen(path, "w");
	fprintf(fp, "store.flush = 2h\n");
	fclose(fp);
	CHECK(conf_load_file(table, s, path, err, sizeof(err)) == -1);
	CHECK(strstr(err, "out of range") != NULL);
	unlink(path);

	CHECK(conf_set_arg(table, s, "store.cache=1G", err, sizeof(err)) == 0);
	CHECK_EQ_U(s->cache, 1073741824LL);
	CHECK(conf_set_arg(table, s, "store.wal=maybe", err, sizeof(err)) == -1);
	CHECK(conf_set_arg(table, s, "nokey", err, sizeof(err)) == -1);
	CHECK(conf_set_arg(table, s, "bogus=1", err, sizeof(err)) == -1);
	CHECK(conf_load_file(table, s, "/nonexistent/x", err, sizeof(err)) == -1);
	/* conf_apply: defaults < file < -o < -d; errors name the option. */
	{
		const char *over[] = { "datadir=/from/o", "store.flush=5" };
		const char *bad[] = { "store.flush=0" };

		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		CHECK(fd != -1);
		CHECK(write(fd, "datadir = /from/file\nstore.wal = no\n", 36)
		    == 36);
		close(fd);
		CHECK(conf_apply(table, s, path, over, 2, NULL, NULL, err,
		    sizeof(err)) == 0);
		CHECK_STR(s->datadir, "/from/o");
		CHECK_EQ_U(s->flush, 5);
		CHECK_EQ_U(s->wal, 0);
		CHECK_EQ_U(s->iface.n, 0);
		CHECK(conf_apply(table, s, path, over, 2, "/from/d", NULL, err,
		    sizeof(err)) == 0);
		CHECK_STR(s->datadir, "/from/d");
		CHECK(conf_apply(table, s, NULL, bad, 1, NULL, NULL, err,
		    sizeof(err)) == -1);
		CHECK(strncmp(err, "-o store.flush", 14) == 0);
		/* A -d value longer than its field is refused, and says so. */
		{
			char longdir[200];

			memset(longdir, 'd', sizeof(longdir) - 1);
			longdir[sizeof(longdir) - 1] = '\0';
			CHECK(conf_apply(table, s, NULL, NULL, 0, longdir, NULL,
			    err, sizeof(err)) == -1);
			CHECK(strncmp(err, "-d datadir", 10) == 0);
		}
		unlink(path);
	}
	free(s);
	return t_done("test_config");
}
