/* Statistics text, byte-compatible with tgt (spec §4.9). The counters
 * are per LU and I_T nexus (scsi/stats.c) and the connection's; both are
 * read under the target lock, which the target loop holds while it
 * counts (DESIGN.md rules 1 and 8). */
#include "mgmt/stat.h"

#include "iscsi/iscsi.h"
#include "target/registry.h"

static void lu_header(struct strbuf *out)
{
	strbuf_printf(out, "tgt lun sid rd_subm(bytes,cmds) "
			   "rd_done(bytes,cmds) wr_subm(bytes,cmds) "
			   "wr_done(bytes,cmds) errs\n");
}

static void itl_line(int tid, uint64_t sid, const struct scsi_itl_stats *s,
		     struct strbuf *out)
{
	const struct itl_counters *n = &s->n;

	strbuf_printf(out,
		      "%3d %3llu %3llu %12llu %6u %12llu %6u %12llu %6u "
		      "%12llu %6u %4u\n",
		      tid, (unsigned long long)s->lun,
		      (unsigned long long)sid,
		      (unsigned long long)n->rd_subm_bytes, n->rd_subm_cmds,
		      (unsigned long long)n->rd_done_bytes, n->rd_done_cmds,
		      (unsigned long long)n->wr_subm_bytes, n->wr_subm_cmds,
		      (unsigned long long)n->wr_done_bytes, n->wr_done_cmds,
		      n->errors);
}

/* One line per I_T nexus, in creation order. Lock held. */
static void lu_lines(struct target *t, const struct scsi_lu *lu,
		     struct strbuf *out)
{
	struct it_nexus *nexus;

	list_for_each_entry(nexus, &t->nexuses, node) {
		const struct scsi_itl_stats *s = scsi_stats_find(nexus, lu);

		if (s)
			itl_line(t->tid, nexus->id, s, out);
	}
}

static void target_lines(struct target *t, struct strbuf *out)
{
	struct scsi_lu *lu;

	target_lock(t);
	list_for_each_entry(lu, &t->lus, node)
		lu_lines(t, lu, out);
	target_unlock(t);
}

void stat_system(struct strbuf *out)
{
	struct target *t;

	lu_header(out);
	list_for_each_entry(t, target_list(), node)
		target_lines(t, out);
}

void stat_target(struct target *t, struct strbuf *out)
{
	lu_header(out);
	target_lines(t, out);
}

enum tgtadm_err stat_lu(int tid, uint64_t lun, struct strbuf *out)
{
	struct target *t = target_find(tid);
	struct scsi_lu *lu;

	if (!t)
		return TGTADM_NO_TARGET;
	target_lock(t);
	lu = target_find_lu(t, lun);
	if (lu) {
		lu_header(out);
		lu_lines(t, lu, out);
	}
	target_unlock(t);
	return lu ? TGTADM_SUCCESS : TGTADM_NO_LUN;
}

static void conn_header(struct strbuf *out)
{
	strbuf_printf(out, "sid cid rxdata_octets txdata_octets dataout_pdus "
			   "datain_pdus cmd_pdus rsp_pdus\n");
}

/* datain_pdus and rsp_pdus are always 0: tgt 1.0.85 classifies each PDU
 * it sends by the opcode of the last one it received, which is never
 * Data-In or SCSI Response, so it never counts them (spec §4.9). */
static void conn_line(const struct iscsi_session *sess,
		      const struct iscsi_conn *c, struct strbuf *out)
{
	strbuf_printf(out, "%3d %3d %13llu %13llu %12u %11u %8u %8u\n",
		      (int)sess->tsih, (int)c->cid,
		      (unsigned long long)c->rx_octets,
		      (unsigned long long)c->tx_octets, c->dataout_pdus, 0u,
		      c->cmd_pdus, 0u);
}

/* Finds session sid in some target and returns with that target locked.
 * tgt keeps only the low 16 bits of the id (a TSIH). */
static struct iscsi_session *session_lock(uint64_t sid, struct target **tp)
{
	uint16_t tsih = (uint16_t)sid;
	struct target *t;

	list_for_each_entry(t, target_list(), node) {
		struct iscsi_session *sess;

		target_lock(t);
		sess = tsih ? iscsi_session_find_tsih(t->iscsi, tsih) : NULL;
		if (sess) {
			*tp = t;
			return sess;
		}
		target_unlock(t);
	}
	return NULL;
}

/* The session's LUN lines newest LU first, as tgt lists a nexus's LUs:
 * descending LUN for those there when the session began, then each LU
 * added since before them. */
enum tgtadm_err stat_session(uint64_t sid, struct strbuf *out)
{
	struct target *t;
	struct iscsi_session *sess = session_lock(sid, &t);
	const struct scsi_itl_stats *s;
	struct iscsi_conn *c;

	if (!sess)
		return TGTADM_NO_SESSION;
	lu_header(out);
	list_for_each_entry(s, &sess->nexus.itl_stats, node)
		itl_line(t->tid, sess->tsih, s, out);
	if (!list_empty(&sess->conns)) {
		strbuf_printf(out, "\n");
		conn_header(out);
	}
	list_for_each_entry(c, &sess->conns, session_node)
		conn_line(sess, c, out);
	target_unlock(t);
	return TGTADM_SUCCESS;
}

enum tgtadm_err stat_connection(uint64_t sid, uint32_t cid,
				struct strbuf *out)
{
	struct target *t;
	struct iscsi_session *sess = session_lock(sid, &t);
	struct iscsi_conn *c, *found = NULL;

	if (!sess)
		return TGTADM_NO_SESSION;
	list_for_each_entry(c, &sess->conns, session_node)
		if (c->cid == cid)
			found = c;
	if (found) {
		conn_header(out);
		conn_line(sess, found, out);
	}
	target_unlock(t);
	return found ? TGTADM_SUCCESS : TGTADM_NO_CONNECTION;
}
