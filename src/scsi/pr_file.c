/* Persist Through Power Loss (SPC-4 5.13.5): while the last valid APTPL
 * bit is one, a LU's registrations and reservation live in a file, so
 * that a daemon restart that recreates the same LUN of the same target
 * finds them again.
 *
 * Where: <state dir>/<target name>,lun<N>.pr, the state directory being
 * tgtd's --pr-state-dir (default /var/lib/mtgt/pr, created on first
 * use). Characters of the target name other than letters, digits and
 * ".:-_" are written as %XX; a name too long for a file name is cut and
 * completed with a hash of the whole name.
 *
 * How: a short text file, written to "<file>.tmp", fsync'ed, renamed
 * over the file and the directory fsync'ed, so that a crash leaves the
 * old or the new state, never a mix. Without registrations, or once the
 * last APTPL bit is zero, the file is removed. The write happens on the
 * LU's save worker (pr_save.c) when a PERSISTENT RESERVE OUT changes the
 * state, and the command does not report GOOD before it is durable.
 *
 *   mtgt-pr 1
 *   generation 7
 *   type 5
 *   reg 0000000000abcdef HA 400001370000 iqn.1994-05.com.redhat:node1
 *
 * A reg line: key (hex), flags (H holder, A all target ports, - none),
 * ISID (hex, or * for a name-only registration), initiator name. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "scsi/pr.h"

#define FILE_MAGIC "mtgt-pr 1"
#define NAME_KEEP_MAX 180 /* escaped name bytes kept before the hash */

static uint64_t fnv1a(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 0x100000001b3ull;
	return h;
}

static bool keep_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '.' || c == ':' || c == '-' ||
	       c == '_';
}

char *pr_file_path(const char *dir, const char *target_name, uint64_t lun)
{
	char esc[3 * 224 + 1], *path;
	size_t n = 0;

	for (const char *c = target_name; *c && n < sizeof(esc) - 4; c++) {
		if (keep_char(*c))
			esc[n++] = *c;
		else
			n += (size_t)sprintf(esc + n, "%%%02X", (uint8_t)*c);
	}
	esc[n] = '\0';
	if (n > NAME_KEEP_MAX)
		sprintf(esc + NAME_KEEP_MAX, "~%016" PRIx64,
			fnv1a(target_name));
	if (asprintf(&path, "%s/%s,lun%" PRIu64 ".pr", dir, esc, lun) < 0)
		return NULL;
	return path;
}

/* mkdir -p of the directory that holds path. */
static int make_dirs(const char *path)
{
	char *dir = strdup(path);
	int ret = 0;

	if (!dir)
		return -ENOMEM;
	*strrchr(dir, '/') = '\0';
	for (char *p = dir + 1; ret == 0; p++) {
		bool end = *p == '\0';

		if (*p != '/' && !end)
			continue;
		*p = '\0';
		if (mkdir(dir, 0700) < 0 && errno != EEXIST)
			ret = -errno;
		if (end)
			break;
		*p = '/';
	}
	free(dir);
	return ret;
}

static int sync_dir_of(const char *path)
{
	char *dir = strdup(path);
	int fd, ret = 0;

	if (!dir)
		return -ENOMEM;
	*strrchr(dir, '/') = '\0';
	fd = open(*dir ? dir : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) < 0)
		ret = -errno;
	if (fd >= 0)
		close(fd);
	free(dir);
	return ret;
}

static void write_reg(FILE *f, const struct pr_reg *r)
{
	const uint8_t *id = r->port.isid;
	char flags[3];
	int n = 0;

	if (r->holder)
		flags[n++] = 'H';
	if (r->all_tg_pt)
		flags[n++] = 'A';
	if (n == 0)
		flags[n++] = '-';
	flags[n] = '\0';
	fprintf(f, "reg %016" PRIx64 " %s ", r->key, flags);
	if (r->port.any_isid)
		fprintf(f, "* ");
	else
		fprintf(f, "%02x%02x%02x%02x%02x%02x ", id[0], id[1], id[2],
			id[3], id[4], id[5]);
	fprintf(f, "%s\n", r->port.name);
}

