/* test_reply.c - ERROR objects always carry a message, even when the text
 * is cut inside a UTF-8 character quoted from a client. */
#include "reply.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

static json_t *error_of(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static json_t *error_of(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    json_t *j = reply_error_vnew(NULL, "unknown_robot", fmt, ap);
    va_end(ap);
    return j;
}

static void test_message_survives_cut_utf8(void **state)
{
    (void)state;
    /* 1..4-byte characters, repeated past the message bound at every offset. */
    static const char *const chars[] = {"a", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\xa4\x96"};
    for (size_t c = 0; c < sizeof chars / sizeof chars[0]; c++) {
        for (size_t prefix = 0; prefix < 4; prefix++) {
            char name[1200] = "";
            memset(name, 'x', prefix);
            name[prefix] = '\0';
            while (strlen(name) + strlen(chars[c]) < sizeof name)
                strcat(name, chars[c]);
            json_t *j = error_of("no robot named \"%s\" is configured", name);
            assert_non_null(j);
            const char *m = json_string_value(json_object_get(j, "message"));
            if (!m)
                fail_msg("char %zu, prefix %zu: no message", c, prefix);
            assert_true(strncmp(m, "no robot named \"", 16) == 0);
            assert_true(strlen(m) > 200);
            json_decref(j);
        }
    }
}

static void test_short_message_whole(void **state)
{
    (void)state;
    json_t *j = error_of("robot %s is not connected", "rob\xc3\xa9");
    assert_string_equal(json_string_value(json_object_get(j, "message")),
                        "robot rob\xc3\xa9 is not connected");
    assert_string_equal(json_string_value(json_object_get(j, "code")), "unknown_robot");
    assert_string_equal(json_string_value(json_object_get(j, "class")), "ERROR");
    json_decref(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_message_survives_cut_utf8),
        cmocka_unit_test(test_short_message_whole),
    };
    return cmocka_run_group_tests_name("reply", tests, NULL, NULL);
}
