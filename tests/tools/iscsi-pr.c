/*
 * iscsi-pr: runs reservation commands on one LUN as one initiator port
 * (libiscsi, synchronous API), for tests that need two real initiators.
 *
 *   iscsi-pr [-n NAME] [-s ISID] [-N NAME2 -S ISID2] URL
 *            CMD [ARG...] [+ CMD ...]
 *
 * The commands run in order and print one line each: the status (GOOD,
 * RESERVATION_CONFLICT, CHECK <key>/<asc+ascq>, STATUS <hex>) and what
 * the command returned. They run on the session of -n/-s; with -N, a
 * second session is logged in as well and commands written "2:CMD" run
 * on it (both sessions stay logged in until the end, so each sees the
 * unit attentions the other causes). ISID: 12 hex digits, OUI format
 * (the first two bits zero), the only one libiscsi lets us choose.
 *
 *   tur | reserve6 | release6 | read LBA | write LBA BYTE
 *   caw LBA CMP-BYTE NEW-BYTE           one-block COMPARE AND WRITE
 *   register KEY SARK [aptpl] | register-ignore SARK [aptpl]
 *   register-spec KEY SARK NAME[,ISID]...   REGISTER with SPEC_I_PT
 *   reserve KEY TYPE | release KEY TYPE | clear KEY
 *   preempt KEY SARK TYPE | preempt-abort KEY SARK TYPE
 *   move KEY SARK NAME ISID [unreg]       REGISTER AND MOVE
 *   read-keys | read-reservation | caps | full-status
 *
 * Exit status: 0 every command was sent, 2 usage or connection error.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

#define DEFAULT_NAME	"iqn.2026-01.org.mtgt:iscsi-pr"
#define BLOCK		512
#define PARAM_LEN	24
#define TID_MAX		256

struct dev {
	struct iscsi_context *iscsi;
	int lun;
};

static void die(const char *msg, const char *arg)
{
	fprintf(stderr, "iscsi-pr: %s%s%s\n", msg, arg ? ": " : "",
		arg ? arg : "");
	exit(2);
}

static uint64_t num(const char *s)
{
	char *end;
	uint64_t v = strtoull(s, &end, 0);

	if (*s == '\0' || *end)
		die("not a number", s);
	return v;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p + 2, v & 0xffff);
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, v >> 32);
	put32(p + 4, v & 0xffffffff);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3];
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) << 32 | get32(p + 4);
}

/* Prints the status word; returns the task's data-in, or NULL. */
static struct scsi_task *run(struct dev *d, uint8_t *cdb, int cdb_len,
			     int dir, uint8_t *out, int out_len, int in_len)
{
	struct iscsi_data data = { .size = (size_t)out_len, .data = out };
	struct scsi_task *t = scsi_create_task(cdb_len, cdb, dir,
					       dir == SCSI_XFER_WRITE ? out_len
								      : in_len);

	if (!t)
		die("out of memory", NULL);
	if (!iscsi_scsi_command_sync(d->iscsi, d->lun, t,
				     dir == SCSI_XFER_WRITE ? &data : NULL))
		die("command failed", iscsi_get_error(d->iscsi));
	switch (t->status) {
	case SCSI_STATUS_GOOD:
		printf("GOOD");
		break;
	case SCSI_STATUS_RESERVATION_CONFLICT:
		printf("RESERVATION_CONFLICT");
		break;
	case SCSI_STATUS_CHECK_CONDITION:
		printf("CHECK %x/%04x", t->sense.key, t->sense.ascq);
		break;
	default:
		printf("STATUS %#x", t->status);
		break;
	}
	return t;
}

static void simple(struct dev *d, uint8_t op, int len)
{
	uint8_t cdb[16] = { op };

	scsi_free_scsi_task(run(d, cdb, len, SCSI_XFER_NONE, NULL, 0, 0));
}

static void rw(struct dev *d, bool write, uint64_t lba, int byte)
{
	uint8_t cdb[16] = { write ? 0x8a : 0x88 }, buf[BLOCK];
	struct scsi_task *t;

	put64(cdb + 2, lba);
	put32(cdb + 10, 1);
	memset(buf, byte, sizeof(buf));
	t = run(d, cdb, 16, write ? SCSI_XFER_WRITE : SCSI_XFER_READ, buf,
		BLOCK, BLOCK);
	if (!write && t->status == SCSI_STATUS_GOOD && t->datain.size > 0)
		printf(" data=%02x", t->datain.data[0]);
	scsi_free_scsi_task(t);
}

static void caw(struct dev *d, uint64_t lba, int cmp, int new)
{
	uint8_t cdb[16] = { 0x89 }, buf[2 * BLOCK];

	put64(cdb + 2, lba);
	cdb[13] = 1;
	memset(buf, cmp, BLOCK);
	memset(buf + BLOCK, new, BLOCK);
	scsi_free_scsi_task(run(d, cdb, 16, SCSI_XFER_WRITE, buf, sizeof(buf),
				0));
}

