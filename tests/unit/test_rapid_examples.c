/* test_rapid_examples.c - the RAPID examples against the bridge's frame table.
 *
 * Reads every rapid-examples/ *.mod and *.sys file (run from the repository
 * root) and checks what no RAPID compiler here can:
 *
 * - Every frame the RAPID code sends is built on the line right below a
 *   marker comment  ! rb-frame send TYPE worst="<longest text>"  where "|"
 *   separates RbSendPart pieces. TYPE must be a robot frame of the schema,
 *   the worst text must decode as one (so field count and kinds are right),
 *   its seq must have five digits, each \Str piece must fit a RAPID string
 *   (the last one with room for "*HH" and LF), and the first string literal
 *   of the marked line must start with "TYPE,". Every RbSend / RbSendPart
 *   call must be marked (or continue a marked RbSendPart), and every built-in
 *   robot frame type must be sent somewhere.
 * - The command table of RbCommand.mod (RB_CMD_TYPES, RB_CMD_FIELDS) holds
 *   every built-in command type, each a command of the schema with that
 *   many fields, and each has its  CASE "TYPE":  handler.
 * - The frames the bridge sends by itself (NO, RX) are each recognised below a
 *   marker  ! rb-frame read TYPE fields=N  (the field count of the schema).
 * - The request the link task sends for the motion task (RbAsk) is sent below
 *   a marker  ! rb-frame request worst="<text>"  whose text is a request frame
 *   of config/cell-example.json (JB) that fits.
 * - Plain RAPID rules: string literals of at most 80 characters, names of at
 *   most 32, blocks (MODULE, PROC, IF ... THEN, FOR ...) closed in order, and
 *   the module named like its file.
 *
 * The checks are functions run first on a table of made-up rows, so each
 * can be seen to fail, then on the files.
 */
#include "testutil.h"

#include "config.h"

#include <ctype.h>
#include <dirent.h>

#define EXAMPLES_DIR "rapid-examples"
#define COMMAND_MODULE "RbCommand.mod"
#define RAPID_STR_MAX 80   /* characters of a RAPID string, and of one \Str send */
#define CHECKSUM_ROOM 3    /* "*HH" that RbSend adds when rbChecksum is set */
#define WORST_SEQ "99999"  /* the longest seq, which every worst text must use */
#define LINE_MAX_LEN 400   /* longest source line the checks read */
#define FILES_MAX 16
#define LINES_MAX 2000
#define BLOCK_DEPTH_MAX 32
#define WHY_MAX 200

/* --- source files --------------------------------------------------------- */

struct src {
    char name[64];          /* file name, e.g. "RbLink.sys" */
    char *text;             /* whole file, lines split in place */
    char *lines[LINES_MAX];
    size_t nlines;
};

static struct src files[FILES_MAX];
static size_t nfiles;

static bool has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n > m && strcmp(s + n - m, suffix) == 0;
}

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t len = 0, cap = 0;
    int c;
    while ((c = fgetc(f)) != EOF) {
        if (len + 1 >= cap) {
            cap = cap ? cap * 2 : 4096;
            char *p = realloc(buf, cap);
            if (!p) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = p;
        }
        buf[len++] = (char)c;
    }
    fclose(f);
    if (!buf)
        buf = calloc(1, 1);
    else
        buf[len] = '\0';
    return buf;
}

static void split_lines(struct src *f)
{
    char *p = f->text;
    f->nlines = 0;
    while (*p && f->nlines < LINES_MAX) {
        f->lines[f->nlines++] = p;
        char *nl = strchr(p, '\n');
        if (!nl)
            break;
        *nl = '\0';
        if (nl > p && nl[-1] == '\r')
            nl[-1] = '\0';
        p = nl + 1;
    }
}

static int load_files(void **state)
{
    (void)state;
    DIR *d = opendir(EXAMPLES_DIR);
    if (!d) {
        print_error("cannot open %s/ (run the test from the repository root)\n", EXAMPLES_DIR);
        return -1;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!has_suffix(e->d_name, ".mod") && !has_suffix(e->d_name, ".sys"))
            continue;
        struct src *f = &files[nfiles];
        size_t n = strlen(e->d_name);
        if (nfiles == FILES_MAX || n >= sizeof f->name) {
            print_error("%s: more than %d files, or a name over %zu characters\n", EXAMPLES_DIR,
                        FILES_MAX, sizeof f->name - 1);
            closedir(d);
            return -1;
        }
        memcpy(f->name, e->d_name, n + 1);
        char path[sizeof EXAMPLES_DIR + sizeof f->name + 1];
        snprintf(path, sizeof path, "%s/%.63s", EXAMPLES_DIR, f->name);
        f->text = read_all(path);
        if (!f->text) {
            print_error("cannot read %s\n", path);
            closedir(d);
            return -1;
        }
        split_lines(f);
        nfiles++;
    }
    closedir(d);
    return 0;
}

static int free_files(void **state)
{
    (void)state;
    for (size_t i = 0; i < nfiles; i++)
        free(files[i].text);
    nfiles = 0;
    return 0;
}

static const struct src *find_file(const char *name)
{
    for (size_t i = 0; i < nfiles; i++)
        if (strcmp(files[i].name, name) == 0)
            return &files[i];
    return NULL;
}

/* --- RAPID lexing, just enough -------------------------------------------- */

