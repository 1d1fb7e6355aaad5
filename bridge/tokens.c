/* tokens.c - the tokens file (see tokens.h). */
#include "tokens.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static bool name_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9')
           || ch == '_' || ch == '.' || ch == '-';
}

static int hex_value(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

static bool blank(char ch)
{
    return ch == ' ' || ch == '\t';
}

/* One non-comment line [p, p + n) -> e; false with why set. */
static bool parse_line(const char *p, size_t n, struct token_entry *e, const char **why)
{
    size_t i = 0;
    while (i < n && blank(p[i]))
        i++;
    size_t start = i;
    while (i < n && name_char(p[i]))
        i++;
    size_t name_len = i - start;
    if (name_len == 0) {
        *why = "expected NAME SHA256HEX (a name of letters, digits, _ . -)";
        return false;
    }
    if (name_len > TOKEN_NAME_MAX) {
        *why = "the name is longer than 64 characters";
        return false;
    }
    if (i == n || !blank(p[i])) {
        *why = "expected NAME SHA256HEX (a name of letters, digits, _ . -, then a space)";
        return false;
    }
    memcpy(e->name, p + start, name_len);
    e->name[name_len] = '\0';
    while (i < n && blank(p[i]))
        i++;
    size_t hex_start = i;
    while (i < n && hex_value(p[i]) >= 0)
        i++;
    size_t hex_len = i - hex_start;
    while (i < n && blank(p[i]))
        i++;
    if (hex_len != 2 * TOKEN_DIGEST_LEN || i != n) {
        *why = "the hash must be the 64 hex digits of the token's SHA-256 "
               "(rapidbridge-cli token new NAME prints the line)";
        return false;
    }
    for (size_t k = 0; k < TOKEN_DIGEST_LEN; k++)
        e->digest[k] = (unsigned char)(hex_value(p[hex_start + 2 * k]) << 4
                                       | hex_value(p[hex_start + 2 * k + 1]));
    return true;
}

int tokens_parse(const char *name, const char *text, size_t len, struct token_entry **out,
                 char err[TOKENS_ERR_MAX])
{
    *out = NULL;
    struct token_entry *list = NULL;
    size_t count = 0, cap = 0;
    size_t line_no = 0;
    for (size_t pos = 0; pos < len;) {
        line_no++;
        const char *p = text + pos;
        const char *lf = memchr(p, '\n', len - pos);
        size_t n = lf ? (size_t)(lf - p) : len - pos;
        pos += n + (lf ? 1 : 0);
        if (n && p[n - 1] == '\r')
            n--;
        size_t i = 0;
        while (i < n && blank(p[i]))
            i++;
        if (i == n || p[i] == '#')
            continue;
        if (memchr(p, '\0', n)) {
            snprintf(err, TOKENS_ERR_MAX, "%s:%zu: a NUL byte in the line", name, line_no);
            goto fail;
        }
        struct token_entry e = {0};
        const char *why = "";
        if (!parse_line(p, n, &e, &why)) {
            snprintf(err, TOKENS_ERR_MAX, "%s:%zu: %s", name, line_no, why);
            goto fail;
        }
        for (size_t k = 0; k < count; k++) {
            if (strcmp(list[k].name, e.name) == 0) {
                snprintf(err, TOKENS_ERR_MAX, "%s:%zu: token name \"%s\" is already used above",
                         name, line_no, e.name);
                goto fail;
            }
        }
        if (count == TOKENS_MAX) {
            snprintf(err, TOKENS_ERR_MAX, "%s:%zu: more than %d tokens", name, line_no, TOKENS_MAX);
            goto fail;
        }
        if (count == cap) {
            cap = cap ? cap * 2 : 16;
            struct token_entry *grown = realloc(list, cap * sizeof *list);
            if (!grown) {
                snprintf(err, TOKENS_ERR_MAX, "%s: out of memory", name);
                goto fail;
            }
            list = grown;
        }
        list[count++] = e;
    }
    *out = list;
    return (int)count;
fail:
    free(list);
    return -1;
}

int tokens_load(const char *path, struct token_entry **out, char err[TOKENS_ERR_MAX])
{
    *out = NULL;
    /* O_NONBLOCK: a FIFO named here must not hang the loader. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        snprintf(err, TOKENS_ERR_MAX, "%s: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    char *buf = NULL;
    ssize_t n = -1;
    if (fstat(fd, &st) < 0)
        snprintf(err, TOKENS_ERR_MAX, "%s: %s", path, strerror(errno));
    else if (!S_ISREG(st.st_mode))
        snprintf(err, TOKENS_ERR_MAX, "%s: not a regular file", path);
    else if (st.st_mode & 007)
        snprintf(err, TOKENS_ERR_MAX, "%s is open to others (mode %04o): chmod o-rwx it", path,
                 (unsigned)(st.st_mode & 07777));
    else if (st.st_size > TOKENS_FILE_MAX)
        snprintf(err, TOKENS_ERR_MAX, "%s: larger than %d bytes", path, TOKENS_FILE_MAX);
    else if (!(buf = malloc(TOKENS_FILE_MAX + 1)))
        snprintf(err, TOKENS_ERR_MAX, "%s: out of memory", path);
    else {
        size_t got = 0;
        while (got <= TOKENS_FILE_MAX) {
            ssize_t r = read(fd, buf + got, TOKENS_FILE_MAX + 1 - got);
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0) {
                n = r < 0 ? -1 : (ssize_t)got;
                break;
            }
            got += (size_t)r;
            n = (ssize_t)got;
        }
        if (n < 0)
            snprintf(err, TOKENS_ERR_MAX, "%s: %s", path, strerror(errno));
        else if ((size_t)n > TOKENS_FILE_MAX) {
            snprintf(err, TOKENS_ERR_MAX, "%s: larger than %d bytes", path, TOKENS_FILE_MAX);
            n = -1;
        }
    }
    close(fd);
    int rc = n < 0 ? -1 : tokens_parse(path, buf, (size_t)n, out, err);
    free(buf);
    return rc;
}
