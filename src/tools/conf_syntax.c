/* targets.conf syntax: logical lines, blocks, includes (conf_syntax.h). */
#include "tools/conf_syntax.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/strbuf.h"

/* Limits that keep a hostile or broken file from exhausting the stack or
 * memory; no real configuration comes near them. */
#define MAX_INCLUDE_DEPTH 16
#define MAX_BLOCK_DEPTH 8
#define MAX_FILE_SIZE (64u << 20)

struct open_block {
	struct conf_node *node;  /* NULL for the top level */
	struct conf_node **tail; /* where the next node of this level goes */
};

/* State of one read (a file and everything it includes). */
struct reader {
	struct conf_doc *doc;
	struct conf_error *err;
	char **seen;     /* real paths already read: each file once */
	size_t nr_seen;
	unsigned include_depth;
	const char *buffer_name; /* text read from memory, not a file */
	bool no_includes;
	struct open_block blocks[MAX_BLOCK_DEPTH + 1];
	unsigned depth;  /* index of the innermost open block */
};

void conf_error_set(struct conf_error *err, const struct conf_loc *loc,
		    const char *key, const char *fmt, ...)
{
	size_t n = 0;
	va_list ap;

	if (loc && loc->file)
		n = snprintf(err->text, sizeof(err->text), "%s:%u: ",
			     loc->file, loc->line);
	if (key && n < sizeof(err->text))
		n += snprintf(err->text + n, sizeof(err->text) - n,
			      "directive '%s': ", key);
	if (n >= sizeof(err->text))
		return;
	va_start(ap, fmt);
	vsnprintf(err->text + n, sizeof(err->text) - n, fmt, ap);
	va_end(ap);
}

static void no_memory(struct reader *r, const struct conf_loc *loc)
{
	conf_error_set(r->err, loc, NULL, "out of memory");
}

/* ---- lines ---- */

static char *trim(char *s)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

/* The last comment end in s, or NULL. */
static char *last_comment_end(char *s)
{
	char *last = NULL;

	while ((s = strstr(s, "*/"))) {
		last = s;
		s += 2;
	}
	return last;
}

/* Config::General's C comments: a complete one anywhere on a line is
 * removed (up to the last comment end); a line starting with one opens a
 * comment that lasts until a line holding its end. Returns false if the
 * line is inside a comment and must be skipped. */
static bool strip_c_comments(char *line, bool *in_comment)
{
	char *open = strstr(line, "/*");
	char *close = open ? last_comment_end(open + 2) : NULL;

	if (open && close) {
		while (open > line && isspace((unsigned char)open[-1]))
			open--;
		close += 2;
		while (isspace((unsigned char)*close))
			close++;
		memmove(open, close, strlen(close) + 1);
	} else if (open && open == line + strspn(line, " \t")) {
		*in_comment = true;
	} else if ((close = last_comment_end(line))) {
		*in_comment = false;
		memmove(line, close + 2, strlen(close + 2) + 1);
	}
	return !*in_comment;
}

/* Removes a # comment: from the first # not preceded by a backslash. */
static void strip_hash_comment(char *line)
{
	for (char *p = line; *p; p++)
		if (*p == '#' && (p == line || p[-1] != '\\')) {
			*p = '\0';
			return;
		}
}

/* A line continues on the next one if it ends in a single backslash. */
static bool continues(char *line)
{
	size_t len = strlen(line);

	if (len == 0 || line[len - 1] != '\\')
		return false;
	if (len >= 2 && line[len - 2] == '\\')
		return false;
	line[len - 1] = '\0';
	return true;
}

/* \# stands for a literal #. */
static void unescape_hash(char *s)
{
	char *w = s;

	for (char *p = s; *p; p++) {
		if (p[0] == '\\' && p[1] == '#')
			p++;
		*w++ = *p;
	}
	*w = '\0';
}

/* ---- nodes ---- */

static struct conf_node *new_node(struct reader *r, const struct conf_loc *loc,
				  const char *key, size_t key_len,
				  const char *value)
{
	struct conf_node *n = calloc(1, sizeof(*n));

	if (!n || !(n->key = strndup(key, key_len)) ||
	    (value && *value && !(n->value = strdup(value)))) {
		if (n)
			free(n->key);
		free(n);
		no_memory(r, loc);
		return NULL;
	}
	n->loc = *loc;
	return n;
}