/* One source line taken apart: code without the comment, the same code with
 * string contents blanked (for keywords and names), the comment text after
 * "!" (NULL when none), and the first string literal's raw text. */
struct rline {
    char code[LINE_MAX_LEN + 1];
    char bare[LINE_MAX_LEN + 1];
    const char *comment;
    char literal[LINE_MAX_LEN + 1];
    bool has_literal;
    bool too_long;
};

static size_t literals_of(const char *code, char out[][LINE_MAX_LEN + 1], size_t max);

static void lex_line(const char *line, struct rline *r)
{
    size_t n = 0;
    bool in_str = false;
    memset(r, 0, sizeof *r);
    r->too_long = strlen(line) > LINE_MAX_LEN;
    for (const char *p = line; *p && n + 2 < LINE_MAX_LEN; p++) {
        if (!in_str && *p == '!') {
            r->comment = p + 1;
            break;
        }
        bool quote = *p == '"';
        if (in_str && quote && p[1] == '"') { /* "" is a quote inside a string */
            r->code[n] = r->code[n + 1] = '"';
            r->bare[n] = r->bare[n + 1] = ' ';
            n += 2;
            p++;
            continue;
        }
        r->code[n] = *p;
        r->bare[n] = in_str && !quote ? ' ' : *p;
        n++;
        if (quote)
            in_str = !in_str;
    }
    r->has_literal = literals_of(r->code, &r->literal, 1) == 1;
}

/* Characters a RAPID string literal holds: "\HH" and "\\" are one. */
static size_t rapid_literal_len(const char *raw)
{
    size_t n = 0;
    for (const char *p = raw; *p; n++) {
        if (p[0] == '\\' && p[1] == '\\')
            p += 2;
        else if (p[0] == '\\' && isxdigit((unsigned char)p[1]) && isxdigit((unsigned char)p[2]))
            p += 3;
        else
            p++;
    }
    return n;
}

/* Every string literal of a code part, raw, one after another. */
static size_t literals_of(const char *code, char out[][LINE_MAX_LEN + 1], size_t max)
{
    size_t k = 0;
    const char *p = code;
    while (k < max && (p = strchr(p, '"')) != NULL) {
        size_t n = 0;
        for (p++; *p; p++) {
            if (*p == '"' && p[1] == '"') {
                out[k][n++] = '"';
                p++;
                continue;
            }
            if (*p == '"')
                break;
            out[k][n++] = *p;
        }
        out[k][n] = '\0';
        k++;
        if (*p)
            p++;
    }
    return k;
}

/* The first word of the code (after LOCAL / TASK), upper-cased. */
static void first_word(const char *bare, char *word, size_t size)
{
    const char *p = bare;
    for (int pass = 0; pass < 2; pass++) {
        while (*p && isspace((unsigned char)*p))
            p++;
        size_t n = 0;
        while ((isalnum((unsigned char)p[n]) || p[n] == '_') && n + 1 < size) {
            word[n] = (char)toupper((unsigned char)p[n]);
            n++;
        }
        word[n] = '\0';
        if (strcmp(word, "LOCAL") != 0 && strcmp(word, "TASK") != 0)
            return;
        p += n;
    }
}

static void last_word(const char *bare, char *word, size_t size)
{
    size_t end = strlen(bare);
    while (end > 0 && isspace((unsigned char)bare[end - 1]))
        end--;
    size_t start = end;
    while (start > 0 && (isalnum((unsigned char)bare[start - 1]) || bare[start - 1] == '_'))
        start--;
    size_t n = end - start < size - 1 ? end - start : size - 1;
    for (size_t i = 0; i < n; i++)
        word[i] = (char)toupper((unsigned char)bare[start + i]);
    word[n] = '\0';
}

static bool starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static const char *skip_space(const char *s)
{
    while (*s && isspace((unsigned char)*s))
        s++;
    return s;
}

/* --- check: one marked frame --------------------------------------------- */

/* worst: the marker's text, pieces separated by '|'. next_code: the code of
 * the line below the marker. Returns true when fine, else fills why. */
static bool check_send_frame(const struct schema *s, const char *type, const char *worst,
                             const char *next_code, char *why, size_t whysz)
{
    size_t tlen = strlen(type);
    char frame[FRAME_MAX + 1];
    size_t flen = 0, npieces = 0;

    if (!type_code_valid(type, tlen) || !schema_find(s, DIR_IN, type, tlen)) {
        snprintf(why, whysz, "%s is not a robot frame of the schema", type);
        return false;
    }
    for (const char *p = worst;; npieces++) {
        const char *bar = strchr(p, '|');
        size_t n = bar ? (size_t)(bar - p) : strlen(p);
        size_t room = bar ? RAPID_STR_MAX : RAPID_STR_MAX - CHECKSUM_ROOM - 1;
        if (n > room) {
            snprintf(why, whysz, "piece %zu is %zu characters, more than %zu%s", npieces + 1, n,
                     room, bar ? " (one \\Str send)" : " (room for *HH and LF)");
            return false;
        }
        if (flen + n > FRAME_MAX - CHECKSUM_ROOM - 1) {
            snprintf(why, whysz, "the frame is longer than %d bytes", FRAME_MAX);
            return false;
        }
        memcpy(frame + flen, p, n);
        flen += n;
        if (!bar)
            break;
        p = bar + 1;
    }
    npieces++;
    frame[flen] = '\0';
    if (strncmp(frame, type, tlen) != 0 || frame[tlen] != ',' ||
        strncmp(frame + tlen + 1, WORST_SEQ, strlen(WORST_SEQ)) != 0 ||
        (frame[tlen + 1 + strlen(WORST_SEQ)] != ',' && frame[tlen + 1 + strlen(WORST_SEQ)] != '\0')) {
        snprintf(why, whysz, "worst text must start with \"%s,%s\"", type, WORST_SEQ);
        return false;
    }
    struct frame_values fv;
    struct decode_error de = {0};
    if (frame_decode(s, DIR_IN, frame, flen, &fv, &de) != 0) {
        snprintf(why, whysz, "worst text does not decode: %s at field %u", frame_err_name(de.err),
                 de.field);
        return false;
    }
    struct rline r;
    lex_line(next_code, &r);
    char want[FRAME_TYPE_MAX + 2];
    snprintf(want, sizeof want, "%s,", type);
    if (!r.has_literal || !starts_with(r.literal, want)) {
        snprintf(why, whysz, "the line below does not build a \"%s\" frame", want);
        return false;
    }
    const char *call = skip_space(r.code);
    const char *want_call = npieces > 1 ? "RbSendPart " : "RbSend ";
    if (!starts_with(call, want_call)) {
        snprintf(why, whysz, "the line below must start with %s(%zu piece%s)", want_call, npieces,
                 npieces > 1 ? "s" : "");
        return false;
    }
    return true;
}

