/* The iSCSI side of a target: its configured parameters and sessions. */
#include <stdlib.h>

#include "iscsi/iscsi.h"

struct iscsi_target *iscsi_target_new(struct target *t)
{
	struct iscsi_target *itgt = calloc(1, sizeof(*itgt));

	if (!itgt)
		return NULL;
	itgt->target = t;
	iscsi_params_target_defaults(&itgt->params);
	list_init(&itgt->sessions);
	return itgt;
}

void iscsi_target_free(struct iscsi_target *itgt)
{
	free(itgt);
}

/* Target thread, lock held: close every connection; sessions go with
 * their last connection. */
void iscsi_target_close_all(struct iscsi_target *itgt)
{
	while (!list_empty(&itgt->sessions)) {
		struct iscsi_session *sess = list_first_entry(
			&itgt->sessions, struct iscsi_session, node);
		struct iscsi_conn *conn = list_first_entry(
			&sess->conns, struct iscsi_conn, session_node);

		iscsi_conn_close(conn);
	}
}