/* TransportID, format 01b with an ISID, 00b without (SPC-4 7.6.4.6). */
static int make_tid(uint8_t *p, const char *name, const char *isid)
{
	int n = isid ? snprintf((char *)p + 4, TID_MAX - 4, "%s,i,0x%s", name,
				isid)
		     : snprintf((char *)p + 4, TID_MAX - 4, "%s", name);
	int len = (4 + n + 1 + 3) & ~3;

	if (len < 24)
		len = 24;
	p[0] = (isid ? 0x40 : 0x00) | 0x05;
	put16(p + 2, (uint16_t)(len - 4));
	return len;
}

static void prout(struct dev *d, int sa, int type, uint8_t *param, int len)
{
	uint8_t cdb[10] = { 0x5f, (uint8_t)sa, (uint8_t)type };

	put32(cdb + 5, (uint32_t)len);
	scsi_free_scsi_task(run(d, cdb, 10, SCSI_XFER_WRITE, param, len, 0));
}

static void basic(struct dev *d, int sa, int type, uint64_t key,
		  uint64_t sark, uint8_t flags)
{
	uint8_t p[PARAM_LEN] = { 0 };

	put64(p, key);
	put64(p + 8, sark);
	p[20] = flags;
	prout(d, sa, type, p, sizeof(p));
}

/* REGISTER with SPEC_I_PT: ports are NAME or NAME,ISID. */
static void register_spec(struct dev *d, uint64_t key, uint64_t sark,
			  char **ports, int n)
{
	uint8_t p[28 + 8 * TID_MAX] = { 0 };
	int len = 28;

	put64(p, key);
	put64(p + 8, sark);
	p[20] = 0x08;
	for (int i = 0; i < n && i < 8; i++) {
		char *comma = strchr(ports[i], ',');

		if (comma)
			*comma = '\0';
		len += make_tid(p + len, ports[i], comma ? comma + 1 : NULL);
	}
	put32(p + 24, (uint32_t)(len - 28));
	prout(d, 0x00, 0, p, len);
}

static void move(struct dev *d, uint64_t key, uint64_t sark,
		 const char *name, const char *isid, bool unreg)
{
	uint8_t p[PARAM_LEN + TID_MAX] = { 0 };
	int n;

	put64(p, key);
	put64(p + 8, sark);
	p[17] = unreg ? 0x02 : 0;
	put16(p + 18, 1);
	n = make_tid(p + PARAM_LEN, name, isid);
	put32(p + 20, (uint32_t)n);
	prout(d, 0x07, 0, p, PARAM_LEN + n);
}

static void print_tid(const uint8_t *t)
{
	printf(" fmt=%d tid=%s", t[0] >> 6, (const char *)t + 4);
}

static void prin(struct dev *d, int sa)
{
	uint8_t cdb[10] = { 0x5e, (uint8_t)sa };
	struct scsi_task *t;
	const uint8_t *b;
	uint32_t len;

	put16(cdb + 7, 8192);
	t = run(d, cdb, 10, SCSI_XFER_READ, NULL, 0, 8192);
	b = t->datain.data;
	if (t->status != SCSI_STATUS_GOOD || t->datain.size < 8) {
		scsi_free_scsi_task(t);
		return;
	}
	len = get32(b + 4);
	if (sa == 2) {
		printf(" caps=%02x%02x%02x%02x", b[2], b[3], b[4], b[5]);
	} else {
		printf(" gen=%u", get32(b));
	}
	if (sa == 0)
		for (uint32_t o = 8; o + 8 <= 8 + len; o += 8)
			printf(" key=%#llx", (unsigned long long)get64(b + o));
	if (sa == 1)
		printf(len ? " key=%#llx type=%d" : " none",
		       (unsigned long long)get64(b + 8), b[21] & 0x0f);
	if (sa == 3) {
		for (uint32_t o = 8; o + 24 <= 8 + len;
		     o += 24 + get32(b + o + 20)) {
			printf("\n  key=%#llx holder=%d atp=%d type=%d rtpi=%d",
			       (unsigned long long)get64(b + o), b[o + 12] & 1,
			       (b[o + 12] >> 1) & 1, b[o + 13] & 0x0f,
			       b[o + 18] << 8 | b[o + 19]);
			print_tid(b + o + 24);
		}
	}
	scsi_free_scsi_task(t);
}

