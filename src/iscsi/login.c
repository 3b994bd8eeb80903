/* Login phase (RFC 7143 §6): security negotiation (AuthMethod None, or
 * CHAP when the target or discovery has incoming accounts bound) and
 * operational negotiation on the main loop, then the connection is handed
 * to its target's loop, which starts or joins its session (session.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "iscsi/chap.h"
#include "iscsi/iscsi.h"
#include "iscsi/keys.h"
#include "target/registry.h"

enum login_auth {
	AUTH_UNDECIDED,
	AUTH_NONE,
	AUTH_CHAP,
};

/* Login state of one connection; main thread only. */
struct iscsi_login {
	bool started;
	uint8_t csg;           /* current stage */
	enum login_auth auth;
	bool authenticated;    /* the chosen AuthMethod has succeeded */
	struct chap chap;
	bool declared_mrdsl;   /* our MaxRecvDataSegmentLength was sent */
	bool sent_tpgt;
	bool discovery;
	uint8_t isid[6];
	uint16_t tsih;         /* as sent by the initiator: 0, or the session
				* this connection joins */
	uint16_t new_tsih;     /* allocated for a new session */
	/* The target whose session slot this login holds (session_limit.c):
	 * set with the final Login Response of a new session, handed to the
	 * session when it starts. */
	struct iscsi_target *slot_of;
	uint32_t itt;
	uint32_t cmdsn;
	char initiator[ISCSI_NAME_MAX];
	char alias[ISCSI_NAME_MAX];
	char target_name[ISCSI_NAME_MAX];
	/* The target, by id: it may be deleted while the login is still
	 * going on, so it is looked up again whenever it is used. */
	int tid;
	struct iscsi_params neg; /* values being negotiated */
	struct iscsi_params offer; /* the target's configured values */
	struct key_seen seen;  /* keys offered so far, names excepted */
	uint8_t names_declared; /* bit per enum login_name */
	char *text;            /* text of C=1 PDUs not yet complete */
	uint32_t text_len;
};

void iscsi_login_free(struct iscsi_conn *conn)
{
	if (!conn->login)
		return;
	/* A login abandoned after its TSIH was allocated gives it back;
	 * a finished one has handed it to its session. */
	if (conn->login->new_tsih)
		registry_free_tsih(conn->login->new_tsih);
	/* Likewise a login that ends between its reservation and the start
	 * of its session: its slot goes back to the target. */
	if (conn->login->slot_of)
		iscsi_session_slot_put(&conn->login->slot_of->sessions_held);
	free(conn->login->text);
	key_seen_free(&conn->login->seen);
	free(conn->login);
	conn->login = NULL;
}

static struct iscsi_login *login_state(struct iscsi_conn *conn)
{
	if (!conn->login) {
		conn->login = calloc(1, sizeof(*conn->login));
		if (conn->login) {
			iscsi_params_rfc_defaults(&conn->login->neg);
			/* Discovery sessions negotiate against defaults. */
			iscsi_params_target_defaults(&conn->login->offer);
		}
	}
	return conn->login;
}

/* The command window a new session starts with: tgt's MaxQueueCmd,
 * clamped to 128 as tgt does; one command for discovery. */
/* The target being logged in to, if it still exists. Main thread. */
static struct target *login_target(const struct iscsi_login *login)
{
	struct target *t = login->tid ? target_find(login->tid) : NULL;

	if (t && strcmp(t->name, login->target_name))
		return NULL; /* deleted and its tid reused */
	return t;
}

static uint32_t login_window(const struct iscsi_login *login)
{
	uint32_t depth = login->offer.val[ISCSI_PARAM_MAX_QUEUE_CMD];

	if (login->discovery || !login->tid)
		return 1;
	return depth > 128 ? 128 : depth;
}

/* RFC 7143 §11.13.4: a new session's TSIH goes out only in the final
 * Login Response; otherwise the initiator's is echoed. */
