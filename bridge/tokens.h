/* tokens.h - the tokens file: NAME SHA256HEX per line, never a token.
 *
 * Format (interface 1.1 A): one token per line, its name, one or more
 * spaces or tabs, and the 64 hex digits of the SHA-256 of the token text
 * (either case). Blank lines and lines whose first non-blank character is
 * '#' are ignored; a CR before the LF is dropped. A name is 1 to
 * TOKEN_NAME_MAX characters of [A-Za-z0-9_.-]. A malformed line, a
 * duplicate name, more than TOKENS_MAX tokens or a file over
 * TOKENS_FILE_MAX bytes is an error "FILE:LINE: message" (FILE: message for
 * the whole file). The file must be a regular file that others cannot
 * read, write or execute (mode & 007 == 0); a missing file is an error.
 *
 * Ownership: the caller frees *out with free() (also on error: NULL then).
 */
#ifndef RB_TOKENS_H
#define RB_TOKENS_H

#include <stddef.h>

#define TOKEN_NAME_MAX 64               /* = PRINCIPAL_NAME_MAX */
#define TOKEN_DIGEST_LEN 32             /* SHA-256 */
#define TOKENS_MAX 1024
#define TOKENS_FILE_MAX (256 * 1024)
#define TOKENS_ERR_MAX 512

struct token_entry {
    char name[TOKEN_NAME_MAX + 1];
    unsigned char digest[TOKEN_DIGEST_LEN];
};

/* Parse text (name is used in messages). Returns the count, or -1 with err. */
int tokens_parse(const char *name, const char *text, size_t len, struct token_entry **out,
                 char err[TOKENS_ERR_MAX]);

/* Read and parse path, checking its type and mode first. */
int tokens_load(const char *path, struct token_entry **out, char err[TOKENS_ERR_MAX]);

#endif
