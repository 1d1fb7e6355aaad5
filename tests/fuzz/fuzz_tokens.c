/* fuzz_tokens.c - libFuzzer harness: tokens file text -> tokens_parse.
 *
 * The input is the text of a tokens file named "fuzz.tokens". Parsing must
 * return -1 or a count of at most TOKENS_MAX. On -1 the message is one
 * NUL-terminated line starting "fuzz.tokens" and no list is returned; on a
 * count, every name is 1..TOKEN_NAME_MAX characters of [A-Za-z0-9_.-] and
 * names are distinct. Parsing the same text again gives the same result.
 */
#include "fuzz.h"
#include "tokens.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define NAME "fuzz.tokens"

static bool name_ok(const char *s)
{
    size_t n = strnlen(s, TOKEN_NAME_MAX + 1);
    if (n == 0 || n > TOKEN_NAME_MAX)
        return false;
    return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct token_entry *list = NULL, *again = NULL;
    char err[TOKENS_ERR_MAX], err2[TOKENS_ERR_MAX];
    int n = tokens_parse(NAME, (const char *)data, size, &list, err);
    int m = tokens_parse(NAME, (const char *)data, size, &again, err2);
    CHECK(n == m);
    CHECK(n >= -1 && n <= TOKENS_MAX);
    if (n < 0) {
        CHECK(list == NULL);
        CHECK(memchr(err, '\0', sizeof err) != NULL);
        CHECK(strncmp(err, NAME, strlen(NAME)) == 0);
        CHECK(strchr(err, '\n') == NULL);
        CHECK(strcmp(err, err2) == 0);
    }
    for (int i = 0; i < n; i++) {
        CHECK(name_ok(list[i].name));
        for (int k = 0; k < i; k++)
            CHECK(strcmp(list[i].name, list[k].name) != 0);
        CHECK(strcmp(list[i].name, again[i].name) == 0);
        CHECK(memcmp(list[i].digest, again[i].digest, TOKEN_DIGEST_LEN) == 0);
    }
    free(list);
    free(again);
    return 0;
}
