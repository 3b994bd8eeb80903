/* The syntax of targets.conf, without its meaning: the Apache-like format
 * that tgt-admin reads with Perl's Config::General (spec tgt-compat.md
 * §5.1). A file becomes a tree of nodes: directives ("key value") and
 * blocks ("<type argument> ... </type>"), each with the file and line it
 * came from. `include` lines are replaced by the nodes of the files they
 * name.
 *
 * Accepted, as Config::General does: `#` comments (also after a value;
 * `\#` is a literal #), C comments starting a line, a trailing backslash
 * continuing a line, `key value`, `key = value`, a value in double quotes
 * (quotes removed), `include` / `includeoptional` with a file, a
 * directory (its regular files in ASCII order) or a glob (no match is
 * fine), each file read once; an included file must be a regular file.
 * Differences: a relative include is found
 * from the including file's directory (Config::General: from the current
 * directory); a closing tag must name the block it closes, inside the
 * same file; here-documents are not supported.
 *
 * Used by one thread; no shared state. */
#ifndef MTGT_TOOLS_CONF_SYNTAX_H
#define MTGT_TOOLS_CONF_SYNTAX_H

#include <stdbool.h>
#include <stddef.h>

/* Where a node was written. file points into the owning document. */
struct conf_loc {
	const char *file;
	unsigned line;
};

struct conf_node {
	char *key;   /* directive name, or block type ("target") */
	char *value; /* the rest of the line / block argument; NULL: none */
	struct conf_loc loc;
	bool is_block;
	struct conf_node *children; /* blocks: the nodes inside, in order */
	struct conf_node *next;
};

/* One parsed file with everything it includes. */
struct conf_doc {
	struct conf_node *nodes; /* top-level nodes in order */
	char **files;            /* names of the files read (for conf_loc) */
	size_t nr_files;
};

/* "file:line: directive 'key': message", or without the directive part
 * for errors that are not about one. */
struct conf_error {
	char text[1024];
};

/* Reads a file (and its includes) into doc. Returns 0, or -1 with err
 * filled; doc must be freed either way. */
int conf_doc_read_file(struct conf_doc *doc, const char *path,
		       struct conf_error *err);

/* conf_doc_read_buffer flag: an include line is an error (for fuzzing,
 * where the text must not reach the file system). */
#define CONF_NO_INCLUDES 1u

/* The same for text in memory (len bytes, need not be NUL-terminated),
 * named `name` in locations; relative includes are found from the
 * current directory. */
int conf_doc_read_buffer(struct conf_doc *doc, const char *name,
			 const char *text, size_t len, unsigned flags,
			 struct conf_error *err);

void conf_doc_free(struct conf_doc *doc);

/* Formats an error about the node at loc (key may be NULL). */
void conf_error_set(struct conf_error *err, const struct conf_loc *loc,
		    const char *key, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif
