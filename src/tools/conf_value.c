/* Checking targets.conf values (conf_value.h). */
#include "tools/conf_value.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* tgtadm's --device-type names. */
static const char *const device_types[] = {
	"disk", "tape", "ssc", "cd", "changer", "osd", "pt",
};

bool conf_in_table(const char *s, const char *const *table, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(s, table[i]))
			return true;
	return false;
}

bool conf_parse_u64(const char *text, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (!text || !isdigit((unsigned char)*text))
		return false;
	errno = 0;
	v = strtoull(text, &end, 0);
	if (errno || *end)
		return false;
	*out = v;
	return true;
}

int conf_value_no_comma(struct conf_error *err, const struct conf_node *n)
{
	if (!strchr(n->value, ','))
		return 0;
	conf_error_set(err, &n->loc, n->key,
		       "'%s': a comma cannot be sent to tgtd here", n->value);
	return -1;
}

int conf_value_keyword(struct conf_error *err, const struct conf_node *n,
		       const char *a, const char *b)
{
	if (!strcmp(n->value, a) || !strcmp(n->value, b))
		return 0;
	conf_error_set(err, &n->loc, n->key, "'%s' is not '%s' or '%s'",
		       n->value, a, b);
	return -1;
}

int conf_value_number(struct conf_error *err, const struct conf_node *n,
		      uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t v;

	if (!conf_parse_u64(n->value, &v) || v < min || v > max) {
		conf_error_set(err, &n->loc, n->key,
			       "'%s' is not a number from %llu to %llu",
			       n->value, (unsigned long long)min,
			       (unsigned long long)max);
		return -1;
	}
	if (out)
		*out = v;
	return 0;
}

int conf_value_check(struct conf_error *err, const struct conf_node *n,
		     enum conf_value_kind kind)
{
	switch (kind) {
	case CONF_ANY_TEXT:
		return 0;
	case CONF_NO_COMMA:
		return conf_value_no_comma(err, n);
	case CONF_NUMBER:
		return conf_value_number(err, n, 1, UINT32_MAX, NULL);
	case CONF_ON_OFF:
		return conf_value_keyword(err, n, "on", "off");
	case CONF_YES_NO:
		return conf_value_keyword(err, n, "yes", "no");
	case CONF_DEVICE_TYPE:
		if (conf_in_table(n->value, device_types,
				  sizeof(device_types) / sizeof(*device_types)))
			return 0;
		conf_error_set(err, &n->loc, n->key, "unknown device type '%s' "
			       "(disk, tape, ssc, cd, changer, osd, pt)",
			       n->value);
		return -1;
	}
	return 0;
}
