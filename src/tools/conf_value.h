/* What the value of a targets.conf directive must look like, checked
 * with an error that names the file, line and directive. */
#ifndef MTGT_TOOLS_CONF_VALUE_H
#define MTGT_TOOLS_CONF_VALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tools/conf_syntax.h"

enum conf_value_kind {
	CONF_ANY_TEXT,
	CONF_NO_COMMA,   /* goes into one item of a request: tgtd splits
			    payloads at commas */
	CONF_NUMBER,     /* 1 .. 2^32-1 */
	CONF_ON_OFF,
	CONF_YES_NO,
	CONF_DEVICE_TYPE, /* a --device-type name of tgtadm */
};

/* Each returns 0, or -1 with err filled. */
int conf_value_check(struct conf_error *err, const struct conf_node *n,
		     enum conf_value_kind kind);
int conf_value_no_comma(struct conf_error *err, const struct conf_node *n);
int conf_value_keyword(struct conf_error *err, const struct conf_node *n,
		       const char *a, const char *b);
int conf_value_number(struct conf_error *err, const struct conf_node *n,
		      uint64_t min, uint64_t max, uint64_t *out);

/* A whole string as a number (decimal, 0x hex or 0 octal, as tgtadm
 * reads them). */
bool conf_parse_u64(const char *text, uint64_t *out);

bool conf_in_table(const char *s, const char *const *table, size_t n);

#endif
