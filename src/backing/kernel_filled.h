/* Telling Valgrind's memcheck about bytes the kernel wrote behind its back.
 *
 * memcheck follows read(2)/pread(2) but not io_uring: a buffer filled by
 * an IORING_OP_READ completion still looks uninitialised to it, and every
 * later use of the data (a COMPARE AND WRITE compare, the sendmsg of a
 * Data-In) is reported. Marking the bytes the kernel reported as read
 * keeps `make valgrind-test` meaningful for the io_uring store. Outside
 * Valgrind the client request is a few instructions that do nothing;
 * without Valgrind's headers at build time it compiles to nothing.
 */
#ifndef MTGT_BACKING_KERNEL_FILLED_H
#define MTGT_BACKING_KERNEL_FILLED_H

#include <stddef.h>

#if defined(__has_include)
#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#define MTGT_HAVE_MEMCHECK 1
#endif
#endif

static inline void kernel_filled(void *buf, size_t len)
{
#ifdef MTGT_HAVE_MEMCHECK
	(void)VALGRIND_MAKE_MEM_DEFINED(buf, len);
#else
	(void)buf;
	(void)len;
#endif
}

#endif