static uint16_t rsp_tsih(const struct iscsi_login *login, uint8_t flags,
			 uint16_t status)
{
	bool final = (flags & ISCSI_LOGIN_TRANSIT) &&
		     ISCSI_LOGIN_NSG(flags) == ISCSI_STAGE_FULL_FEATURE;

	if (login->tsih || status)
		return login->tsih;
	return final ? login->new_tsih : 0;
}

static void fill_login_rsp(struct iscsi_conn *conn, struct iscsi_tx *tx,
			   uint8_t flags, uint16_t status)
{
	struct iscsi_login *login = conn->login;
	uint8_t *bhs = tx->bhs;

	bhs[0] = ISCSI_OP_LOGIN_RSP;
	bhs[1] = flags;
	bhs[2] = 0; /* version max */
	bhs[3] = 0; /* version active */
	memcpy(bhs + 8, login->isid, 6);
	put_be16(bhs + 14, rsp_tsih(login, flags, status));
	put_be32(bhs + PDU_ITT, login->itt);
	put_be32(bhs + PDU_EXPCMDSN, login->cmdsn);
	put_be32(bhs + PDU_MAXCMDSN, login->cmdsn + login_window(login) - 1);
	bhs[36] = (uint8_t)(status >> 8);
	bhs[37] = (uint8_t)status;
	tx->takes_statsn = true;
}

/* Sends a failed Login Response and ends the connection after it. */
static void login_fail(struct iscsi_conn *conn, uint16_t status)
{
	struct iscsi_tx *tx = iscsi_tx_alloc(0);

	log_info("login from %s (%s) refused: status 0x%04x", conn->peer_ip,
		 conn->login->initiator, status);
	if (!tx) {
		iscsi_conn_close(conn);
		return;
	}
	fill_login_rsp(conn, tx, 0, status);
	conn->logout_done = true;
	iscsi_conn_queue(conn, tx);
}

/* The accounts that guard this login: the target's, or discovery's. NULL
 * if the target has gone. Main thread, like every account change. */
static const struct account_binds *login_binds(const struct iscsi_login *login)
{
	const struct target *t;

	if (login->discovery)
		return account_binds_of(TARGET_DISCOVERY_TID);
	t = login_target(login);
	return t ? &t->accounts : NULL;
}

/* As tgt: with incoming accounts bound, CHAP is required and None is
 * refused; without, CHAP cannot succeed and None is the only choice. */
static bool chap_required(const struct iscsi_login *login)
{
	const struct account_binds *b = login_binds(login);

	return !b || b->nr_in > 0;
}

/* The first method of the initiator's AuthMethod list that we accept. */
static enum login_auth choose_auth(const char *offer, bool need_chap)
{
	const char *p = offer;

	while (*p) {
		size_t n = strcspn(p, ",");

		if (n == 4 && !strncmp(p, "None", 4) && !need_chap)
			return AUTH_NONE;
		if (n == 4 && !strncmp(p, "CHAP", 4) && need_chap)
			return AUTH_CHAP;
		p += n + (p[n] == ',');
	}
	return AUTH_UNDECIDED;
}

static uint16_t negotiate_auth(struct iscsi_login *login, const char *value,
			       struct kv_text *out)
{
	if (login->auth != AUTH_UNDECIDED)
		return ISCSI_LOGIN_INITIATOR_ERROR; /* no renegotiation */
	login->auth = choose_auth(value, chap_required(login));
	switch (login->auth) {
	case AUTH_NONE:
		kv_text_add(out, "AuthMethod", "None");
		login->authenticated = true;
		return ISCSI_LOGIN_OK;
	case AUTH_CHAP:
		kv_text_add(out, "AuthMethod", "CHAP");
		chap_init(&login->chap);
		return ISCSI_LOGIN_OK;
	default:
		kv_text_add(out, "AuthMethod", "Reject");
		log_info("login of %s: no acceptable AuthMethod in \"%s\"",
			 login->initiator, value);
		return ISCSI_LOGIN_AUTH_FAILED;
	}
}

