/* Logging to stderr (foreground) with the function name, like tgt's
 * "tgtd: <function>(<line>) <message>" so existing log scrapers still work. */
#ifndef MTGT_COMMON_LOG_H
#define MTGT_COMMON_LOG_H

#include <stdbool.h>

void log_set_debug(bool on);
bool log_debug_enabled(void);
void log_write(const char *func, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define log_error(...) log_write(__func__, __LINE__, __VA_ARGS__)
#define log_info(...) log_write(__func__, __LINE__, __VA_ARGS__)
#define log_debug(...)                                        \
	do {                                                  \
		if (log_debug_enabled())                      \
			log_write(__func__, __LINE__, __VA_ARGS__); \
	} while (0)

#endif