static void append(struct reader *r, struct conf_node *n)
{
	struct open_block *b = &r->blocks[r->depth];

	*b->tail = n;
	b->tail = &n->next;
}

/* A value in double quotes loses them; \# becomes #. */
static char *clean_value(char *v)
{
	size_t len = strlen(v);

	if (len && v[0] == '"' && v[len - 1] == '"') {
		v[len - 1] = '\0';
		v++;
	}
	unescape_hash(v);
	return v;
}

/* "key value", "key = value", "key=value": the key ends at the first
 * blank or '='; then blanks, one optional '=' and blanks. */
static int parse_directive(struct reader *r, char *line,
			   const struct conf_loc *loc)
{
	size_t key_len = strcspn(line, " \t=");
	char *v = line + key_len;
	struct conf_node *n;

	if (key_len == 0) {
		conf_error_set(r->err, loc, NULL,
			       "a line must start with a directive name");
		return -1;
	}
	v += strspn(v, " \t");
	if (*v == '=')
		v += 1 + strspn(v + 1, " \t");
	n = new_node(r, loc, line, key_len, clean_value(v));
	if (!n)
		return -1;
	append(r, n);
	return 0;
}

/* "<type argument>": the type and the argument may each be quoted. */
static int open_block(struct reader *r, char *inner,
		      const struct conf_loc *loc)
{
	char *type = trim(inner), *arg;
	struct conf_node *n;
	size_t type_len;

	if (*type == '"' && strchr(type + 1, '"')) {
		type++;
		type_len = strchr(type, '"') - type;
		arg = type + type_len + 1;
	} else {
		type_len = strcspn(type, " \t");
		arg = type + type_len;
	}
	arg = trim(arg);
	if (type_len == 0) {
		conf_error_set(r->err, loc, NULL, "a block needs a name: <%s>",
			       inner);
		return -1;
	}
	if (r->depth == MAX_BLOCK_DEPTH) {
		conf_error_set(r->err, loc, NULL,
			       "blocks nested more than %d deep",
			       MAX_BLOCK_DEPTH);
		return -1;
	}
	n = new_node(r, loc, type, type_len, clean_value(arg));
	if (!n)
		return -1;
	n->is_block = true;
	append(r, n);
	r->depth++;
	r->blocks[r->depth].node = n;
	r->blocks[r->depth].tail = &n->children;
	return 0;
}

static int close_block(struct reader *r, unsigned file_depth, char *inner,
		       const struct conf_loc *loc)
{
	char *type = trim(inner);
	struct conf_node *open;

	if (r->depth == file_depth) {
		conf_error_set(r->err, loc, NULL,
			       "</%s> closes no open block", type);
		return -1;
	}
	open = r->blocks[r->depth].node;
	if (strcmp(type, open->key)) {
		conf_error_set(r->err, loc, NULL,
			       "</%s> does not close <%s> of line %u", type,
			       open->key, open->loc.line);
		return -1;
	}
	r->depth--;
	return 0;
}

/* ---- includes ---- */

static int read_path(struct reader *r, const char *path,
		     const struct conf_loc *from, bool optional);

static bool has_glob_chars(const char *s)
{
	return strpbrk(s, "*?[{\\") != NULL;
}

static int include_glob(struct reader *r, const char *pattern,
			const struct conf_loc *from)
{
	glob_t g;
	int rc = 0, status = glob(pattern, GLOB_BRACE, NULL, &g);

	if (status == GLOB_NOMATCH)
		return 0; /* e.g. an empty conf.d directory */
	if (status != 0) {
		conf_error_set(r->err, from, "include", "cannot expand %s",
			       pattern);
		return -1;
	}
	for (size_t i = 0; i < g.gl_pathc && rc == 0; i++) {
		struct stat st;

		if (stat(g.gl_pathv[i], &st) == 0 && S_ISREG(st.st_mode))
			rc = read_path(r, g.gl_pathv[i], from, false);
	}
	globfree(&g);
	return rc;
}