struct frame_case {
    const char *name;
    const char *type, *worst, *next_code;
    bool ok;
};

static const struct frame_case frame_cases[] = {
    { "JT fits", "JT", "JT,99999,-9999.99,-9999.99,-9999.99,-9999.99,-9999.99,-9999.99",
      "  RbSend \"JT,\" + RbSeqNext() + \",\" + s;", true },
    { "HB", "HB", "HB,99999", "RbSend \"HB,\" + RbSeqNext();", true },
    { "two pieces", "CF", "CF,99999,-99,-99,-99,-99,|" TU_ID32 "," TU_ID32,
      "RbSendPart \"CF,\" + RbSeqNext() + \",\" + s + \",\";", true },
    { "JT with five joints", "JT", "JT,99999,1,2,3,4,5", "RbSend \"JT,\" + s;", false },
    { "ST value out of range", "ST", "ST,99999,RUNNING,AUTO,ON,101", "RbSend \"ST,\" + s;", false },
    { "77 characters", "EV", "EV,99999,W,99,012345678901234567890123456789012345678901234567890123456789012",
      "RbSend \"EV,\" + s;", false },
    { "76 characters", "EV", "EV,99999,W,99,01234567890123456789012345678901234567890123456789012345678901",
      "RbSend \"EV,\" + s;", true },
    { "first piece over 80", "CF",
      "CF,99999,0,0,0,0,0123456789012345678901234567890123456789012345678901234567890123456789|,w",
      "RbSendPart \"CF,\" + s;", false },
    { "a command is not sent by the robot", "PING", "PING,99999", "RbSend \"PING,\" + s;", false },
    { "unknown type", "ZZ", "ZZ,99999", "RbSend \"ZZ,\" + s;", false },
    { "seq not of five digits", "HB", "HB,1", "RbSend \"HB,\" + RbSeqNext();", false },
    { "worst of another type", "HB", "JT,99999,1,2,3,4,5,6", "RbSend \"HB,\" + s;", false },
    { "line below builds another type", "JT", "JT,99999,1,2,3,4,5,6",
      "RbSend \"PS,\" + RbSeqNext() + \",\" + s;", false },
    { "line below sends nothing", "HB", "HB,99999", "rbLastJT := s;", false },
    { "pieces sent with RbSend", "CF", "CF,99999,0,0,0,0,|t,w", "RbSend \"CF,\" + s;", false },
};

static void test_frame_check_rows(void **state)
{
    (void)state;
    struct schema *s = schema_new();
    assert_non_null(s);
    int failures = 0;
    for (size_t i = 0; i < TU_LEN(frame_cases); i++) {
        const struct frame_case *c = &frame_cases[i];
        char why[WHY_MAX] = "";
        bool ok = check_send_frame(s, c->type, c->worst, c->next_code, why, sizeof why);
        TU_CHECK(failures, c->name, ok == c->ok, "expected %s, got %s (%s)",
                 c->ok ? "ok" : "a failure", ok ? "ok" : "a failure", why);
    }
    schema_free(s);
    assert_int_equal(failures, 0);
}

/* --- check: the request a motion task hands over (RbAsk) ------------------ */

/* The link task sends a request whose type and fields the motion task chose
 * (RbAskPoll, RbCommand.mod), so the line below its marker
 *   ! rb-frame request worst="<longest text of the worked example>"
 * has no "TYPE," literal: it must call RbSend, and the worst text must be a
 * request frame (ROLE_REQUEST) of the example configuration
 * (config/cell-example.json, which defines JB) that decodes and leaves room
 * for "*HH" and LF. */
#define EXAMPLE_CONFIG "config/cell-example.json"

