/* iSCSI PDU layout (RFC 7143 §11): opcodes, Basic Header Segment field
 * offsets and accessors. Pure functions on byte buffers; no state. */
#ifndef MTGT_ISCSI_PDU_H
#define MTGT_ISCSI_PDU_H

#include <stdbool.h>
#include <stdint.h>

#include "common/byteorder.h"

#define ISCSI_BHS_LEN 48

/* Initiator opcodes */
#define ISCSI_OP_NOP_OUT 0x00
#define ISCSI_OP_SCSI_CMD 0x01
#define ISCSI_OP_TMF_REQ 0x02
#define ISCSI_OP_LOGIN_REQ 0x03
#define ISCSI_OP_TEXT_REQ 0x04
#define ISCSI_OP_DATA_OUT 0x05
#define ISCSI_OP_LOGOUT_REQ 0x06
#define ISCSI_OP_SNACK 0x10
/* Target opcodes */
#define ISCSI_OP_NOP_IN 0x20
#define ISCSI_OP_SCSI_RSP 0x21
#define ISCSI_OP_TMF_RSP 0x22
#define ISCSI_OP_LOGIN_RSP 0x23
#define ISCSI_OP_TEXT_RSP 0x24
#define ISCSI_OP_DATA_IN 0x25
#define ISCSI_OP_LOGOUT_RSP 0x26
#define ISCSI_OP_R2T 0x31
#define ISCSI_OP_ASYNC 0x32
#define ISCSI_OP_REJECT 0x3f

#define ISCSI_OPCODE_MASK 0x3f
#define ISCSI_FLAG_IMMEDIATE 0x40 /* byte 0 */
#define ISCSI_FLAG_FINAL 0x80     /* byte 1 */

/* SCSI Command byte 1 */
#define ISCSI_CMD_READ 0x40
#define ISCSI_CMD_WRITE 0x20
#define ISCSI_CMD_ATTR_MASK 0x07

/* Login byte 1 */
#define ISCSI_LOGIN_TRANSIT 0x80
#define ISCSI_LOGIN_CONTINUE 0x40
#define ISCSI_LOGIN_CSG(b) (((b) >> 2) & 3)
#define ISCSI_LOGIN_NSG(b) ((b) & 3)
/* Text Request/Response byte 1 (besides F) */
#define ISCSI_TEXT_CONTINUE 0x40
#define ISCSI_STAGE_SECURITY 0
#define ISCSI_STAGE_OPERATIONAL 1
#define ISCSI_STAGE_FULL_FEATURE 3

/* Login status (class << 8 | detail) */
#define ISCSI_LOGIN_OK 0x0000
#define ISCSI_LOGIN_INITIATOR_ERROR 0x0200
#define ISCSI_LOGIN_AUTH_FAILED 0x0201
#define ISCSI_LOGIN_FORBIDDEN 0x0202
#define ISCSI_LOGIN_NOT_FOUND 0x0203
#define ISCSI_LOGIN_TARGET_REMOVED 0x0204
#define ISCSI_LOGIN_UNSUPPORTED_VERSION 0x0205
#define ISCSI_LOGIN_TOO_MANY_CONNECTIONS 0x0206
#define ISCSI_LOGIN_MISSING_PARAMETER 0x0207
#define ISCSI_LOGIN_NO_SESSION_SPANNING 0x0208
#define ISCSI_LOGIN_SESSION_TYPE_UNSUPPORTED 0x0209
#define ISCSI_LOGIN_SESSION_NOT_FOUND 0x020a
#define ISCSI_LOGIN_INVALID_REQUEST 0x020b
#define ISCSI_LOGIN_TARGET_ERROR 0x0300
#define ISCSI_LOGIN_SERVICE_UNAVAILABLE 0x0301
#define ISCSI_LOGIN_OUT_OF_RESOURCES 0x0302

/* Reject reasons */
#define ISCSI_REJECT_DATA_DIGEST 0x02
#define ISCSI_REJECT_SNACK 0x03
#define ISCSI_REJECT_PROTOCOL_ERROR 0x04
#define ISCSI_REJECT_CMD_NOT_SUPPORTED 0x05
#define ISCSI_REJECT_IMMEDIATE_REJECTED 0x06
#define ISCSI_REJECT_TASK_IN_PROGRESS 0x07
#define ISCSI_REJECT_INVALID_DATA_ACK 0x08
#define ISCSI_REJECT_INVALID_PDU_FIELD 0x09
#define ISCSI_REJECT_OUT_OF_RESOURCES 0x0a
#define ISCSI_REJECT_WAITING_FOR_LOGOUT 0x0c

/* SCSI Response byte 2 (response) and byte 1 flags */
#define ISCSI_RSP_COMPLETED 0x00
#define ISCSI_RSP_TARGET_FAILURE 0x01
#define ISCSI_RSP_FLAG_UNDERFLOW 0x02
#define ISCSI_RSP_FLAG_OVERFLOW 0x04
/* Data-In byte 1 */
#define ISCSI_DATAIN_STATUS 0x01

#define ISCSI_RESERVED_TAG 0xffffffffu

static inline uint8_t pdu_opcode(const uint8_t *bhs)
{
	return bhs[0] & ISCSI_OPCODE_MASK;
}

static inline bool pdu_immediate(const uint8_t *bhs)
{
	return bhs[0] & ISCSI_FLAG_IMMEDIATE;
}

static inline bool pdu_final(const uint8_t *bhs)
{
	return bhs[1] & ISCSI_FLAG_FINAL;
}

/* TotalAHSLength in bytes (the field counts 4-byte words). */
static inline uint32_t pdu_ahs_len(const uint8_t *bhs)
{
	return (uint32_t)bhs[4] * 4;
}

static inline uint32_t pdu_data_len(const uint8_t *bhs)
{
	return get_be24(bhs + 5);
}

static inline void pdu_set_data_len(uint8_t *bhs, uint32_t len)
{
	bhs[4] = 0;
	put_be24(bhs + 5, len);
}

static inline uint32_t pdu_pad(uint32_t len)
{
	return (4 - (len & 3)) & 3;
}

static inline uint32_t pdu_itt(const uint8_t *bhs)
{
	return get_be32(bhs + 16);
}

/* Field offsets shared by most PDUs */
#define PDU_LUN 8
#define PDU_ITT 16
#define PDU_TTT 20      /* also SCSI Command's expected data length */
#define PDU_EDTL 20
#define PDU_CMDSN 24    /* request; StatSN in responses */
#define PDU_STATSN 24
#define PDU_EXPSTATSN 28 /* request; ExpCmdSN in responses */
#define PDU_EXPCMDSN 28
#define PDU_MAXCMDSN 32
#define PDU_DATASN 36   /* Data-In/Out, R2T (R2TSN) */
#define PDU_BUFOFF 40   /* Data-In/Out buffer offset, R2T too */
#define PDU_RESIDUAL 44 /* Data-In, SCSI Response */
#define PDU_R2T_LEN 44  /* R2T desired data transfer length */
#define PDU_CDB 32

/* Serial number arithmetic (RFC 1982, 32-bit) used for CmdSN/StatSN. */
static inline bool sn_lt(uint32_t a, uint32_t b)
{
	return a != b && (int32_t)(a - b) < 0;
}

static inline bool sn_gt(uint32_t a, uint32_t b)
{
	return a != b && (int32_t)(a - b) > 0;
}

#endif
