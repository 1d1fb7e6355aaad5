/* test_schema_dump.c - the frame table as the `frames` request shows it
 * (schema_dump.h): built-in rows in the configuration's syntax, NO left out,
 * and custom definitions that load back into the same definitions.
 */
#include "testutil.h"

#include "schema_dump.h"

static json_t *find_type(json_t *list, const char *type)
{
    size_t i;
    json_t *o;
    json_array_foreach(list, i, o)
        if (tu_streq(json_string_value(json_object_get(o, "type")), type))
            return o;
    return NULL;
}

static void builtin_rows(void **state)
{
    (void)state;
    struct schema *s = schema_new();
    assert_non_null(s);
    json_t *list = schema_frames_json(s);
    assert_non_null(list);
    char *jt = json_dumps(find_type(list, "JT"), JSON_COMPACT | JSON_SORT_KEYS);
    assert_string_equal(jt, "{\"builtin\":true,\"direction\":\"in\",\"fields\":[{\"count\":6,"
                            "\"kind\":\"real\",\"max\":3.4e38,\"min\":-3.4e38,\"name\":\"joints\"}],"
                            "\"type\":\"JT\"}");
    free(jt);
    char *setdo = json_dumps(find_type(list, "SETDO"), JSON_COMPACT | JSON_SORT_KEYS);
    assert_string_equal(setdo, "{\"builtin\":true,\"direction\":\"out\",\"fields\":["
                               "{\"kind\":\"identifier\",\"name\":\"name\"},"
                               "{\"kind\":\"int\",\"max\":1,\"min\":0,\"name\":\"value\"}],"
                               "\"type\":\"SETDO\"}");
    free(setdo);
    json_t *st = find_type(list, "ST");
    assert_string_equal(json_string_value(json_array_get(json_object_get(
                            json_array_get(json_object_get(st, "fields"), 0), "values"), 1)),
                        "STOPPED");
    assert_true(json_is_true(json_object_get(find_type(list, "STOP"), "urgent")));
    assert_null(json_object_get(find_type(list, "SETDO"), "urgent"));
    assert_true(json_is_false(json_object_get(find_type(list, "HB"), "publish")));
    assert_true(json_is_true(json_object_get(json_array_get(json_object_get(
                    find_type(list, "HI"), "fields"), 2), "optional")));
    assert_null(find_type(list, "NO")); /* sent by the bridge only */
    /* Every other built-in row is there, in table order. */
    size_t n = 0;
    const struct frame_def *d;
    for (size_t i = 0; (d = schema_at(s, i)) != NULL; i++)
        if (!d->from_bridge)
            assert_string_equal(json_string_value(json_object_get(json_array_get(list, n++), "type")),
                                d->type);
    assert_int_equal(json_array_size(list), n);
    json_decref(list);
    schema_free(s);
}

static const char custom[] =
    "[{\"type\":\"WD\",\"direction\":\"in\",\"publish\":false,\"fields\":["
    " {\"name\":\"current\",\"kind\":\"real\",\"min\":0,\"max\":1000.5},"
    " {\"name\":\"mode\",\"kind\":\"enum\",\"values\":[\"PULSE\",\"CV\"]},"
    " {\"name\":\"zones\",\"kind\":\"int\",\"count\":3,\"min\":-5,\"max\":5},"
    " {\"name\":\"note\",\"kind\":\"text\",\"optional\":true}]},"
    " {\"type\":\"RECIPE\",\"direction\":\"out\",\"fields\":["
    " {\"name\":\"id\",\"kind\":\"identifier\"},{\"name\":\"n\",\"kind\":\"int\"}]},"
    " {\"type\":\"NOP\",\"direction\":\"out\",\"fields\":[]},"
    " {\"type\":\"JB\",\"direction\":\"in\",\"request\":\"JA\",\"fields\":["
    " {\"name\":\"station\",\"kind\":\"int\",\"min\":1,\"max\":9}]},"
    " {\"type\":\"JA\",\"direction\":\"out\",\"fields\":[{\"name\":\"job\",\"kind\":\"identifier\"}]}]";

/* The custom rows, with "builtin" taken out, are a valid "frames" array that
 * loads into the same definitions. */
static void custom_rows_load_back(void **state)
{
    (void)state;
    struct schema *s = schema_new();
    struct schema_error err;
    json_t *frames = json_loads(custom, 0, NULL);
    assert_non_null(frames);
    assert_int_equal(schema_add_json(s, frames, "frames", &err), 0);
    json_t *list = schema_frames_json(s);
    json_t *again = json_array();
    size_t i;
    json_t *o;
    json_array_foreach(list, i, o) {
        if (json_is_true(json_object_get(o, "builtin")))
            continue;
        json_t *copy = json_deep_copy(o);
        json_object_del(copy, "builtin");
        json_array_append_new(again, copy);
    }
    assert_int_equal(json_array_size(again), 5);
    /* A request names its reply, as the configuration does; RX is the bridge's. */
    assert_string_equal(json_string_value(json_object_get(find_type(list, "JB"), "request")), "JA");
    assert_null(json_object_get(find_type(list, "JA"), "request"));
    assert_null(find_type(list, "RX"));
    struct schema *s2 = schema_new();
    if (schema_add_json(s2, again, "frames", &err) != 0)
        fail_msg("%s: %s", err.path, err.message);
    json_t *list2 = schema_frames_json(s2);
    assert_true(json_equal(list, list2));
    const struct frame_def *wd = schema_find(s2, DIR_IN, "WD", 2);
    assert_non_null(wd);
    assert_false(wd->publish);
    assert_true(wd->fields[0].max == 1000.5);
    assert_int_equal(wd->fields[2].count, 3);
    assert_true(wd->fields[3].optional);
    json_decref(list2);
    json_decref(again);
    json_decref(list);
    json_decref(frames);
    schema_free(s2);
    schema_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(builtin_rows),
        cmocka_unit_test(custom_rows_load_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