static bool check_request_frame(const struct schema *s, const char *worst, const char *next_code,
                                char *why, size_t whysz)
{
    const char *comma = strchr(worst, ',');
    size_t tlen = comma ? (size_t)(comma - worst) : strlen(worst);
    const struct frame_def *d = schema_find(s, DIR_IN, worst, tlen);
    if (!d || d->role != ROLE_REQUEST) {
        snprintf(why, whysz, "%.*s is not a request frame of %s", (int)tlen, worst, EXAMPLE_CONFIG);
        return false;
    }
    if (strlen(worst) > RAPID_STR_MAX - CHECKSUM_ROOM - 1) {
        snprintf(why, whysz, "%zu characters, more than %d (room for *HH and LF)", strlen(worst),
                 RAPID_STR_MAX - CHECKSUM_ROOM - 1);
        return false;
    }
    if (!comma || strncmp(comma + 1, WORST_SEQ, strlen(WORST_SEQ)) != 0) {
        snprintf(why, whysz, "worst text must have the seq %s", WORST_SEQ);
        return false;
    }
    struct frame_values fv;
    struct decode_error de = {0};
    if (frame_decode(s, DIR_IN, worst, strlen(worst), &fv, &de) != 0) {
        snprintf(why, whysz, "worst text does not decode: %s at field %u", frame_err_name(de.err),
                 de.field);
        return false;
    }
    struct rline r;
    lex_line(next_code, &r);
    if (!starts_with(skip_space(r.code), "RbSend ")) {
        snprintf(why, whysz, "the line below must start with RbSend");
        return false;
    }
    return true;
}

/* Parses "rb-frame request worst="..."": 1, 0 (no such marker), -1 (broken). */
static int parse_request_marker(const char *comment, char *worst, size_t wsize)
{
    const char *p = skip_space(comment);
    if (!starts_with(p, "rb-frame request "))
        return 0;
    p = skip_space(p + strlen("rb-frame request "));
    if (!starts_with(p, "worst=\""))
        return -1;
    p += strlen("worst=\"");
    const char *end = strrchr(p, '"');
    if (!end || (size_t)(end - p) >= wsize || *skip_space(end + 1) != '\0')
        return -1;
    memcpy(worst, p, (size_t)(end - p));
    worst[end - p] = '\0';
    return 1;
}

static struct schema *example_schema(struct config *cfg)
{
    char err[CONFIG_ERR_MAX];
    if (config_load_file(cfg, EXAMPLE_CONFIG, err) != 0)
        fail_msg("%s", err);
    return cfg->schema;
}

static void test_request_check_rows(void **state)
{
    (void)state;
    static const struct {
        const char *name, *worst, *next_code;
        bool ok;
    } cases[] = {
        { "JB", "JB,99999,9", "RbSend frame;", true },
        { "not a request", "WD,99999,1,CV,1,2,3", "RbSend frame;", false },
        { "a built-in frame", "HB,99999", "RbSend frame;", false },
        { "station out of range", "JB,99999,10", "RbSend frame;", false },
        { "seq not of five digits", "JB,1,9", "RbSend frame;", false },
        { "line below sends nothing", "JB,99999,9", "rbAskOut := TRUE;", false },
    };
    struct config cfg;
    struct schema *s = example_schema(&cfg);
    int failures = 0;
    for (size_t i = 0; i < TU_LEN(cases); i++) {
        char why[WHY_MAX] = "";
        bool ok = check_request_frame(s, cases[i].worst, cases[i].next_code, why, sizeof why);
        TU_CHECK(failures, cases[i].name, ok == cases[i].ok, "expected %s, got %s (%s)",
                 cases[i].ok ? "ok" : "a failure", ok ? "ok" : "a failure", why);
    }
    config_free(&cfg);
    assert_int_equal(failures, 0);
}

/* --- check: the files' markers ------------------------------------------- */

/* Parses a marker comment: "rb-frame send TYPE worst="..."". Returns 1 for
 * a marker, 0 for a comment that is none, -1 for a broken one. */
static int parse_marker(const char *comment, char *type, size_t tsize, char *worst, size_t wsize)
{
    const char *p = skip_space(comment);
    if (!starts_with(p, "rb-frame send "))
        return 0;
    p += strlen("rb-frame send ");
    size_t n = 0;
    while (p[n] && !isspace((unsigned char)p[n]))
        n++;
    if (n == 0 || n >= tsize)
        return -1;
    memcpy(type, p, n);
    type[n] = '\0';
    p = skip_space(p + n);
    if (!starts_with(p, "worst=\""))
        return -1;
    p += strlen("worst=\"");
    const char *end = strrchr(p, '"');
    if (!end || (size_t)(end - p) >= wsize || *skip_space(end + 1) != '\0')
        return -1;
    memcpy(worst, p, (size_t)(end - p));
    worst[end - p] = '\0';
    return 1;
}

/* Names the built-in robot frames in sent[] as they are found. */
static bool sent_types[FRAME_TYPES_MAX];