static int write_state(int fd, const struct pr_state *st)
{
	FILE *f = fdopen(fd, "w");
	int ret = 0;

	if (!f) {
		close(fd);
		return -errno;
	}
	fprintf(f, FILE_MAGIC "\ngeneration %" PRIu32 "\ntype %u\n",
		st->generation, st->type);
	for (unsigned i = 0; i < st->nr; i++)
		write_reg(f, &st->regs[i]);
	if (fflush(f) != 0 || fsync(fileno(f)) < 0)
		ret = -errno;
	if (fclose(f) != 0 && ret == 0)
		ret = -errno;
	return ret;
}

static int remove_file(const char *path)
{
	if (unlink(path) < 0)
		return errno == ENOENT ? 0 : -errno;
	return sync_dir_of(path);
}

int pr_file_save(const char *path, const struct pr_state *st)
{
	char *tmp;
	int fd, ret;

	if (!st->aptpl || st->nr == 0)
		return remove_file(path);
	ret = make_dirs(path);
	if (ret < 0 || asprintf(&tmp, "%s.tmp", path) < 0)
		return ret < 0 ? ret : -ENOMEM;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ret = fd < 0 ? -errno : write_state(fd, st);
	if (ret == 0 && rename(tmp, path) < 0)
		ret = -errno;
	if (ret == 0)
		ret = sync_dir_of(path);
	else
		unlink(tmp);
	free(tmp);
	return ret;
}

static bool parse_flags(const char *s, struct pr_reg *r)
{
	for (; *s; s++) {
		if (*s == 'H')
			r->holder = true;
		else if (*s == 'A')
			r->all_tg_pt = true;
		else if (*s != '-')
			return false;
	}
	return true;
}

static bool parse_isid_field(const char *s, struct pr_port *port)
{
	unsigned v[6];

	if (!strcmp(s, "*")) {
		port->any_isid = true;
		return true;
	}
	if (strlen(s) != 12 || sscanf(s, "%2x%2x%2x%2x%2x%2x", &v[0], &v[1],
				      &v[2], &v[3], &v[4], &v[5]) != 6)
		return false;
	for (int i = 0; i < 6; i++)
		port->isid[i] = (uint8_t)v[i];
	return true;
}

static bool parse_reg(const char *line, struct pr_state *st)
{
	char flags[8], isid[16], name[SCSI_NAME_MAX];
	struct pr_reg r;

	memset(&r, 0, sizeof(r));
	if (sscanf(line, "reg %" SCNx64 " %7s %15s %223s", &r.key, flags,
		   isid, name) != 4)
		return false;
	if (!parse_flags(flags, &r) || !parse_isid_field(isid, &r.port))
		return false;
	snprintf(r.port.name, sizeof(r.port.name), "%s", name);
	if (!pr_add(st, &r.port, r.key, r.all_tg_pt))
		return false;
	st->regs[st->nr - 1].holder = r.holder;
	return true;
}

static bool parse_line(const char *line, struct pr_state *st)
{
	unsigned type;

	if (sscanf(line, "generation %" SCNu32, &st->generation) == 1)
		return true;
	if (sscanf(line, "type %u", &type) == 1) {
		st->type = (uint8_t)type;
		return type == PR_TYPE_NONE || pr_type_valid((uint8_t)type);
	}
	return parse_reg(line, st);
}

/* A holder flag only makes sense for a reservation that has one. */
static bool consistent(const struct pr_state *st)
{
	unsigned holders = 0;

	for (unsigned i = 0; i < st->nr; i++)
		holders += st->regs[i].holder;
	if (st->type == PR_TYPE_NONE || pr_all_registrants(st->type))
		return holders == 0;
	return holders == 1;
}

int pr_file_load(const char *path, struct pr_state *st)
{
	FILE *f = fopen(path, "re");
	char line[512];
	bool ok;

	pr_state_clear(st);
	if (!f)
		return errno == ENOENT ? 0 : -errno;
	ok = fgets(line, sizeof(line), f) &&
	     !strncmp(line, FILE_MAGIC "\n", sizeof(FILE_MAGIC));
	while (ok && fgets(line, sizeof(line), f))
		ok = parse_line(line, st);
	fclose(f);
	if (!ok || !consistent(st)) {
		pr_state_clear(st);
		return -EINVAL;
	}
	st->aptpl = true;
	return 0;
}