/* Runs the command starting at argv[0]; returns the arguments used. */
static int command(struct dev *d, int argc, char **argv)
{
	const char *c = argv[0];
	bool aptpl = argc > 1 && !strcmp(argv[argc - 1], "aptpl");

	if (argc == 0)
		die("empty command", NULL);
	if (!strcmp(c, "tur"))
		simple(d, 0x00, 6);
	else if (!strcmp(c, "reserve6"))
		simple(d, 0x16, 6);
	else if (!strcmp(c, "release6"))
		simple(d, 0x17, 6);
	else if (!strcmp(c, "read") && argc >= 2)
		rw(d, false, num(argv[1]), 0);
	else if (!strcmp(c, "write") && argc >= 3)
		rw(d, true, num(argv[1]), (int)num(argv[2]));
	else if (!strcmp(c, "caw") && argc >= 4)
		caw(d, num(argv[1]), (int)num(argv[2]), (int)num(argv[3]));
	else if (!strcmp(c, "register") && argc >= 3)
		basic(d, 0x00, 0, num(argv[1]), num(argv[2]), aptpl);
	else if (!strcmp(c, "register-ignore") && argc >= 2)
		basic(d, 0x06, 0, 0, num(argv[1]), aptpl);
	else if (!strcmp(c, "register-spec") && argc >= 4)
		register_spec(d, num(argv[1]), num(argv[2]), argv + 3,
			      argc - 3);
	else if (!strcmp(c, "reserve") && argc >= 3)
		basic(d, 0x01, (int)num(argv[2]), num(argv[1]), 0, 0);
	else if (!strcmp(c, "release") && argc >= 3)
		basic(d, 0x02, (int)num(argv[2]), num(argv[1]), 0, 0);
	else if (!strcmp(c, "clear") && argc >= 2)
		basic(d, 0x03, 0, num(argv[1]), 0, 0);
	else if (!strcmp(c, "preempt") && argc >= 4)
		basic(d, 0x04, (int)num(argv[3]), num(argv[1]), num(argv[2]), 0);
	else if (!strcmp(c, "preempt-abort") && argc >= 4)
		basic(d, 0x05, (int)num(argv[3]), num(argv[1]), num(argv[2]), 0);
	else if (!strcmp(c, "move") && argc >= 5)
		move(d, num(argv[1]), num(argv[2]), argv[3], argv[4],
		     argc > 5 && !strcmp(argv[5], "unreg"));
	else if (!strcmp(c, "read-keys"))
		prin(d, 0);
	else if (!strcmp(c, "read-reservation"))
		prin(d, 1);
	else if (!strcmp(c, "caps"))
		prin(d, 2);
	else if (!strcmp(c, "full-status"))
		prin(d, 3);
	else
		die("unknown command or missing arguments", c);
	printf("\n");
	fflush(stdout);
	return argc;
}

static void set_isid(struct iscsi_context *iscsi, const char *hex)
{
	uint64_t v;

	if (strlen(hex) != 12 || strspn(hex, "0123456789abcdefABCDEF") != 12 ||
	    !strchr("0123", hex[0]))
		die("ISID must be 12 hex digits of type 00b", hex);
	v = strtoull(hex, NULL, 16);
	/* libiscsi: OUI in the first three bytes, qualifier in the rest. */
	if (iscsi_set_isid_oui(iscsi, (uint32_t)(v >> 24) & 0xffffff,
			       (uint32_t)v & 0xffffff))
		die("cannot set ISID", hex);
}

static void connect_dev(struct dev *d, const char *name, const char *isid,
			const char *url)
{
	struct iscsi_url *u;

	d->iscsi = iscsi_create_context(name);
	if (!d->iscsi)
		die("cannot create iSCSI context", NULL);
	if (isid)
		set_isid(d->iscsi, isid);
	u = iscsi_parse_full_url(d->iscsi, url);
	if (!u)
		die("bad URL", url);
	iscsi_set_targetname(d->iscsi, u->target);
	iscsi_set_session_type(d->iscsi, ISCSI_SESSION_NORMAL);
	iscsi_set_header_digest(d->iscsi, ISCSI_HEADER_DIGEST_NONE_CRC32C);
	iscsi_set_timeout(d->iscsi, 30);
	if (iscsi_full_connect_sync(d->iscsi, u->portal, u->lun))
		die("login failed", iscsi_get_error(d->iscsi));
	d->lun = u->lun;
	iscsi_destroy_url(u);
}

#define USAGE "usage: iscsi-pr [-n NAME] [-s ISID] [-N NAME2 -S ISID2] URL CMD..."

static void disconnect_dev(struct dev *d)
{
	if (!d->iscsi)
		return;
	iscsi_logout_sync(d->iscsi);
	iscsi_destroy_context(d->iscsi);
}

int main(int argc, char **argv)
{
	const char *name[2] = { DEFAULT_NAME, NULL }, *isid[2] = { NULL };
	struct dev d[2] = { { 0 } };
	int opt, i, end;

	while ((opt = getopt(argc, argv, "+n:s:N:S:")) != -1) {
		if (opt == 'n' || opt == 'N')
			name[opt == 'N'] = optarg;
		else if (opt == 's' || opt == 'S')
			isid[opt == 'S'] = optarg;
		else
			die(USAGE, NULL);
	}
	if (argc - optind < 2)
		die(USAGE, NULL);
	connect_dev(&d[0], name[0], isid[0], argv[optind]);
	if (name[1])
		connect_dev(&d[1], name[1], isid[1], argv[optind]);
	for (i = optind + 1; i < argc; i = end + 1) {
		bool second = !strncmp(argv[i], "2:", 2);

		for (end = i; end < argc && strcmp(argv[end], "+"); end++)
			;
		if (second && !d[1].iscsi)
			die("2: needs -N", argv[i]);
		if (second)
			argv[i] += 2;
		command(&d[second], end - i, argv + i);
	}
	disconnect_dev(&d[1]);
	disconnect_dev(&d[0]);
	return 0;
}