static void test_marked_frames(void **state)
{
    (void)state;
    struct schema *s = schema_new();
    assert_non_null(s);
    int failures = 0, markers = 0, requests = 0;
    struct config cfg;
    const struct schema *ex = example_schema(&cfg);
    memset(sent_types, 0, sizeof sent_types);
    assert_true(nfiles > 0);

    for (size_t fi = 0; fi < nfiles; fi++) {
        const struct src *f = &files[fi];
        bool prev_marker = false, prev_part = false;
        for (size_t li = 0; li < f->nlines; li++) {
            char row[160];
            snprintf(row, sizeof row, "%.60s:%zu", f->name, li + 1);
            struct rline r;
            lex_line(f->lines[li], &r);
            char type[32], worst[LINE_MAX_LEN + 1];
            int m = r.comment ? parse_marker(r.comment, type, sizeof type, worst, sizeof worst) : 0;
            TU_CHECK(failures, row, m >= 0, "broken rb-frame marker");
            int q = r.comment ? parse_request_marker(r.comment, worst, sizeof worst) : 0;
            TU_CHECK(failures, row, q >= 0, "broken rb-frame request marker");
            if (q == 1) {
                char why[WHY_MAX] = "";
                const char *next = li + 1 < f->nlines ? f->lines[li + 1] : "";
                requests++;
                TU_CHECK(failures, row, check_request_frame(ex, worst, next, why, sizeof why),
                         "request: %s", why);
                prev_marker = true;
                prev_part = false;
                continue;
            }
            if (m == 1) {
                char why[WHY_MAX] = "";
                const char *next = li + 1 < f->nlines ? f->lines[li + 1] : "";
                markers++;
                TU_CHECK(failures, row, check_send_frame(s, type, worst, next, why, sizeof why),
                         "%s frame: %s", type, why);
                for (size_t k = 0; schema_at(s, k); k++)
                    if (strcmp(schema_at(s, k)->type, type) == 0 && schema_at(s, k)->dir == DIR_IN)
                        sent_types[k] = true;
                prev_marker = true;
                prev_part = false;
                continue;
            }
            const char *code = skip_space(r.code);
            if (*code == '\0')
                continue; /* blank and comment lines keep the state */
            bool is_part = starts_with(code, "RbSendPart ");
            bool is_send = starts_with(code, "RbSend ");
            TU_CHECK(failures, row, !is_part || prev_marker,
                     "RbSendPart without an rb-frame marker on the line above");
            TU_CHECK(failures, row, !is_send || prev_marker || prev_part,
                     "RbSend without an rb-frame marker on the line above");
            prev_marker = false;
            prev_part = is_part;
        }
    }
    TU_CHECK(failures, "files", markers > 0, "no rb-frame markers found");
    TU_CHECK(failures, "files", requests > 0, "no rb-frame request marker found (RbAskPoll)");
    config_free(&cfg);
    for (size_t k = 0; schema_at(s, k); k++) {
        const struct frame_def *d = schema_at(s, k);
        if (d->builtin && d->dir == DIR_IN)
            TU_CHECK(failures, d->type, sent_types[k], "no RAPID example sends this frame");
    }
    schema_free(s);
    assert_int_equal(failures, 0);
}

/* --- check: the command table -------------------------------------------- */

#define CMD_MAX 32

struct cmd_table {
    char types[CMD_MAX][LINE_MAX_LEN + 1];
    long fields[CMD_MAX];
    size_t ntypes, nfields;
    char cases[CMD_MAX][LINE_MAX_LEN + 1]; /* CASE "X": of the module */
    size_t ncases;
};

/* RbCommand.mod's CONST string RB_CMD_TYPES{..} := [...]; and the numbers of
 * CONST num RB_CMD_FIELDS{..} := [...]; (each on one line), and its CASEs. */
static void read_cmd_table(const struct src *f, struct cmd_table *t)
{
    memset(t, 0, sizeof *t);
    for (size_t li = 0; li < f->nlines; li++) {
        struct rline r;
        lex_line(f->lines[li], &r);
        const char *code = skip_space(r.code);
        if (starts_with(code, "CONST string RB_CMD_TYPES{")) {
            t->ntypes = literals_of(code, t->types, CMD_MAX);
        } else if (starts_with(code, "CONST num RB_CMD_FIELDS{")) {
            const char *p = strchr(code, '[');
            while (p && *p && *p != ']' && t->nfields < CMD_MAX) {
                char *end;
                long v = strtol(p + 1, &end, 10);
                if (end == p + 1)
                    break;
                t->fields[t->nfields++] = v;
                p = skip_space(end);
            }
        } else if (starts_with(code, "CASE \"") && t->ncases < CMD_MAX) {
            literals_of(code, &t->cases[t->ncases], 1);
            t->ncases++;
        }
    }
}

/* One row of the table against the schema and the module's CASEs. */
static bool check_command(const struct schema *s, const char *type, long nfields,
                          const struct cmd_table *t, char *why, size_t whysz)
{
    const struct frame_def *d = schema_find(s, DIR_OUT, type, strlen(type));
    if (!d) {
        snprintf(why, whysz, "%s is not a command of the schema", type);
        return false;
    }
    if ((long)frame_def_wire_min(d) != nfields || (long)frame_def_wire_max(d) != nfields) {
        snprintf(why, whysz, "%s has %u..%u fields in the schema, %ld in RAPID", type,
                 frame_def_wire_min(d), frame_def_wire_max(d), nfields);
        return false;
    }
    for (size_t i = 0; i < t->ncases; i++)
        if (strcmp(t->cases[i], type) == 0)
            return true;
    snprintf(why, whysz, "no CASE \"%s\": handler", type);
    return false;
}

struct command_case {
    const char *name, *type;
    long fields;
    bool ok;
};

static const struct command_case command_cases[] = {
    { "PING without fields", "PING", 0, true },
    { "SETDO with two", "SETDO", 2, true },
    { "SETDO with one", "SETDO", 1, false },
    { "a robot frame is no command", "JT", 6, false },
    { "unknown type", "MOVE", 1, false },
    { "no CASE for it", "STOP", 0, false },
};

