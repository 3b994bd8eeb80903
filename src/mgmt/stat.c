/* Statistics text, byte-compatible with tgt (spec §4.9). */
#include "mgmt/stat.h"

#include "iscsi/iscsi.h"
#include "target/registry.h"

static void lu_header(struct strbuf *out)
{
	strbuf_printf(out, "tgt lun sid rd_subm(bytes,cmds) "
			   "rd_done(bytes,cmds) wr_subm(bytes,cmds) "
			   "wr_done(bytes,cmds) errs\n");
}

static void lu_line(int tid, const struct scsi_lu *lu, uint64_t sid,
		    struct strbuf *out)
{
	const struct lu_stats *s = &lu->stats;

	strbuf_printf(out,
		      "%3d %3llu %3llu %12llu %6u %12llu %6u %12llu %6u "
		      "%12llu %6u %4u\n",
		      tid, (unsigned long long)lu->lun,
		      (unsigned long long)sid,
		      (unsigned long long)s->rd_subm_bytes, s->rd_subm_cmds,
		      (unsigned long long)s->rd_done_bytes, s->rd_done_cmds,
		      (unsigned long long)s->wr_subm_bytes, s->wr_subm_cmds,
		      (unsigned long long)s->wr_done_bytes, s->wr_done_cmds,
		      s->errors);
}

/* One line per I_T nexus, in creation order. Lock held. */
static void lu_lines(struct target *t, const struct scsi_lu *lu,
		     struct strbuf *out)
{
	struct it_nexus *nexus;

	list_for_each_entry(nexus, &t->nexuses, node)
		lu_line(t->tid, lu, nexus->id, out);
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

static void conn_line(const struct iscsi_session *sess,
		      const struct iscsi_conn *c, struct strbuf *out)
{
	strbuf_printf(out, "%3d %3d %13llu %13llu %12u %11u %8u %8u\n",
		      (int)sess->tsih, (int)c->cid,
		      (unsigned long long)c->rx_octets,
		      (unsigned long long)c->tx_octets, c->dataout_pdus,
		      c->datain_pdus, c->cmd_pdus, c->rsp_pdus);
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

/* LUN lines newest LUN first: tgt lists a nexus's LUNs in the reverse
 * of the order it learnt them, which is descending LUN for the LUNs that
 * existed when the session began. */
enum tgtadm_err stat_session(uint64_t sid, struct strbuf *out)
{
	struct target *t;
	struct iscsi_session *sess = session_lock(sid, &t);
	struct scsi_lu *lu;
	struct iscsi_conn *c;

	if (!sess)
		return TGTADM_NO_SESSION;
	lu_header(out);
	list_for_each_entry_reverse(lu, &t->lus, node)
		lu_line(t->tid, lu, sess->tsih, out);
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
