/* sim_replay.c - load a recorded robot log (see sim_replay.h). */
#include "sim_replay.h"

#include "schema.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *read_all(const char *path, size_t *len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 65536, n = 0;
    char *buf = malloc(cap + 1);
    while (buf) {
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (n < cap)
            break;
        if (cap >= (size_t)REPLAY_FILE_MAX) {
            snprintf(err, errlen, "%s: larger than %ld bytes", path, REPLAY_FILE_MAX);
            free(buf);
            fclose(f);
            return NULL;
        }
        cap *= 2;
        char *bigger = realloc(buf, cap + 1);
        if (!bigger)
            free(buf);
        buf = bigger;
    }
    if (!buf)
        snprintf(err, errlen, "%s: out of memory", path);
    else if (ferror(f)) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        free(buf);
        buf = NULL;
    } else {
        buf[n] = '\0';
        *len = n;
    }
    fclose(f);
    return buf;
}

/* One line (NUL-terminated, LF removed) -> a frame. Returns 1 for a frame,
 * 0 for a line to skip, -1 with err. */
static int parse_line(char *line, size_t n, struct replay_frame *out, const char **why)
{
    if (strlen(line) != n) {
        *why = "NUL byte in the line";
        return -1;
    }
    if (n > 0 && line[n - 1] == '\r')
        line[--n] = '\0';
    if (n == 0 || line[0] == '#')
        return 0;
    char *end;
    errno = 0;
    double t = strtod(line, &end);
    if (end == line || errno || !isfinite(t) || t < 0) {
        *why = "expected \"<unix time> <frame>\"";
        return -1;
    }
    if (*end != ' ' && *end != '\t') {
        *why = "expected a space after the time";
        return -1;
    }
    while (*end == ' ' || *end == '\t')
        end++;
    /* The bridge's --record writes a robot name between time and frame: a
     * word without ',' that is a RAPID identifier and has text after it. */
    out->robot = NULL;
    size_t word = strcspn(end, " \t");
    if (end[word] != '\0' && ident_valid(end, word)) {
        out->robot = end;
        end[word] = '\0';
        end += word + 1;
        while (*end == ' ' || *end == '\t')
            end++;
    }
    size_t len = n - (size_t)(end - line);
    if (len == 0) {
        *why = "no frame after the time";
        return -1;
    }
    if (len > REPLAY_LINE_MAX) {
        *why = "frame longer than 1023 bytes";
        return -1;
    }
    out->time = t;
    out->text = end;
    out->len = len;
    return 1;
}

/* A log of several robots keeps the frames of one of them only. */
static void keep_robot(struct sim_replay *r, const char *robot)
{
    const char *first = NULL;
    bool several = false;
    for (size_t i = 0; i < r->n && !several; i++) {
        const char *name = r->frames[i].robot;
        if (!name)
            continue;
        if (!first)
            first = name;
        else if (strcmp(first, name) != 0)
            several = true;
    }
    if (!several || !robot)
        return;
    size_t kept = 0;
    for (size_t i = 0; i < r->n; i++)
        if (!r->frames[i].robot || strcmp(r->frames[i].robot, robot) == 0)
            r->frames[kept++] = r->frames[i];
    r->n = kept;
}

struct sim_replay *replay_load(const char *path, const char *robot, char *err, size_t errlen)
{
    size_t size;
    char *text = read_all(path, &size, err, errlen);
    if (!text)
        return NULL;
    struct sim_replay *r = calloc(1, sizeof *r);
    size_t lines = 1;
    for (size_t i = 0; i < size; i++)
        lines += text[i] == '\n';
    if (r)
        r->frames = calloc(lines, sizeof *r->frames);
    if (!r || !r->frames) {
        snprintf(err, errlen, "%s: out of memory", path);
        free(r);
        free(text);
        return NULL;
    }
    r->storage = text;
    char *line = text;
    for (size_t lineno = 1; line < text + size; lineno++) {
        char *lf = memchr(line, '\n', (size_t)(text + size - line));
        char *end = lf ? lf : text + size;
        *end = '\0';
        const char *why = NULL;
        int rc = parse_line(line, (size_t)(end - line), &r->frames[r->n], &why);
        if (rc < 0) {
            snprintf(err, errlen, "%s:%zu: %s", path, lineno, why);
            replay_free(r);
            return NULL;
        }
        r->n += (size_t)rc;
        line = end + 1;
    }
    keep_robot(r, robot);
    if (r->n == 0) {
        snprintf(err, errlen, "%s: no frames%s%s", path, robot ? " of robot " : "",
                 robot ? robot : "");
        replay_free(r);
        return NULL;
    }
    r->starts_with_hi = strncmp(r->frames[0].text, "HI,", 3) == 0;
    return r;
}

void replay_free(struct sim_replay *r)
{
    if (!r)
        return;
    free(r->frames);
    free(r->storage);
    free(r);
}