static int compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A directory: its regular files in ASCII order (not recursive). */
static int include_directory(struct reader *r, const char *dir,
			     const struct conf_loc *from)
{
	char **names = NULL;
	size_t n = 0;
	struct dirent *e;
	int rc = 0;
	DIR *d = opendir(dir);

	if (!d) {
		conf_error_set(r->err, from, "include", "cannot read %s: %s",
			       dir, strerror(errno));
		return -1;
	}
	while (rc == 0 && (e = readdir(d))) {
		char *path, **grown;
		struct stat st;

		if (asprintf(&path, "%s/%s", dir, e->d_name) < 0) {
			rc = -1;
			break;
		}
		if (stat(path, &st) || !S_ISREG(st.st_mode)) {
			free(path);
			continue;
		}
		grown = realloc(names, (n + 1) * sizeof(*names));
		if (!grown) {
			free(path);
			rc = -1;
			break;
		}
		names = grown;
		names[n++] = path;
	}
	closedir(d);
	if (rc)
		no_memory(r, from);
	if (n > 1)
		qsort(names, n, sizeof(*names), compare_names);
	for (size_t i = 0; i < n; i++) {
		if (rc == 0)
			rc = read_path(r, names[i], from, false);
		free(names[i]);
	}
	free(names);
	return rc;
}

/* The directory part of a file name ("." if none). */
static char *directory_of(const char *file)
{
	const char *slash = strrchr(file, '/');

	if (!slash)
		return strdup(".");
	if (slash == file)
		return strdup("/");
	return strndup(file, slash - file);
}

/* "include x" / "includeoptional x", x optionally quoted. Returns 1 if
 * the line is not an include, else 0 or -1. */
static int maybe_include(struct reader *r, char *line,
			 const struct conf_loc *loc)
{
	bool optional = !strncasecmp(line, "includeoptional", 15);
	size_t kw = optional ? 15 : 7;
	char *name, *path = NULL, *dir;
	size_t len;
	int rc;

	if (strncasecmp(line, "include", 7) ||
	    (line[kw] && !isspace((unsigned char)line[kw]) &&
	     line[kw] != '"' && line[kw] != '\''))
		return 1;
	name = trim(line + kw);
	len = strlen(name);
	if (len >= 2 && (name[0] == '"' || name[0] == '\'') &&
	    name[len - 1] == name[0]) {
		name[len - 1] = '\0';
		name++;
	}
	if (!*name || r->no_includes) {
		conf_error_set(r->err, loc, "include", r->no_includes
			       ? "includes are not allowed here"
			       : "missing file name");
		return -1;
	}
	if (name[0] != '/' && loc->file != r->buffer_name) {
		dir = directory_of(loc->file);
		if (!dir || asprintf(&path, "%s/%s", dir, name) < 0)
			path = NULL;
		free(dir);
		if (!path) {
			no_memory(r, loc);
			return -1;
		}
		name = path;
	}
	if (r->include_depth >= MAX_INCLUDE_DEPTH) {
		conf_error_set(r->err, loc, "include",
			       "includes nested more than %d deep",
			       MAX_INCLUDE_DEPTH);
		rc = -1;
	} else if (has_glob_chars(name)) {
		rc = include_glob(r, name, loc);
	} else {
		rc = read_path(r, name, loc, optional);
	}
	free(path);
	return rc;
}

/* ---- one file ---- */

static int parse_logical_line(struct reader *r, unsigned file_depth,
			      char *line, const struct conf_loc *loc)
{
	size_t len;
	int rc;

	line = trim(line);
	len = strlen(line);
	rc = maybe_include(r, line, loc);
	if (rc <= 0)
		return rc;
	if (len >= 3 && line[0] == '<' && line[1] == '/' &&
	    line[len - 1] == '>') {
		line[len - 1] = '\0';
		return close_block(r, file_depth, line + 2, loc);
	}
	if (len >= 2 && line[0] == '<' && line[len - 1] == '>') {
		line[len - 1] = '\0';
		return open_block(r, line + 1, loc);
	}
	return parse_directive(r, line, loc);
}