static const char *incoming_secret(void *arg, const char *user)
{
	const struct account_binds *b = login_binds(arg);
	const struct account *ac = b ? account_find_incoming(b, user) : NULL;

	return ac ? ac->password : NULL;
}

/* One CHAP step with the keys gathered from the current login text. */
static uint16_t run_chap(struct iscsi_login *login, struct kv_text *out)
{
	const struct account_binds *b = login_binds(login);
	struct chap_accounts acc = {
		.incoming_secret = incoming_secret,
		.arg = login,
		.out_user = b && b->out ? b->out->user : NULL,
		.out_secret = b && b->out ? b->out->password : NULL,
	};

	switch (chap_step(&login->chap, &acc, out, login->initiator)) {
	case CHAP_CONTINUE:
		return ISCSI_LOGIN_OK;
	case CHAP_SUCCESS:
		login->authenticated = true;
		return ISCSI_LOGIN_OK;
	case CHAP_TARGET_ERROR:
		return ISCSI_LOGIN_TARGET_ERROR;
	default:
		return ISCSI_LOGIN_AUTH_FAILED;
	}
}

static void copy_name(char *dst, const char *src)
{
	snprintf(dst, ISCSI_NAME_MAX, "%s", src);
}

/* The declarative names of a login (RFC 7143 §13.4-13.7, §13.21). */
enum login_name {
	NAME_INITIATOR,
	NAME_TARGET,
	NAME_ALIAS,
	NAME_SESSION_TYPE,
	NAME_COUNT,
};

static const char *const name_keys[NAME_COUNT] = {
	[NAME_INITIATOR] = "InitiatorName",
	[NAME_TARGET] = "TargetName",
	[NAME_ALIAS] = "InitiatorAlias",
	[NAME_SESSION_TYPE] = "SessionType",
};

static int name_index(const char *key)
{
	for (int i = 0; i < NAME_COUNT; i++)
		if (!strcmp(name_keys[i], key))
			return i;
	return -1;
}

static bool same_declaration(const struct iscsi_login *login,
			     enum login_name name, const char *value)
{
	switch (name) {
	case NAME_INITIATOR:
		return !strcmp(login->initiator, value);
	case NAME_TARGET:
		return !strcmp(login->target_name, value);
	case NAME_ALIAS: /* kept cut to the buffer */
		return !strncmp(login->alias, value, ISCSI_NAME_MAX - 1);
	default:
		return login->discovery == !strcmp(value, "Discovery");
	}
}

/* Takes a name's first declaration. Names are never cut: a cut name could
 * match another node's. */
static uint16_t declare_name(struct iscsi_login *login, enum login_name name,
			     const char *value, const char **why)
{
	switch (name) {
	case NAME_INITIATOR:
	case NAME_TARGET:
		if (strlen(value) >= ISCSI_NAME_MAX) {
			*why = "an iSCSI name longer than 223 bytes";
			return ISCSI_LOGIN_INITIATOR_ERROR;
		}
		copy_name(name == NAME_INITIATOR ? login->initiator
						 : login->target_name, value);
		return ISCSI_LOGIN_OK;
	case NAME_ALIAS: /* only shown: a long one is cut */
		copy_name(login->alias, value);
		return ISCSI_LOGIN_OK;
	default:
		if (strcmp(value, "Discovery") && strcmp(value, "Normal")) {
			*why = "an unknown SessionType";
			return ISCSI_LOGIN_SESSION_TYPE_UNSUPPORTED;
		}
		login->discovery = !strcmp(value, "Discovery");
		return ISCSI_LOGIN_OK;
	}
}

