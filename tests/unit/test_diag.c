/* test_diag.c - STATS requests.errors by code (bridge/diag): codes are
 * counted apart up to DIAG_CODES_MAX, the last slot is kept for "other",
 * and a code too long for the table counts as "other". */
#include "testutil.h"

#include "bridge.h"
#include "diag.h"

static json_t *errors_of(struct bridge *b)
{
    json_t *j = json_object();
    diag_stats(b, j);
    json_t *e = json_object_get(json_object_get(j, "requests"), "errors");
    json_incref(e);
    json_decref(j);
    return e;
}

static void test_error_codes(void **state)
{
    (void)state;
    static struct bridge b;
    memset(&b, 0, sizeof b);
    json_t *e = errors_of(&b);
    assert_int_equal(json_object_size(e), 0);
    json_decref(e);

    diag_count_error(&b, "bad_json");
    diag_count_error(&b, "bad_json");
    diag_count_error(&b, "timeout");
    diag_count_error(&b, NULL);
    diag_count_error(&b, "a_code_much_longer_than_the_table_allows");
    e = errors_of(&b);
    assert_int_equal(json_integer_value(json_object_get(e, "bad_json")), 2);
    assert_int_equal(json_integer_value(json_object_get(e, "timeout")), 1);
    assert_int_equal(json_integer_value(json_object_get(e, "other")), 2);
    assert_int_equal(json_object_size(e), 3);
    json_decref(e);

    /* Fill the table: the codes beyond it go to "other", known ones still count. */
    for (int i = 0; i < 2 * DIAG_CODES_MAX; i++) {
        char code[DIAG_CODE_LEN];
        snprintf(code, sizeof code, "code%d", i);
        diag_count_error(&b, code);
    }
    diag_count_error(&b, "timeout");
    e = errors_of(&b);
    assert_int_equal(json_object_size(e), DIAG_CODES_MAX);
    assert_int_equal(json_integer_value(json_object_get(e, "timeout")), 2);
    /* 3 codes were in before; 29 new ones fit, 35 went to other (2 there already). */
    assert_int_equal(json_integer_value(json_object_get(e, "other")), 2 + 2 * DIAG_CODES_MAX - (DIAG_CODES_MAX - 3));
    json_decref(e);
}

static void test_error_codes_other_last(void **state)
{
    (void)state;
    static struct bridge b;
    memset(&b, 0, sizeof b);
    /* No "other" yet when the table fills: the last slot is still kept for it. */
    for (int i = 0; i < DIAG_CODES_MAX + 3; i++) {
        char code[DIAG_CODE_LEN];
        snprintf(code, sizeof code, "c%d", i);
        diag_count_error(&b, code);
    }
    json_t *e = errors_of(&b);
    assert_int_equal(json_object_size(e), DIAG_CODES_MAX);
    assert_int_equal(json_integer_value(json_object_get(e, "other")), 4);
    assert_null(json_object_get(e, "c31"));
    assert_non_null(json_object_get(e, "c30"));
    json_decref(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_error_codes),
        cmocka_unit_test(test_error_codes_other_last),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
