/* APTPL saves off the target loop (DESIGN.md rule 7: a target thread
 * never blocks). Writing the state file means a write, two fsyncs and a
 * rename (pr_file.c): hundreds of milliseconds on a busy disk, seconds
 * on NFS, during which every session of the target would stall. So each
 * LU that saves gets one worker thread, `pr/<tid>:<lun>`, started on its first
 * save and ended with the LU; it runs pr_file_save() and posts the
 * result back to the loop of the command, where pr_out.c commits it.
 *
 * One save of a LU runs at a time: pr_out.c parks later PERSISTENT
 * RESERVE OUT commands until it is done, so saves reach the disk in the
 * order of their commands. The LU is held in flight meanwhile, so the
 * worker's state outlives every save (scsi_pr_free joins it). */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include "event/loop.h"
#include "scsi/pr.h"
#include "target/target.h"

/* The worker of one LU. Created and freed by whoever owns the LU's
 * reservations (the target thread starts it, the thread that frees the
 * LU stops it); `job` and `stopping` are guarded by `lock`. */
struct pr_saver {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t thread;
	struct pr_save_job *job; /* the save to run; NULL when idle */
	bool stopping;
};

static void complete_on_loop(struct ev_loop *loop, void *arg)
{
	struct pr_save_job *job = arg;

	(void)loop;
	job->done(job);
}

static void *saver_main(void *arg)
{
	struct pr_saver *s = arg;

	/* Started by a target loop, which may run at a raised priority;
	 * disk work runs at the default. */
	setpriority(PRIO_PROCESS, (id_t)gettid(), 0);
	pthread_mutex_lock(&s->lock);
	for (;;) {
		struct pr_save_job *job;

		while (!s->job && !s->stopping)
			pthread_cond_wait(&s->cond, &s->lock);
		if (!s->job)
			break;
		job = s->job;
		s->job = NULL;
		pthread_mutex_unlock(&s->lock);
		job->result = pr_file_save(job->path, job->st);
		/* The job belongs to the loop again from here on. */
		ev_post(job->loop, &job->work, complete_on_loop, job);
		pthread_mutex_lock(&s->lock);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

static struct pr_saver *saver_start(const struct scsi_lu *lu)
{
	struct pr_saver *s = calloc(1, sizeof(*s));
	char name[16];

	if (!s)
		return NULL;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	if (pthread_create(&s->thread, NULL, saver_main, s)) {
		pthread_cond_destroy(&s->cond);
		pthread_mutex_destroy(&s->lock);
		free(s);
		return NULL;
	}
	snprintf(name, sizeof(name), "pr/%d:%llu",
		 lu->target ? lu->target->tid : 0, (unsigned long long)lu->lun);
	pthread_setname_np(s->thread, name);
	return s;
}

int pr_save_submit(struct scsi_lu *lu, struct pr_save_job *job)
{
	struct scsi_pr *pr = lu->pr;
	struct pr_saver *s = pr->saver;

	if (!s) {
		s = saver_start(lu);
		if (!s)
			return -EAGAIN;
		pr->saver = s;
	}
	pthread_mutex_lock(&s->lock);
	s->job = job;
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->lock);
	return 0;
}

void pr_save_stop(struct scsi_pr *pr)
{
	struct pr_saver *s = pr->saver;

	if (!s)
		return;
	pthread_mutex_lock(&s->lock);
	s->stopping = true;
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->lock);
	pthread_join(s->thread, NULL);
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->lock);
	free(s);
	pr->saver = NULL;
}
