/* offline.h - the CLI commands that never talk to the bridge.
 *
 * token new NAME: a fresh token of TOKEN_BYTES random bytes (RAND_bytes),
 * printed once in hex, and the "NAME SHA256HEX" line for the bridge's
 * tokens file. The token is never stored anywhere by the CLI.
 *
 * audit verify FILE: each line must be a JSON object whose "prev" is the
 * hex SHA-256 of the line before it (without its LF); the first line's
 * "prev" is taken as given. Prints the record count and returns 0 when the
 * chain holds, else names the first bad line (FILE:LINE: why) and returns
 * 1; 2 when the file cannot be read. Lines longer than VERIFY_LINE_MAX
 * bytes are bad lines.
 */
#ifndef RB_CLI_OFFLINE_H
#define RB_CLI_OFFLINE_H

#define TOKEN_BYTES 32                 /* 256 bits, well over the 128 asked for */
#define TOKEN_NAME_CHARS_MAX 64
#define VERIFY_LINE_MAX (1024 * 1024)

int offline_token_new(const char *name);
int offline_audit_verify(const char *path);

#endif