/* Handles the declarative login names; returns false if key is not one,
 * else the login status in *status. Some initiators (libiscsi) declare the
 * names again in the operational stage: the same value is accepted, another
 * is a redeclaration (RFC 7143 §6.2), and would change who logs in to what
 * after the checks. */
static bool login_name_key(struct iscsi_login *login, const char *key,
			   const char *value, uint16_t *status,
			   const char **why)
{
	int name = name_index(key);

	if (name < 0)
		return false;
	if (login->names_declared & (1u << name)) {
		*status = ISCSI_LOGIN_OK;
		if (!same_declaration(login, name, value)) {
			*why = "a name declared again with another value";
			*status = ISCSI_LOGIN_INITIATOR_ERROR;
		}
		return true;
	}
	*status = declare_name(login, name, value, why);
	if (!*status)
		login->names_declared |= 1u << name;
	return true;
}

static const struct iscsi_params *target_params(struct iscsi_login *login)
{
	return &login->offer;
}

static struct key_context key_context(const struct iscsi_login *login)
{
	struct key_context ctx = {
		.phase = login->csg == ISCSI_STAGE_SECURITY
				 ? KEY_PHASE_SECURITY
				 : KEY_PHASE_OPERATIONAL,
		.leading = !login->tsih,
		.discovery = login->discovery,
	};

	return ctx;
}

/* A login refused for its text: logged with the reason. */
static uint16_t text_refused(const struct iscsi_login *login, uint16_t status,
			     const char *key, const char *why)
{
	log_info("login of %s refused: %s (key \"%.63s\")", login->initiator,
		 why, key);
	return status;
}

/* Answers one key that may appear where it does. */
static uint16_t answer_key(struct iscsi_login *login, const char *key,
			   const char *value, enum key_verdict verdict,
			   struct kv_text *out)
{
	char answer[64];

	if (verdict == KEY_IRRELEVANT) {
		kv_text_add(out, key, "Irrelevant");
		return ISCSI_LOGIN_OK;
	}
	if (verdict == KEY_NOT_UNDERSTOOD) {
		kv_text_add(out, key, "NotUnderstood");
		return ISCSI_LOGIN_OK;
	}
	if (!strcmp(key, "AuthMethod"))
		return negotiate_auth(login, value, out);
	if (!strncmp(key, "CHAP_", 5)) {
		if (login->auth == AUTH_CHAP &&
		    chap_take_key(&login->chap, key, value))
			return ISCSI_LOGIN_OK;
		return text_refused(login, ISCSI_LOGIN_INITIATOR_ERROR, key,
				    "a CHAP key without AuthMethod CHAP");
	}
	switch (iscsi_param_negotiate(target_params(login), &login->neg, key,
				      value, answer, sizeof(answer))) {
	case ISCSI_NEGO_BAD_DECLARATION:
		return text_refused(login, ISCSI_LOGIN_INITIATOR_ERROR, key,
				    "a declaration out of range");
	case ISCSI_NEGO_NOT_MINE: /* keys.c knows no other key */
		kv_text_add(out, key, "NotUnderstood");
		break;
	default:
		if (answer[0]) /* declarations need no answer */
			kv_text_add(out, key, answer);
		break;
	}
	return ISCSI_LOGIN_OK;
}

/* One pair of the login text: where it may appear, then its answer. */
static uint16_t login_pair(struct iscsi_login *login,
			   const struct key_context *ctx, const char *key,
			   const char *value, struct kv_text *out)
{
	const char *why = NULL;
	enum key_verdict verdict = iscsi_key_check(key, value, ctx, &why);
	uint16_t status;

	if (verdict == KEY_PROTOCOL_ERROR)
		return text_refused(login, ISCSI_LOGIN_INITIATOR_ERROR, key,
				    why);
	if (login_name_key(login, key, value, &status, &why))
		return status ? text_refused(login, status, key, why) : 0;
	switch (key_seen_add(&login->seen, key)) {
	case KEY_SEEN_REPEATED:
		return text_refused(login, ISCSI_LOGIN_INITIATOR_ERROR, key,
				    "a key offered twice");
	case KEY_SEEN_FULL:
		return text_refused(login, ISCSI_LOGIN_OUT_OF_RESOURCES, key,
				    "too many keys");
	default:
		return answer_key(login, key, value, verdict, out);
	}
}