/* Joins physical lines into logical ones: comments removed, lines
 * ending in a backslash joined to the next. */
struct line_joiner {
	bool in_comment;
	bool joining;
	unsigned first_line; /* of the logical line being joined */
	struct strbuf text;
};

static int take_line(struct reader *r, unsigned file_depth,
		     struct line_joiner *j, char *line, struct conf_loc *loc)
{
	int rc = 0;

	if (!strip_c_comments(line, &j->in_comment))
		return 0;
	strip_hash_comment(line);
	/* Each part loses its leading blanks only: "a \" + "b" is "a b". */
	if (continues(line)) {
		if (!j->joining)
			j->first_line = loc->line;
		j->joining = true;
		strbuf_printf(&j->text, "%s", line + strspn(line, " \t"));
	} else if (j->joining) {
		strbuf_printf(&j->text, "%s", line + strspn(line, " \t"));
		loc->line = j->first_line;
		if (!j->text.failed)
			rc = parse_logical_line(r, file_depth, j->text.buf,
						loc);
		j->joining = false;
		j->text.len = 0;
	} else if (*trim(line)) {
		rc = parse_logical_line(r, file_depth, line, loc);
	}
	if (j->text.failed) {
		no_memory(r, loc);
		return -1;
	}
	return rc;
}

/* Parses the text line by line into the current block. */
static int parse_text(struct reader *r, const char *file, const char *text,
		      size_t len)
{
	struct line_joiner j = { .in_comment = false };
	unsigned file_depth = r->depth, lineno = 0;
	struct conf_loc loc = { file, 0 };
	int rc = 0;

	strbuf_init(&j.text);
	for (size_t pos = 0; pos < len && rc == 0;) {
		const char *start = text + pos;
		const char *nl = memchr(start, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - start) : len - pos;
		char *line;

		pos += n + 1;
		loc.line = ++lineno;
		if (memchr(start, '\0', n)) {
			conf_error_set(r->err, &loc, NULL, "NUL byte in line");
			rc = -1;
			break;
		}
		if (n && start[n - 1] == '\r')
			n--;
		line = strndup(start, n);
		if (!line) {
			no_memory(r, &loc);
			rc = -1;
			break;
		}
		rc = take_line(r, file_depth, &j, line, &loc);
		free(line);
	}
	if (rc == 0 && j.joining) { /* the file ends with a backslash */
		loc.line = j.first_line;
		rc = parse_logical_line(r, file_depth, j.text.buf, &loc);
	}
	strbuf_free(&j.text);
	if (rc == 0 && r->depth > file_depth) {
		struct conf_node *open = r->blocks[r->depth].node;

		conf_error_set(r->err, &open->loc, NULL,
			       "<%s> is not closed before the end of the file",
			       open->key);
		rc = -1;
	}
	return rc;
}

/* ---- documents ---- */

/* Keeps a copy of a file name for the locations of its nodes. */
static const char *intern_file(struct reader *r, const char *name)
{
	char **grown = realloc(r->doc->files,
			       (r->doc->nr_files + 1) * sizeof(char *));
	char *copy = strdup(name);

	if (grown)
		r->doc->files = grown;
	if (!grown || !copy) {
		free(copy);
		return NULL;
	}
	r->doc->files[r->doc->nr_files++] = copy;
	return copy;
}

/* Remembers that a file was read; false if it already was (Config::General
 * reads a file once, however often it is included). */
static bool first_read(struct reader *r, const char *path, bool *failed)
{
	char *real = realpath(path, NULL), **grown;

	*failed = false;
	if (!real)
		real = strdup(path);
	if (!real) {
		*failed = true;
		return false;
	}
	for (size_t i = 0; i < r->nr_seen; i++)
		if (!strcmp(r->seen[i], real)) {
			free(real);
			return false;
		}
	grown = realloc(r->seen, (r->nr_seen + 1) * sizeof(*grown));
	if (!grown) {
		free(real);
		*failed = true;
		return false;
	}
	r->seen = grown;
	r->seen[r->nr_seen++] = real;
	return true;
}

