/* audit.c - the chained audit trail (see audit.h). */
#include "audit.h"

#include "bridge.h"
#include "render.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void audit_hash(const void *data, size_t len, char hex[AUDIT_HASH_HEX + 1])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (!EVP_Digest(data, len, md, &n, EVP_sha256(), NULL) || n != AUDIT_HASH_HEX / 2)
        memset(md, 0, sizeof md); /* cannot happen with the default provider */
    static const char digits[] = "0123456789abcdef";
    for (unsigned i = 0; i < AUDIT_HASH_HEX / 2; i++) {
        hex[2 * i] = digits[md[i] >> 4];
        hex[2 * i + 1] = digits[md[i] & 15];
    }
    hex[AUDIT_HASH_HEX] = '\0';
}

bool audit_enabled(const struct bridge *b)
{
    return b->cfg.audit_file[0] != '\0';
}

/* The hash of the last line of the file open for reading on fd, or 64
 * zeros when it holds none. A last line longer than AUDIT_TAIL_MAX is
 * hashed from its tail (it cannot be a record of ours; verify will name
 * it). *lf_missing: the file does not end with LF, so the next record
 * must begin with one to start its own line. */
static void read_last_line(int fd, char prev[AUDIT_HASH_HEX + 1], bool *lf_missing)
{
    memset(prev, '0', AUDIT_HASH_HEX);
    prev[AUDIT_HASH_HEX] = '\0';
    *lf_missing = false;
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size == 0)
        return;
    off_t size = st.st_size;
    size_t want = size > AUDIT_TAIL_MAX ? AUDIT_TAIL_MAX : (size_t)size;
    char *buf = malloc(want);
    if (!buf)
        return;
    if (pread(fd, buf, want, size - (off_t)want) == (ssize_t)want) {
        size_t end = want;
        *lf_missing = buf[end - 1] != '\n';
        if (!*lf_missing)
            end--;
        size_t start = end;
        while (start > 0 && buf[start - 1] != '\n')
            start--;
        audit_hash(buf + start, end - start, prev);
    }
    free(buf);
}

static int open_file(const char *path)
{
    return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
}

int audit_open(struct bridge *b, char err[AUDIT_ERR_MAX])
{
    struct audit *a = &b->audit;
    a->fd = -1;
    if (!audit_enabled(b))
        return 0;
    a->fd = open_file(b->cfg.audit_file);
    if (a->fd < 0) {
        snprintf(err, AUDIT_ERR_MAX, "cannot open audit file %s: %s", b->cfg.audit_file,
                 strerror(errno));
        return -1;
    }
    /* O_WRONLY cannot pread: read the tail through a second descriptor. */
    memset(a->prev, '0', AUDIT_HASH_HEX);
    a->prev[AUDIT_HASH_HEX] = '\0';
    int rfd = open(b->cfg.audit_file, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (rfd >= 0) {
        bool lf_missing = false;
        read_last_line(rfd, a->prev, &lf_missing);
        close(rfd);
        if (lf_missing && write(a->fd, "\n", 1) != 1)
            a->failing = true;
    }
    log_info(&b->log, "audit trail: %s", b->cfg.audit_file);
    json_t *rec = audit_event("start", NULL, NULL);
    if (rec)
        json_object_set_new(rec, "release", json_string(RB_RELEASE));
    audit_record(b, rec);
    return 0;
}

void audit_reopen(struct bridge *b)
{
    struct audit *a = &b->audit;
    if (!audit_enabled(b))
        return;
    int fd = open_file(b->cfg.audit_file);
    if (a->fd >= 0)
        close(a->fd);
    a->fd = fd;
    if (fd < 0) {
        a->failures++;
        log_error(&b->log, "audit file %s cannot be reopened: %s; commands are refused "
                  "(audit_failed) until a SIGHUP reopens it", b->cfg.audit_file, strerror(errno));
        return;
    }
    log_info(&b->log, "audit file %s reopened", b->cfg.audit_file);
    audit_record(b, audit_event("reload", NULL, NULL));
}

void audit_close(struct bridge *b, const char *reason)
{
    struct audit *a = &b->audit;
    if (a->fd < 0)
        return;
    json_t *rec = audit_event("stop", NULL, NULL);
    if (rec)
        json_object_set_new(rec, "reason", json_string(reason));
    audit_record(b, rec);
    close(a->fd);
    a->fd = -1;
}

json_t *audit_event(const char *event, const struct principal *who, const char *peer)
{
    json_t *j = json_pack("{s:s}", "event", event);
    if (!j)
        return NULL;
    if (who) {
        char text[PRINCIPAL_TEXT_MAX];
        json_object_set_new(j, "principal", json_string(principal_text(who, text)));
    }
    if (peer)
        json_object_set_new(j, "peer", json_string(peer));
    return j;
}

static int record_failed(struct bridge *b, const char *why)
{
    struct audit *a = &b->audit;
    a->failures++;
    if (!a->failing)
        log_error(&b->log, "audit file %s cannot be written (%s): commands are refused "
                  "(audit_failed)", b->cfg.audit_file, why);
    a->failing = true;
    return -1;
}

int audit_record(struct bridge *b, json_t *record)
{
    struct audit *a = &b->audit;
    if (!audit_enabled(b)) {
        json_decref(record);
        return 0;
    }
    if (!record)
        return record_failed(b, "out of memory");
    json_t *line = json_pack("{s:f, s:O, s:s}", "time", ev_time(), "event",
                             json_object_get(record, "event"), "prev", a->prev);
    if (line) {
        json_object_del(record, "event");
        json_object_update(line, record);
    }
    json_decref(record);
    char *text = line ? json_dumps(line, RB_JSON_FLAGS) : NULL;
    json_decref(line);
    if (!text)
        return record_failed(b, "out of memory");
    if (a->fd < 0) {
        free(text);
        return record_failed(b, "the file is not open");
    }
    size_t len = strlen(text);
    text[len] = '\n';  /* json_dumps's NUL becomes the LF: one write, one line */
    ssize_t w = write(a->fd, text, len + 1);
    int saved = errno;
    if (w != (ssize_t)(len + 1)) {
        free(text);
        return record_failed(b, w < 0 ? strerror(saved) : "short write");
    }
    audit_hash(text, len, a->prev);
    free(text);
    if (a->failing)
        log_info(&b->log, "audit file %s is written again", b->cfg.audit_file);
    a->failing = false;
    return 0;
}

void audit_stats(const struct bridge *b, json_t *reply)
{
    if (!audit_enabled(b))
        return;
    json_object_set_new(reply, "audit",
                        json_pack("{s:I}", "failures", (json_int_t)b->audit.failures));
}