/* Negotiates the keys of one complete login text. Returns a login status
 * (0 = fine). */
static uint16_t negotiate_keys(struct iscsi_conn *conn, char *text,
			       uint32_t len, struct kv_text *out)
{
	struct iscsi_login *login = conn->login;
	struct key_context ctx = key_context(login);
	char *cursor = text, *key, *value;

	while (kv_next(&cursor, text + len, &key, &value)) {
		uint16_t status = login_pair(login, &ctx, key, value, out);

		if (status)
			return status;
	}
	if (login->csg == ISCSI_STAGE_SECURITY && login->auth == AUTH_CHAP) {
		uint16_t status = run_chap(login, out);

		if (status)
			return status;
	}
	return out->overflow ? ISCSI_LOGIN_OUT_OF_RESOURCES : ISCSI_LOGIN_OK;
}

/* The operational stage may only be reached authenticated: an initiator
 * that skips the security stage gets in only where no CHAP is required. */
static uint16_t check_authenticated(struct iscsi_login *login)
{
	if (login->csg != ISCSI_STAGE_OPERATIONAL || login->authenticated)
		return ISCSI_LOGIN_OK;
	if (login->auth == AUTH_CHAP || chap_required(login)) {
		log_info("login of %s: operational stage without CHAP",
			 login->initiator);
		return ISCSI_LOGIN_AUTH_FAILED;
	}
	login->authenticated = true;
	return ISCSI_LOGIN_OK;
}

/* First PDU: who is logging in to what, and may they. */
static uint16_t check_initiator(struct iscsi_conn *conn)
{
	struct iscsi_login *login = conn->login;
	struct target *t;

	if (!login->initiator[0])
		return ISCSI_LOGIN_MISSING_PARAMETER;
	if (login->discovery) /* discovery sessions take one connection */
		return login->tsih ? ISCSI_LOGIN_SESSION_NOT_FOUND
				   : ISCSI_LOGIN_OK;
	if (!login->target_name[0])
		return ISCSI_LOGIN_MISSING_PARAMETER;
	t = target_find_by_name(login->target_name);
	if (!t)
		return ISCSI_LOGIN_NOT_FOUND;
	if (!target_acl_permits(t, (const struct sockaddr *)&conn->peer,
				login->initiator))
		return ISCSI_LOGIN_FORBIDDEN;
	if (t->state != TARGET_READY)
		return ISCSI_LOGIN_SERVICE_UNAVAILABLE;
	if (login->tsih) {
		uint16_t status = iscsi_join_check(t, login->tsih,
						   login->initiator,
						   login->isid, conn->cid);

		if (status)
			return status;
	}
	login->tid = t->tid;
	/* The target's configured values bound the negotiation; the main
	 * thread alone changes them, so no lock is needed to copy. */
	login->offer = t->iscsi->params;
	return ISCSI_LOGIN_OK;
}

/* The names decide which target's values bound the negotiation, so they
 * are read before any other key of the first text. */
static uint16_t scan_names(struct iscsi_conn *conn)
{
	struct iscsi_login *login = conn->login;
	char *copy = malloc(login->text_len + 1);
	char *cursor = copy, *key, *value;
	const char *why = NULL;
	uint16_t status = ISCSI_LOGIN_OK;

	if (!copy)
		return ISCSI_LOGIN_OUT_OF_RESOURCES;
	memcpy(copy, login->text, login->text_len + 1);
	while (!status &&
	       kv_next(&cursor, copy + login->text_len, &key, &value))
		if (value && login_name_key(login, key, value, &status, &why) &&
		    status)
			text_refused(login, status, key, why);
	free(copy);
	return status ? status : check_initiator(conn);
}