/* Reads a whole file into memory. Returns NULL with errno set. */
static char *slurp(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), err = 0;
	size_t size = 0, cap = 0;
	char *buf = NULL;

	if (fd < 0)
		return NULL;
	for (;;) {
		ssize_t n;

		if (size == cap) {
			char *grown = NULL;

			cap = cap ? cap * 2 : 4096;
			if (cap <= MAX_FILE_SIZE)
				grown = realloc(buf, cap);
			if (!grown) {
				err = cap > MAX_FILE_SIZE ? EFBIG : ENOMEM;
				break;
			}
			buf = grown;
		}
		n = read(fd, buf + size, cap - size);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err = n < 0 ? errno : 0;
			break;
		}
		size += n;
	}
	close(fd);
	if (err) {
		free(buf);
		errno = err;
		return NULL;
	}
	*len = size;
	return buf;
}

/* Reads one file (or, for an include, a directory) into the current
 * block. from: the include line, NULL for the main file. */
static int read_path(struct reader *r, const char *path,
		     const struct conf_loc *from, bool optional)
{
	const char *name;
	bool failed;
	struct stat st;
	size_t len;
	char *text;
	int rc;

	if (stat(path, &st) < 0) {
		if (optional && errno == ENOENT)
			return 0;
		conf_error_set(r->err, from, from ? "include" : NULL,
			       "cannot read %s: %s", path, strerror(errno));
		return -1;
	}
	if (S_ISDIR(st.st_mode) && from)
		return include_directory(r, path, from);
	if (S_ISDIR(st.st_mode) || (from && !S_ISREG(st.st_mode))) {
		/* a device or pipe could block or never end */
		conf_error_set(r->err, from, from ? "include" : NULL,
			       "%s is not a regular file", path);
		return -1;
	}
	if (!first_read(r, path, &failed)) {
		if (failed)
			no_memory(r, from);
		return failed ? -1 : 0;
	}
	text = slurp(path, &len);
	if (!text) {
		conf_error_set(r->err, from, from ? "include" : NULL,
			       "cannot read %s: %s", path, strerror(errno));
		return -1;
	}
	name = intern_file(r, path);
	if (!name) {
		free(text);
		no_memory(r, from);
		return -1;
	}
	r->include_depth++;
	rc = parse_text(r, name, text, len);
	r->include_depth--;
	free(text);
	return rc;
}

static void reader_init(struct reader *r, struct conf_doc *doc,
			struct conf_error *err)
{
	memset(doc, 0, sizeof(*doc));
	memset(r, 0, sizeof(*r));
	err->text[0] = '\0';
	r->doc = doc;
	r->err = err;
	r->blocks[0].tail = &doc->nodes;
}

static void reader_done(struct reader *r)
{
	for (size_t i = 0; i < r->nr_seen; i++)
		free(r->seen[i]);
	free(r->seen);
}

int conf_doc_read_file(struct conf_doc *doc, const char *path,
		       struct conf_error *err)
{
	struct reader r;
	int rc;

	reader_init(&r, doc, err);
	rc = read_path(&r, path, NULL, false);
	reader_done(&r);
	return rc;
}

int conf_doc_read_buffer(struct conf_doc *doc, const char *name,
			 const char *text, size_t len, unsigned flags,
			 struct conf_error *err)
{
	struct reader r;
	const char *interned;
	int rc = -1;

	reader_init(&r, doc, err);
	r.no_includes = flags & CONF_NO_INCLUDES;
	interned = intern_file(&r, name);
	r.buffer_name = interned;
	if (!interned)
		no_memory(&r, NULL);
	else
		rc = parse_text(&r, interned, text, len);
	reader_done(&r);
	return rc;
}

static void free_nodes(struct conf_node *n)
{
	while (n) {
		struct conf_node *next = n->next;

		free_nodes(n->children);
		free(n->key);
		free(n->value);
		free(n);
		n = next;
	}
}

void conf_doc_free(struct conf_doc *doc)
{
	free_nodes(doc->nodes);
	for (size_t i = 0; i < doc->nr_files; i++)
		free(doc->files[i]);
	free(doc->files);
	memset(doc, 0, sizeof(*doc));
}