static void test_command_check_rows(void **state)
{
    (void)state;
    struct schema *s = schema_new();
    assert_non_null(s);
    static struct cmd_table t;
    memset(&t, 0, sizeof t);
    t.ncases = 3;
    strcpy(t.cases[0], "PING");
    strcpy(t.cases[1], "SETDO");
    strcpy(t.cases[2], "MOVE");
    int failures = 0;
    for (size_t i = 0; i < TU_LEN(command_cases); i++) {
        const struct command_case *c = &command_cases[i];
        char why[WHY_MAX] = "";
        bool ok = check_command(s, c->type, c->fields, &t, why, sizeof why);
        TU_CHECK(failures, c->name, ok == c->ok, "expected %s, got %s (%s)",
                 c->ok ? "ok" : "a failure", ok ? "ok" : "a failure", why);
    }
    schema_free(s);
    assert_int_equal(failures, 0);
}

static void test_command_table(void **state)
{
    (void)state;
    const struct src *f = find_file(COMMAND_MODULE);
    if (!f)
        fail_msg("%s/%s not found", EXAMPLES_DIR, COMMAND_MODULE);
    struct schema *s = schema_new();
    assert_non_null(s);
    static struct cmd_table t;
    read_cmd_table(f, &t);
    int failures = 0;
    TU_CHECK(failures, COMMAND_MODULE, t.ntypes > 0, "RB_CMD_TYPES not found");
    TU_CHECK(failures, COMMAND_MODULE, t.ntypes == t.nfields,
             "RB_CMD_TYPES has %zu entries, RB_CMD_FIELDS %zu", t.ntypes, t.nfields);
    for (size_t i = 0; i < t.ntypes && i < t.nfields; i++) {
        char why[WHY_MAX] = "";
        TU_CHECK(failures, t.types[i], check_command(s, t.types[i], t.fields[i], &t, why, sizeof why),
                 "%s", why);
    }
    for (size_t k = 0; schema_at(s, k); k++) {
        const struct frame_def *d = schema_at(s, k);
        if (!d->builtin || d->dir != DIR_OUT || d->from_bridge)
            continue;
        bool found = false;
        for (size_t i = 0; i < t.ntypes; i++)
            found = found || strcmp(t.types[i], d->type) == 0;
        TU_CHECK(failures, d->type, found, "built-in command missing from RB_CMD_TYPES");
    }
    for (size_t i = 0; i < t.ncases; i++) {
        bool listed = false;
        for (size_t k = 0; k < t.ntypes; k++)
            listed = listed || strcmp(t.types[k], t.cases[i]) == 0;
        TU_CHECK(failures, t.cases[i], listed, "CASE for a command not in RB_CMD_TYPES");
    }
    schema_free(s);
    assert_int_equal(failures, 0);
}

/* --- check: frames the bridge sends by itself (NO) ------------------------ */

/* The robot must understand the frames the bridge sends on its own (the NO
 * of a refused HI), though they are no commands. A marker comment
 * "rb-frame read TYPE fields=N" sits right above the line that recognises
 * the frame: TYPE must be such a frame of the schema, with N wire fields,
 * and the first string literal of the line below must be "TYPE,". Every
 * such frame of the schema must be read somewhere. */

/* Returns 1 for a marker, 0 for a comment that is none, -1 for a broken one. */
static int parse_read_marker(const char *comment, char *type, size_t tsize, long *nfields)
{
    const char *p = skip_space(comment);
    if (!starts_with(p, "rb-frame read "))
        return 0;
    p += strlen("rb-frame read ");
    size_t n = 0;
    while (p[n] && !isspace((unsigned char)p[n]))
        n++;
    if (n == 0 || n >= tsize)
        return -1;
    memcpy(type, p, n);
    type[n] = '\0';
    p = skip_space(p + n);
    if (!starts_with(p, "fields="))
        return -1;
    char *end;
    *nfields = strtol(p + strlen("fields="), &end, 10);
    if (end == p + strlen("fields=") || *skip_space(end) != '\0')
        return -1;
    return 1;
}

static bool check_read_frame(const struct schema *s, const char *type, long nfields,
                             const char *next_code, char *why, size_t whysz)
{
    const struct frame_def *d = schema_find(s, DIR_OUT, type, strlen(type));
    if (!d || !d->from_bridge) {
        snprintf(why, whysz, "%s is not a frame the bridge sends by itself", type);
        return false;
    }
    if ((long)frame_def_wire_min(d) != nfields || (long)frame_def_wire_max(d) != nfields) {
        snprintf(why, whysz, "%s has %u..%u fields in the schema, %ld in RAPID", type,
                 frame_def_wire_min(d), frame_def_wire_max(d), nfields);
        return false;
    }
    struct rline r;
    lex_line(next_code, &r);
    char want[FRAME_TYPE_MAX + 2];
    snprintf(want, sizeof want, "%s,", type);
    if (!r.has_literal || strcmp(r.literal, want) != 0) {
        snprintf(why, whysz, "the line below does not look for \"%s\"", want);
        return false;
    }
    return true;
}

struct read_case {
    const char *name;
    const char *type;
    long fields;
    const char *next_code;
    bool ok;
};

