#include "preflight.h"

#include "jsonpos.h"
#include "tls.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The loader refuses larger files, so a file it accepted fits. */
#define PREFLIGHT_TEXT_MAX (1024 * 1024)

/* "FILE:LINE:COL: " for key in the configuration file (1:1 when it cannot
 * be found again, say when the file changed since it was loaded). */
static void where(const char *path, const char *key, char *out, size_t n)
{
    int line = 1, col = 1;
    FILE *f = fopen(path, "r");
    char *text = f ? malloc(PREFLIGHT_TEXT_MAX) : NULL;
    if (text) {
        size_t len = fread(text, 1, PREFLIGHT_TEXT_MAX, f);
        if (jsonpos_locate(text, len, key, &line, &col) < 0)
            line = col = 1;
    }
    free(text);
    if (f)
        fclose(f);
    snprintf(out, n, "%s:%d:%d", path, line, col);
}

__attribute__((format(printf, 5, 6)))
static int fail(const char *path, const char *key, bool from_cli, char err[CONFIG_ERR_MAX],
                const char *fmt, ...)
{
    char at[PATH_MAX + 32];
    if (from_cli || !path)
        snprintf(at, sizeof at, "--%s", key);
    else
        where(path, key, at, sizeof at);
    int n = snprintf(err, CONFIG_ERR_MAX, "%s: ", at);
    if (n < 0 || n >= CONFIG_ERR_MAX)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err + n, CONFIG_ERR_MAX - (size_t)n, fmt, ap);
    va_end(ap);
    return -1;
}

/* fopen(file, "a") would succeed: the file is writable, or absent in a
 * directory where it can be created. Nothing is created. */
static int appendable(const char *file)
{
    struct stat st;
    if (stat(file, &st) == 0) {
        if (S_ISDIR(st.st_mode)) {
            errno = EISDIR;
            return -1;
        }
        return access(file, W_OK);
    }
    if (errno != ENOENT)
        return -1;
    char dir[sizeof ((struct config *)0)->record > sizeof ((struct config *)0)->audit_file
             ? sizeof ((struct config *)0)->record : sizeof ((struct config *)0)->audit_file];
    snprintf(dir, sizeof dir, "%s", file);
    return access(dirname(dir), W_OK | X_OK);
}

int preflight_check(const struct config *cfg, const char *path, bool record_from_cli,
                    char err[CONFIG_ERR_MAX])
{
    if (cfg->record[0] && appendable(cfg->record) < 0)
        return fail(path, "record", record_from_cli, err, "record file %s cannot be written: %s",
                    cfg->record, strerror(errno));
    /* The tokens file was read by the loader already (mode, syntax). */
    if (cfg->audit_file[0] && appendable(cfg->audit_file) < 0)
        return fail(path, "audit_file", false, err, "audit file %s cannot be written: %s",
                    cfg->audit_file, strerror(errno));
    const struct {
        const char *what;
        const struct tls_cfg *tls;
    } servers[] = {{"json_tls", &cfg->json_tls}, {"http_tls", &cfg->http_tls}};
    for (size_t i = 0; i < sizeof servers / sizeof servers[0]; i++) {
        if (!servers[i].tls->enabled)
            continue;
        /* Built as at start: files readable, PEM, the key matching the cert
         * (libwebsockets loads http_tls's files the same way). */
        char tls_err[TLS_ERR_MAX];
        struct tls_server *t = tls_server_new(servers[i].tls, servers[i].what, tls_err);
        if (!t) {
            /* tls_err starts with the member ("json_tls.key FILE: ..."). */
            char key[sizeof "json_tls.cert"];
            snprintf(key, sizeof key, "%s", servers[i].what);
            sscanf(tls_err, "%13[a-z_.]", key);
            return fail(path, key, false, err, "%s", tls_err);
        }
        tls_server_free(t);
    }
    const struct mqtt_cfg *m = &cfg->mqtt;
    if (!m->enabled)
        return 0;
    const struct {
        const char *key, *file;
    } files[] = {{"mqtt.ca", m->ca}, {"mqtt.cert", m->cert}, {"mqtt.key", m->key}};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        if (files[i].file[0] && access(files[i].file, R_OK) < 0)
            return fail(path, files[i].key, false, err, "%s %s cannot be read: %s", files[i].key,
                        files[i].file, strerror(errno));
    return 0;
}
