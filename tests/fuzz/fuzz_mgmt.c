/* libFuzzer harness: the management request executor (tgt's IPC request
 * header and payload, every mode and op) on a main loop of its own.
 *
 * Input: a 120-byte struct tgtadm_req followed by the payload. Requests
 * that would touch the machine outside this process are skipped: portal
 * and lld changes (they open listening sockets) and LUN paths that are
 * absolute (relative ones resolve in the scratch directory the harness
 * works in). Targets and accounts are removed after every input so that
 * the state stays small and each input starts from the same point. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/strbuf.h"
#include "event/loop.h"
#include "mgmt/dispatch.h"
#include "mgmt/ipc_proto.h"
#include "target/registry.h"
#include "target/target.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static struct ev_loop *main_loop;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	/* Also where APTPL reservation state would go. */
	static char dir[] = "/tmp/mtgt-fuzz-mgmt.XXXXXX";

	(void)argc;
	(void)argv;
	if (!mkdtemp(dir) || chdir(dir) < 0)
		abort();
	registry_set_pr_dir(dir);
	main_loop = ev_loop_create("tgtd", NULL);
	return main_loop ? 0 : -1;
}

static int touches_machine(const struct tgtadm_req *req, const char *payload)
{
	if (req->mode == MODE_PORTAL || req->mode == MODE_LLD)
		return 1;
	return strstr(payload, "path=/") != NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tgtadm_req req;
	struct strbuf out;
	char *payload;
	size_t len;

	if (size < sizeof(req))
		return -1;
	memcpy(&req, data, sizeof(req));
	len = size - sizeof(req);
	payload = malloc(len + 1);
	if (!payload)
		return 0;
	memcpy(payload, data + sizeof(req), len);
	payload[len] = '\0';
	req.lld[sizeof(req.lld) - 1] = '\0';
	if (!touches_machine(&req, payload)) {
		strbuf_init(&out);
		mgmt_execute(main_loop, &req, payload, &out, NULL);
		strbuf_free(&out);
	}
	free(payload);
	target_destroy_all();
	account_free_all();
	return 0;
}
