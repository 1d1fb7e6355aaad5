/* offline.c - token new, audit verify (see offline.h). */
#include "offline.h"

#include <errno.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HASH_HEX 64

static void hex(const unsigned char *data, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[data[i] >> 4];
        out[2 * i + 1] = digits[data[i] & 15];
    }
    out[2 * n] = '\0';
}

static bool sha256_hex(const void *data, size_t len, char out[HASH_HEX + 1])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (!EVP_Digest(data, len, md, &n, EVP_sha256(), NULL) || n != HASH_HEX / 2)
        return false;
    hex(md, n, out);
    return true;
}

int offline_token_new(const char *name)
{
    size_t n = strlen(name);
    bool ok = n > 0 && n <= TOKEN_NAME_CHARS_MAX;
    for (size_t i = 0; i < n && ok; i++)
        ok = strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-", name[i])
             != NULL;
    if (!ok) {
        fprintf(stderr, "rapidbridge-cli: a token name is 1 to %d letters, digits, _ . or -\n",
                TOKEN_NAME_CHARS_MAX);
        return 2;
    }
    unsigned char raw[TOKEN_BYTES];
    char token[2 * TOKEN_BYTES + 1], digest[HASH_HEX + 1];
    if (RAND_bytes(raw, sizeof raw) != 1) {
        fprintf(stderr, "rapidbridge-cli: no random bytes from OpenSSL\n");
        return 2;
    }
    hex(raw, sizeof raw, token);
    bool hashed = sha256_hex(token, strlen(token), digest);
    if (hashed) {
        printf("token for %s (shown once; give it to the client, e.g. in a file only it can "
               "read):\n%s\n\nadd this line to the bridge's tokens_file, then reload it "
               "(systemctl reload rapidbridge):\n%s %s\n", name, token, name, digest);
    }
    OPENSSL_cleanse(raw, sizeof raw);
    OPENSSL_cleanse(token, sizeof token);
    return hashed ? 0 : 2;
}

int offline_audit_verify(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "rapidbridge-cli: %s: %s\n", path, strerror(errno));
        return 2;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    unsigned long n = 0;
    char prev[HASH_HEX + 1] = "";
    int status = 0;
    while ((got = getline(&line, &cap, f)) >= 0) {
        n++;
        size_t len = (size_t)got;
        if (len && line[len - 1] == '\n')
            len--;
        const char *why = NULL;
        json_t *rec = len <= VERIFY_LINE_MAX ? json_loadb(line, len, 0, NULL) : NULL;
        const char *p = json_string_value(json_object_get(rec, "prev"));
        if (!json_is_object(rec))
            why = "not a JSON object";
        else if (!p)
            why = "no \"prev\" member";
        else if (n > 1 && strcmp(p, prev) != 0)
            why = "\"prev\" does not match the line before (a line was edited, removed or moved)";
        json_decref(rec);
        if (why) {
            printf("%s:%lu: %s\n", path, n, why);
            status = 1;
            break;
        }
        if (!sha256_hex(line, len, prev)) {
            fprintf(stderr, "rapidbridge-cli: SHA-256 is not available\n");
            status = 2;
            break;
        }
    }
    if (status == 0 && ferror(f)) {
        fprintf(stderr, "rapidbridge-cli: %s: %s\n", path, strerror(errno));
        status = 2;
    }
    if (status == 0)
        printf("%s: %lu records, the chain holds\n", path, n);
    free(line);
    fclose(f);
    return status;
}