static uint16_t parse_first_pdu(struct iscsi_conn *conn)
{
	struct iscsi_login *login = conn->login;
	const uint8_t *bhs = conn->rx_bhs;

	memcpy(login->isid, bhs + 8, 6);
	login->tsih = get_be16(bhs + 14);
	conn->cid = get_be16(bhs + 20);
	login->cmdsn = get_be32(bhs + PDU_CMDSN);
	conn->stat_sn = get_be32(bhs + PDU_EXPSTATSN);
	login->csg = ISCSI_LOGIN_CSG(bhs[1]);
	login->started = true;
	return 0;
}

/* Appends the C=1 text fragments; returns false if too much. */
static bool gather_text(struct iscsi_login *login, const uint8_t *data,
			uint32_t len)
{
	char *p;

	if (login->text_len + len > ISCSI_LOGIN_TEXT_MAX)
		return false;
	p = realloc(login->text, login->text_len + len + 1);
	if (!p)
		return false;
	memcpy(p + login->text_len, data, len);
	login->text = p;
	login->text_len += len;
	login->text[login->text_len] = '\0';
	return true;
}

static void declare_target_keys(struct iscsi_conn *conn, struct kv_text *out,
				uint8_t csg)
{
	struct iscsi_login *login = conn->login;
	char buf[32];

	if (!login->discovery && !login->sent_tpgt) {
		kv_text_add(out, "TargetPortalGroupTag", "1");
		login->sent_tpgt = true;
	}
	if (csg == ISCSI_STAGE_OPERATIONAL && !login->declared_mrdsl) {
		snprintf(buf, sizeof(buf), "%u",
			 target_params(login)->val[ISCSI_PARAM_MAX_RECV_DLENGTH]);
		kv_text_add(out, "MaxRecvDataSegmentLength", buf);
		login->declared_mrdsl = true;
	}
}

static uint16_t check_stages(uint8_t flags, uint8_t csg)
{
	uint8_t nsg = ISCSI_LOGIN_NSG(flags);

	if (csg == 2 || csg == ISCSI_STAGE_FULL_FEATURE)
		return ISCSI_LOGIN_INITIATOR_ERROR;
	if ((flags & ISCSI_LOGIN_TRANSIT) &&
	    (nsg == 2 || nsg <= csg))
		return ISCSI_LOGIN_INITIATOR_ERROR;
	if ((flags & ISCSI_LOGIN_TRANSIT) && (flags & ISCSI_LOGIN_CONTINUE))
		return ISCSI_LOGIN_INITIATOR_ERROR;
	return 0;
}

static void start_discovery(struct iscsi_conn *conn);

/* Final step: the connection will enter full-feature phase. */
static void finish_login(struct iscsi_conn *conn)
{
	struct iscsi_login *login = conn->login;

	conn->params = login->neg;
	iscsi_params_settle(&conn->params);
	conn->params.val[ISCSI_PARAM_MAX_RECV_DLENGTH] =
		target_params(login)->val[ISCSI_PARAM_MAX_RECV_DLENGTH];
	/* Digests start with the first PDU after the last Login Response. */
	conn->header_digest =
		conn->params.val[ISCSI_PARAM_HDRDGST] == ISCSI_DIGEST_CRC32C;
	conn->data_digest =
		conn->params.val[ISCSI_PARAM_DATADGST] == ISCSI_DIGEST_CRC32C;
	conn->discovery = login->discovery;
	ev_timer_stop(conn->loop, &conn->login_timer);
	if (login->discovery)
		start_discovery(conn);
	else
		conn->migrate_to = login_target(login);
}

