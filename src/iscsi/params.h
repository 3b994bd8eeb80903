/* iSCSI session and connection parameters (RFC 7143 §13) and their
 * negotiation. The index order is tgt's, which `tgtadm --op show --mode
 * target --tid N` prints. */
#ifndef MTGT_ISCSI_PARAMS_H
#define MTGT_ISCSI_PARAMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum iscsi_param {
	ISCSI_PARAM_MAX_RECV_DLENGTH,
	ISCSI_PARAM_HDRDGST,
	ISCSI_PARAM_DATADGST,
	ISCSI_PARAM_INITIAL_R2T,
	ISCSI_PARAM_MAX_OUTSTANDING_R2T,
	ISCSI_PARAM_IMMEDIATE_DATA,
	ISCSI_PARAM_FIRST_BURST,
	ISCSI_PARAM_MAX_BURST,
	ISCSI_PARAM_DATAPDU_INORDER,
	ISCSI_PARAM_DATASEQ_INORDER,
	ISCSI_PARAM_ERL,
	ISCSI_PARAM_IFMARKER,
	ISCSI_PARAM_OFMARKER,
	ISCSI_PARAM_DEFAULT_WAIT,
	ISCSI_PARAM_DEFAULT_RETAIN,
	ISCSI_PARAM_OFMARKINT,
	ISCSI_PARAM_IFMARKINT,
	ISCSI_PARAM_MAX_CONNECTIONS,
	ISCSI_PARAM_RDMA_EXTENSIONS,
	ISCSI_PARAM_TARGET_RDSL,
	ISCSI_PARAM_INITIATOR_RDSL,
	ISCSI_PARAM_MAX_OUTST_PDU,
	ISCSI_PARAM_MAX_XMIT_DLENGTH,
	ISCSI_PARAM_MAX_QUEUE_CMD,
	ISCSI_PARAM_COUNT,
};

/* Digest bit sets for HeaderDigest/DataDigest values. */
#define ISCSI_DIGEST_NONE 0x1
#define ISCSI_DIGEST_CRC32C 0x2

struct iscsi_params {
	uint32_t val[ISCSI_PARAM_COUNT];
};

/* tgt's per-target defaults. */
void iscsi_params_target_defaults(struct iscsi_params *p);
/* RFC defaults: what a connection has before and without negotiation. */
void iscsi_params_rfc_defaults(struct iscsi_params *p);
/* Ties between the values a login settled: FirstBurstLength at most
 * MaxBurstLength (RFC 7143 §13.14), whatever the order of the offers. */
void iscsi_params_settle(struct iscsi_params *p);

const char *iscsi_param_name(enum iscsi_param idx);
/* Formats a value as `show` prints it (Yes/No, None/CRC32C, numbers). */
void iscsi_param_format(enum iscsi_param idx, uint32_t val, char *buf,
			size_t size);
/* tgtadm --op update: case-insensitive name; returns false for unknown
 * names or out-of-range values, leaving p unchanged. */
bool iscsi_param_update(struct iscsi_params *p, const char *name,
			const char *value, bool *known);

/* Negotiation outcome for one key offered by the initiator. */
enum iscsi_nego_result {
	ISCSI_NEGO_ANSWERED,     /* answer written to the response */
	ISCSI_NEGO_NOT_MINE,     /* not an operational key of this table */
	/* A declaration (MaxRecvDataSegmentLength) of a value out of its
	 * range: not negotiable, so nothing to answer; a protocol error. */
	ISCSI_NEGO_BAD_DECLARATION,
};

/* Negotiates one operational key: `target` holds the target's configured
 * values, `conn` the connection's values being negotiated. Writes the
 * answer value into answer: the result, "Reject" for a value that is not
 * admissible (RFC 7143 §6.2.2), "Irrelevant" for the iSER keys, or ""
 * for a declaration, which needs no answer. The caller has checked where
 * the key may appear (keys.h). */
enum iscsi_nego_result iscsi_param_negotiate(const struct iscsi_params *target,
					     struct iscsi_params *conn,
					     const char *key, const char *value,
					     char *answer, size_t size);

/* Builder for "key=value\0" text segments (login and text responses). */
struct kv_text {
	char *buf;
	uint32_t len;
	uint32_t cap;
	bool overflow; /* a pair did not fit; the text is incomplete */
};

void kv_text_init(struct kv_text *t, uint32_t cap);
void kv_text_free(struct kv_text *t);
void kv_text_add(struct kv_text *t, const char *key, const char *value);

/* Iterates "key=value\0" pairs of a received text segment. Returns false
 * at the end. A pair without '=' yields value NULL. The segment is modified
 * in place ('=' replaced by NUL). */
bool kv_next(char **cursor, char *end, char **key, char **value);

#endif
