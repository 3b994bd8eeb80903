/* Is a backing store in use (device_use.h)? */
#include "tools/device_use.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Whether a file descriptor of a process (pid: an entry of the /proc
 * directory proc_fd) refers to the file dev:ino. */
static bool process_has_open(int proc_fd, const char *pid, dev_t dev,
			     ino_t ino)
{
	int pid_fd = openat(proc_fd, pid, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int fd_dir = pid_fd < 0 ? -1 : openat(pid_fd, "fd", O_RDONLY |
					      O_DIRECTORY | O_CLOEXEC);
	DIR *fds = fd_dir < 0 ? NULL : fdopendir(fd_dir);
	struct dirent *e;
	bool found = false;

	if (pid_fd >= 0)
		close(pid_fd);
	if (!fds) { /* gone meanwhile, or not ours to look at */
		if (fd_dir >= 0)
			close(fd_dir);
		return false;
	}
	while (!found && (e = readdir(fds))) {
		struct stat st;

		found = isdigit((unsigned char)e->d_name[0]) &&
			fstatat(dirfd(fds), e->d_name, &st, 0) == 0 &&
			st.st_dev == dev && st.st_ino == ino;
	}
	closedir(fds);
	return found;
}

/* Like `lsof <path>`: some other process has the file open. */
static bool open_by_a_process(const struct stat *target)
{
	char self[32];
	struct dirent *e;
	bool found = false;
	DIR *proc = opendir("/proc");

	if (!proc)
		return false;
	snprintf(self, sizeof(self), "%d", (int)getpid());
	while (!found && (e = readdir(proc)))
		if (isdigit((unsigned char)e->d_name[0]) &&
		    strcmp(e->d_name, self))
			found = process_has_open(dirfd(proc), e->d_name,
						 target->st_dev,
						 target->st_ino);
	closedir(proc);
	return found;
}

enum device_use device_use(const char *path)
{
	struct stat st;
	int fd;

	if (stat(path, &st) < 0)
		return DEVICE_FREE;
	fd = open(path, O_RDONLY | O_EXCL | O_CLOEXEC);
	if (fd < 0 && errno == EBUSY)
		return DEVICE_HELD_BY_SYSTEM;
	if (fd >= 0)
		close(fd);
	return open_by_a_process(&st) ? DEVICE_OPEN : DEVICE_FREE;
}