static void send_login_rsp(struct iscsi_conn *conn, struct kv_text *text,
			   uint8_t flags)
{
	struct iscsi_tx *tx = iscsi_tx_alloc(text->len);

	if (!tx) {
		iscsi_conn_close(conn);
		return;
	}
	if (text->len) /* e.g. the answer to a one-way CHAP_R is empty */
		memcpy((void *)tx->data, text->buf, text->len);
	fill_login_rsp(conn, tx, flags, 0);
	iscsi_conn_queue(conn, tx);
}

static uint8_t next_stage(struct iscsi_login *login, uint8_t req_flags,
			  uint8_t *rsp_flags)
{
	uint8_t csg = login->csg;
	uint8_t nsg = ISCSI_LOGIN_NSG(req_flags);

	*rsp_flags = (uint8_t)(csg << 2);
	if (!(req_flags & ISCSI_LOGIN_TRANSIT))
		return csg;
	/* Leaving the security stage needs the AuthMethod done. */
	if (csg == ISCSI_STAGE_SECURITY && !login->authenticated)
		return csg;
	*rsp_flags |= ISCSI_LOGIN_TRANSIT | nsg;
	return nsg;
}

/* A new session needs a TSIH of its own; a joining connection has its
 * session's. */
static bool tsih_missing(const struct iscsi_login *login)
{
	return !login->new_tsih && !login->tsih;
}

/* A login about to start a new session takes its slot under the target's
 * session limit; discovery sessions and further connections of a session
 * (MC/S) take none. */
static uint16_t reserve_session(struct iscsi_login *login)
{
	struct target *t;
	uint16_t status;

	if (login->discovery || login->tsih)
		return ISCSI_LOGIN_OK;
	t = login_target(login);
	status = iscsi_session_admit(t, login->initiator, login->isid);
	if (!status)
		login->slot_of = t->iscsi;
	return status;
}

static void handle_login_text(struct iscsi_conn *conn, uint8_t req_flags)
{
	struct iscsi_login *login = conn->login;
	struct kv_text out;
	uint16_t status;
	uint8_t rsp_flags, next;
	bool first = !login->initiator[0] && !login->tid;

	kv_text_init(&out, 8192);
	status = first ? scan_names(conn) : 0;
	if (!status)
		status = check_authenticated(login);
	if (!status)
		status = negotiate_keys(conn, login->text, login->text_len,
					&out);
	free(login->text);
	login->text = NULL;
	login->text_len = 0;
	chap_drop_keys(&login->chap); /* they pointed into the text */
	if (!status && tsih_missing(login) &&
	    login->csg != ISCSI_STAGE_SECURITY)
		login->new_tsih = registry_alloc_tsih();
	if (status) {
		kv_text_free(&out);
		login_fail(conn, status);
		return;
	}
	next = next_stage(login, req_flags, &rsp_flags);
	declare_target_keys(conn, &out, login->csg);
	if (next == ISCSI_STAGE_FULL_FEATURE && tsih_missing(login))
		login->new_tsih = registry_alloc_tsih();
	if (next == ISCSI_STAGE_FULL_FEATURE && !login->discovery &&
	    !login_target(login)) {
		kv_text_free(&out);
		login_fail(conn, ISCSI_LOGIN_TARGET_REMOVED);
		return;
	}
	if (next == ISCSI_STAGE_FULL_FEATURE && tsih_missing(login)) {
		kv_text_free(&out);
		login_fail(conn, ISCSI_LOGIN_OUT_OF_RESOURCES);
		return;
	}
	status = next == ISCSI_STAGE_FULL_FEATURE ? reserve_session(login) : 0;
	if (status) {
		kv_text_free(&out);
		login_fail(conn, status);
		return;
	}
	send_login_rsp(conn, &out, rsp_flags);
	kv_text_free(&out);
	login->csg = next;
	if (next == ISCSI_STAGE_FULL_FEATURE && conn->state != CONN_CLOSING)
		finish_login(conn);
}

