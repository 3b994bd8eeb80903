/* libFuzzer harness: the targets.conf reader of tgt-admin (syntax,
 * directives, value checks, LUN numbering, tid allocation). Includes are
 * off so that no input reaches the file system. A rejected file must come
 * with a message naming where it went wrong. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tools/targets_conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct targets_conf conf;
	struct conf_error err;

	memset(&conf, 0, sizeof(conf));
	memset(&err, 0, sizeof(err));
	if (targets_conf_load_buffer(&conf, "fuzz.conf", (const char *)data,
				     size, CONF_NO_INCLUDES, &err) < 0 &&
	    strncmp(err.text, "fuzz.conf", 9) != 0)
		abort();
	targets_conf_free(&conf);
	return 0;
}
