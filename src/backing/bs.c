#include "backing/bs.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static const struct bs_ops *const registered[] = {
	&bs_null_ops,
	&bs_rdwr_ops,
	&bs_aio_ops,
	NULL,
};

const struct bs_ops *bs_default(void)
{
	return &bs_aio_ops;
}

const struct bs_ops *const *bs_all(void)
{
	return registered;
}

const struct bs_ops *bs_lookup(const char *name)
{
	for (const struct bs_ops *const *ops = registered; *ops; ops++)
		if (!strcmp((*ops)->name, name))
			return *ops;
	return NULL;
}

int bs_open(struct backing_store *bs, const struct bs_ops *ops,
	    const char *path, int oflags, const char *tag)
{
	memset(bs, 0, sizeof(*bs));
	bs->ops = ops;
	bs->fd = -1;
	bs->oflags = oflags;
	snprintf(bs->tag, sizeof(bs->tag), "%s", tag ? tag : "");
	if ((oflags & ~BS_OFLAG_RDONLY) && !ops->supports_oflags)
		return -EINVAL;
	return ops->open(bs, path);
}

void bs_close(struct backing_store *bs)
{
	if (bs->ops && bs->ops->close)
		bs->ops->close(bs);
	bs->ops = NULL;
}
