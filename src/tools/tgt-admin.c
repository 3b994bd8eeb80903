/* tgt-admin: loads targets.conf through tgtadm (spec tgt-compat.md §5).
 * Placeholder until its own issue is done: it must fail loudly rather than
 * pretend that a configuration was applied. */
#include <stdio.h>

int main(void)
{
	fputs("tgt-admin: not implemented yet\n", stderr);
	return 1;
}
