/* `--mode account` (spec §2.8): the request payload is parsed the way tgt
 * does it, quirks included, so that scripts written for tgt see the same
 * accounts. Main thread. */
#include <string.h>

#include "mgmt/modes.h"
#include "mgmt/show.h"

/* "user=NAME,password=PW": the name ends at the first comma, then tgt
 * skips nine characters, assuming "password=", and takes the rest as the
 * password (which may contain commas). */
static enum tgtadm_err account_new(char *user)
{
	char *comma = strchr(user, ',');
	char *password;

	if (!comma)
		return TGTADM_INVALID_REQUEST;
	*comma = '\0';
	password = comma + 1;
	/* tgt would read past a short payload; stop at its end. */
	password += strnlen(password, strlen("password="));
	return account_add(user, password);
}

enum tgtadm_err account_mode(const struct tgtadm_req *req, char *payload,
			     struct strbuf *out)
{
	bool outgoing = req->ac_dir != ACCOUNT_TYPE_INCOMING;
	char *user;

	if (req->op == OP_SHOW) {
		show_accounts(out);
		return TGTADM_SUCCESS;
	}
	if (req->op != OP_NEW && req->op != OP_DELETE &&
	    req->op != OP_BIND && req->op != OP_UNBIND)
		return TGTADM_UNSUPPORTED_OPERATION;
	user = strstr(payload, "user=");
	if (!user)
		return TGTADM_INVALID_REQUEST;
	user += strlen("user=");
	switch (req->op) {
	case OP_NEW:
		return account_new(user);
	case OP_DELETE:
		return account_del(user);
	case OP_BIND:
		return account_bind(req->tid, outgoing, user);
	default:
		return account_unbind(req->tid, outgoing, user);
	}
}