static const struct read_case read_cases[] = {
    { "NO", "NO", 2, "IF RbLeft(line, 3) = \"NO,\" THEN", true },
    { "NO with a wrong field count", "NO", 3, "IF RbLeft(line, 3) = \"NO,\" THEN", false },
    { "a command is sent by clients", "PING", 0, "IF RbLeft(line, 5) = \"PING,\" THEN", false },
    { "a robot frame", "JT", 6, "IF RbLeft(line, 3) = \"JT,\" THEN", false },
    { "line below looks for another", "NO", 2, "IF RbLeft(line, 3) = \"NX,\" THEN", false },
    { "line below looks for nothing", "NO", 2, "RbCommandLine line;", false },
};

static void test_read_check_rows(void **state)
{
    (void)state;
    struct schema *s = schema_new();
    assert_non_null(s);
    int failures = 0;
    for (size_t i = 0; i < TU_LEN(read_cases); i++) {
        const struct read_case *c = &read_cases[i];
        char why[WHY_MAX] = "";
        bool ok = check_read_frame(s, c->type, c->fields, c->next_code, why, sizeof why);
        TU_CHECK(failures, c->name, ok == c->ok, "expected %s, got %s (%s)",
                 c->ok ? "ok" : "a failure", ok ? "ok" : "a failure", why);
    }
    schema_free(s);
    assert_int_equal(failures, 0);
}

static void test_read_frames(void **state)
{
    (void)state;
    struct schema *s = schema_new();
    assert_non_null(s);
    bool read[FRAME_TYPES_MAX] = {false};
    int failures = 0;
    for (size_t fi = 0; fi < nfiles; fi++) {
        const struct src *f = &files[fi];
        for (size_t li = 0; li < f->nlines; li++) {
            char row[160];
            snprintf(row, sizeof row, "%.60s:%zu", f->name, li + 1);
            struct rline r;
            lex_line(f->lines[li], &r);
            char type[32];
            long nfields = 0;
            int m = r.comment ? parse_read_marker(r.comment, type, sizeof type, &nfields) : 0;
            TU_CHECK(failures, row, m >= 0, "broken rb-frame read marker");
            if (m <= 0)
                continue;
            char why[WHY_MAX] = "";
            const char *next = li + 1 < f->nlines ? f->lines[li + 1] : "";
            bool ok = check_read_frame(s, type, nfields, next, why, sizeof why);
            TU_CHECK(failures, row, ok, "%s", why);
            const struct frame_def *d = schema_find(s, DIR_OUT, type, strlen(type));
            if (ok && d)
                read[schema_index(s, d)] = true;
        }
    }
    for (size_t k = 0; schema_at(s, k); k++)
        TU_CHECK(failures, schema_at(s, k)->type, !schema_at(s, k)->from_bridge || read[k],
                 "sent by the bridge, but no RAPID example reads it (rb-frame read marker)");
    schema_free(s);
    assert_int_equal(failures, 0);
}

/* --- check: plain RAPID rules --------------------------------------------- */

static const char *const block_open[] = {"MODULE", "PROC", "FUNC", "TRAP", "RECORD",
                                         "IF", "WHILE", "FOR", "TEST"};
static const char *const block_close[] = {"ENDMODULE", "ENDPROC", "ENDFUNC", "ENDTRAP",
                                          "ENDRECORD", "ENDIF", "ENDWHILE", "ENDFOR",
                                          "ENDTEST"};

static int block_index(const char *const *words, const char *w)
{
    for (size_t i = 0; i < TU_LEN(block_open); i++)
        if (strcmp(words[i], w) == 0)
            return (int)i;
    return -1;
}

/* A problem of check_rapid_rules: counted, and printed when verbose. */
#define RULE(cond, ...)                                 \
    do {                                                \
        if (!(cond)) {                                  \
            failures++;                                 \
            if (verbose) {                              \
                print_error("FAIL [%s] ", row);         \
                print_error(__VA_ARGS__);               \
                print_error("\n");                      \
            }                                           \
        }                                               \
    } while (0)