void iscsi_login_rx(struct iscsi_conn *conn)
{
	struct iscsi_login *login = login_state(conn);
	const uint8_t *bhs = conn->rx_bhs;
	uint8_t flags = bhs[1];
	uint16_t status;

	if (!login) {
		iscsi_conn_close(conn);
		return;
	}
	/* Refused: only the failed response is left to send, and the
	 * connection ends after it. PDUs the initiator pipelined behind the
	 * refused one are not looked at. */
	if (conn->logout_done)
		return;
	if (!login->started)
		parse_first_pdu(conn);
	login->itt = pdu_itt(bhs);
	if (conn->refuse_status) {
		login_fail(conn, conn->refuse_status);
		return;
	}
	/* Version-max below our only version 0, or version-min above it. */
	if (bhs[3] > 0) {
		login_fail(conn, ISCSI_LOGIN_UNSUPPORTED_VERSION);
		return;
	}
	status = check_stages(flags, ISCSI_LOGIN_CSG(flags));
	if (!status && ISCSI_LOGIN_CSG(flags) != login->csg)
		status = ISCSI_LOGIN_INITIATOR_ERROR;
	if (!status && !gather_text(login, conn->rx_buf,
				    pdu_data_len(bhs)))
		status = ISCSI_LOGIN_OUT_OF_RESOURCES;
	if (status) {
		login_fail(conn, status);
		return;
	}
	if (flags & ISCSI_LOGIN_CONTINUE) {
		/* More text follows: acknowledge with an empty response. */
		struct kv_text empty = { 0 };

		send_login_rsp(conn, &empty, (uint8_t)(login->csg << 2));
		return;
	}
	handle_login_text(conn, flags);
}

/* Runs on the main loop after the handler that finished the login has
 * returned: the connection leaves the main epoll and is handed to its
 * target's loop, which links it into its session (session.c) before it
 * reads from it, so the target thread never sees half of it (DESIGN.md
 * rule 4). From here on the main thread does not touch it. */
void iscsi_login_migrate(struct iscsi_conn *conn)
{
	struct target *t = conn->migrate_to;

	iscsi_join_note_lead(conn);
	conn->migrate_to = NULL;
	ev_io_stop(&conn->io);
	list_del(&conn->main_node);
	conn->adopt_target = t;
	ev_post(t->loop, &conn->adopt_work, iscsi_session_adopt, conn);
}

void iscsi_login_result(const struct iscsi_conn *conn,
			struct iscsi_login_result *r)
{
	const struct iscsi_login *login = conn->login;

	r->initiator = login->initiator;
	r->alias = login->alias;
	r->isid = login->isid;
	r->joining = login->tsih != 0;
	r->tsih = r->joining ? login->tsih : login->new_tsih;
	r->cmdsn = login->cmdsn;
	r->window = login_window(login);
}

bool iscsi_login_session_started(struct iscsi_conn *conn)
{
	bool had_slot = conn->login->slot_of != NULL;

	conn->login->new_tsih = 0;
	conn->login->slot_of = NULL;
	return had_slot;
}

/* A discovery session stays on the main loop, with a session of its own
 * that belongs to no target. */
static void start_discovery(struct iscsi_conn *conn)
{
	struct iscsi_login *login = conn->login;
	struct iscsi_session *sess;

	sess = iscsi_session_new(NULL, login->initiator, login->alias,
				 login->isid, login->new_tsih);
	if (!sess) {
		iscsi_conn_close(conn);
		return;
	}
	sess->params = conn->params;
	sess->exp_cmdsn = login->cmdsn;
	sess->queue_depth = 1;
	sess->max_cmdsn = login->cmdsn;
	sess->max_cmdsn_valid = true;
	login->new_tsih = 0; /* now the session's */
	iscsi_login_free(conn);
	iscsi_session_add_conn(sess, conn);
	conn->state = CONN_FULL_FEATURE;
}
