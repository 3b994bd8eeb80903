#include "common/log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>

/* The debug switch is process configuration (tgtd -d, tgtadm --mode sys
 * --op update --name debug), read by every thread: an atomic flag, not
 * state that belongs to any one structure. */
static atomic_bool debug_on;

void log_set_debug(bool on)
{
	atomic_store_explicit(&debug_on, on, memory_order_relaxed);
}

bool log_debug_enabled(void)
{
	return atomic_load_explicit(&debug_on, memory_order_relaxed);
}

void log_write(const char *func, int line, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* One fprintf per message so lines from different threads do not
	 * interleave. */
	fprintf(stderr, "tgtd: %s(%d) %s\n", func, line, msg);
}