/* Checks one file; returns the number of problems. */
static int check_rapid_rules(const char *name, char *const *lines, size_t nlines, bool verbose)
{
    int failures = 0, stack[BLOCK_DEPTH_MAX], depth = 0, modules = 0;
    for (size_t li = 0; li < nlines; li++) {
        char row[160], w[40], last[40];
        snprintf(row, sizeof row, "%.60s:%zu", name, li + 1);
        struct rline r;
        lex_line(lines[li], &r);
        RULE(!r.too_long, "line longer than %d characters", LINE_MAX_LEN);

        static char lits[16][LINE_MAX_LEN + 1];
        size_t nl = literals_of(r.code, lits, 16);
        for (size_t k = 0; k < nl; k++)
            RULE(rapid_literal_len(lits[k]) <= RAPID_STR_MAX,
                     "string literal of %zu characters", rapid_literal_len(lits[k]));

        for (const char *p = r.bare; *p;) {
            if (isalpha((unsigned char)*p)) {
                size_t n = 0;
                while (isalnum((unsigned char)p[n]) || p[n] == '_')
                    n++;
                RULE(n <= IDENT_MAX, "name of %zu characters: %.*s", n, (int)n, p);
                p += n;
            } else if (isdigit((unsigned char)*p)) {
                while (isalnum((unsigned char)*p) || *p == '.' || *p == '_')
                    p++; /* a number such as 9E9 */
            } else {
                p++;
            }
        }

        first_word(r.bare, w, sizeof w);
        last_word(r.bare, last, sizeof last);
        int open = block_index(block_open, w), close = block_index(block_close, w);
        if (open >= 0 && strcmp(w, "IF") == 0 && strcmp(last, "THEN") != 0)
            open = -1; /* a compact IF: one statement, no ENDIF */
        if (open >= 0) {
            if (strcmp(w, "MODULE") == 0) {
                char want[64];
                snprintf(want, sizeof want, "%s", name);
                char *dot = strrchr(want, '.');
                if (dot)
                    *dot = '\0';
                const char *p = skip_space(r.bare);
                p = skip_space(p + strlen("MODULE"));
                RULE(strncmp(p, want, strlen(want)) == 0 &&
                                            !isalnum((unsigned char)p[strlen(want)]),
                         "module not named %s like its file", want);
                modules++;
            }
            RULE(depth < BLOCK_DEPTH_MAX, "blocks nested too deep");
            if (depth < BLOCK_DEPTH_MAX)
                stack[depth++] = open;
        } else if (close >= 0) {
            RULE(depth > 0 && stack[depth - 1] == close, "%s closes %s", w,
                     depth > 0 ? block_open[stack[depth - 1]] : "nothing");
            if (depth > 0)
                depth--;
        } else if (strcmp(w, "ELSE") == 0 || strcmp(w, "ELSEIF") == 0) {
            RULE(depth > 0 && strcmp(block_open[stack[depth - 1]], "IF") == 0,
                     "%s outside IF ... THEN", w);
        } else if (strcmp(w, "CASE") == 0 || strcmp(w, "DEFAULT") == 0) {
            RULE(depth > 0 && strcmp(block_open[stack[depth - 1]], "TEST") == 0,
                     "%s outside TEST", w);
        } else if (strcmp(w, "ERROR") == 0) {
            const char *top = depth > 0 ? block_open[stack[depth - 1]] : "";
            TU_CHECK(failures, row,
                     strcmp(top, "PROC") == 0 || strcmp(top, "FUNC") == 0 || strcmp(top, "TRAP") == 0,
                     "ERROR handler outside a routine (or a block left open)");
        }
    }
    const char *row = name;
    RULE(depth == 0, "%d block(s) not closed at the end", depth);
    RULE(modules == 1, "%d MODULE lines, want 1", modules);
    return failures;
}

struct rules_case {
    const char *name;
    const char *text; /* lines separated by \n; the file name is "T.mod" */
    bool ok;
};

static const struct rules_case rules_cases[] = {
    { "a small module", "MODULE T\n  PROC p()\n    IF a THEN\n      b;\n    ELSE\n      c;\n"
      "    ENDIF\n    IF a b;\n  ERROR\n    RETRY;\n  ENDPROC\nENDMODULE", true },
    { "ENDIF missing", "MODULE T\n  PROC p()\n    IF a THEN\n      b;\n  ENDPROC\nENDMODULE", false },
    { "blocks crossed", "MODULE T\n  PROC p()\n    FOR i FROM 1 TO 2 DO\n    ENDWHILE\n  ENDPROC\nENDMODULE",
      false },
    { "module named unlike its file", "MODULE U\nENDMODULE", false },
    { "81-character string", "MODULE T\n  CONST string s := \"0123456789012345678901234567890123456789"
      "01234567890123456789012345678901234567890\";\nENDMODULE", false },
    { "80 characters with a char code", "MODULE T\n  CONST string s := \"\\0A01234567890123456789"
      "01234567890123456789012345678901234567890123456789012345678\";\nENDMODULE", true },
    { "33-character name", "MODULE T\n  VAR num abcdefghij0123456789ABCDEFGHIJ_zx;\nENDMODULE", false },
    { "CASE outside TEST", "MODULE T\n  PROC p()\n    CASE 1:\n  ENDPROC\nENDMODULE", false },
    { "a ! inside a string is no comment", "MODULE T\n  PROC p()\n    s := \"a!\";\n  ENDPROC\n"
      "ENDMODULE", true },
};

static void test_rules_check_rows(void **state)
{
    (void)state;
    int failures = 0;
    for (size_t i = 0; i < TU_LEN(rules_cases); i++) {
        const struct rules_case *c = &rules_cases[i];
        char *text = strdup(c->text);
        char *lines[64];
        size_t n = 0;
        assert_non_null(text);
        for (char *p = strtok(text, "\n"); p && n < TU_LEN(lines); p = strtok(NULL, "\n"))
            lines[n++] = p;
        bool ok = check_rapid_rules("T.mod", lines, n, false) == 0;
        TU_CHECK(failures, c->name, ok == c->ok, "expected %s", c->ok ? "no problems" : "a problem");
        free(text);
    }
    assert_int_equal(failures, 0);
}

static void test_rapid_rules(void **state)
{
    (void)state;
    int failures = 0;
    assert_true(nfiles > 0);
    for (size_t fi = 0; fi < nfiles; fi++)
        failures += check_rapid_rules(files[fi].name, files[fi].lines, files[fi].nlines, true);
    assert_int_equal(failures, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_frame_check_rows),
        cmocka_unit_test(test_command_check_rows),
        cmocka_unit_test(test_rules_check_rows),
        cmocka_unit_test(test_request_check_rows),
        cmocka_unit_test(test_marked_frames),
        cmocka_unit_test(test_command_table),
        cmocka_unit_test(test_read_check_rows),
        cmocka_unit_test(test_read_frames),
        cmocka_unit_test(test_rapid_rules),
    };
    return cmocka_run_group_tests(tests, load_files, free_files);
}
