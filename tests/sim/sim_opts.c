/* sim_opts.c - robot-sim's options (see sim_opts.h). */
#include "sim_opts.h"

#include "schema.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void sim_usage(FILE *out)
{
    fputs(
        "usage: robot-sim [options]\n"
        "A simulated ABB controller: connects to rapidbridge like the RAPID examples,\n"
        "sends HI, streams JT PS CF ST at --rate, IO on change and every 2 s, EV every\n"
        "10 s, HB every 1 s while motion is stopped or nothing else was sent, and\n"
        "answers PING SETDO SETREG SPEED STOP CALL with AK. Reconnects with back-off\n"
        "(0.2 s doubling to 5 s). Logs one line per event to stderr.\n"
        "CALL runs RemoteHome (AK when the arm is home), RemotePickPart (doGrip on)\n"
        "and RemotePlacePart (doGrip off); like the RAPID examples it refuses a name\n"
        "without --call-prefix, main and Rb... (ERR 46) and a CALL while one runs\n"
        "(ERR 44). STOP ends a running CALL (ERR 43) and, in the default mode, the\n"
        "cycle: the arm stands still, ST stays RUNNING, and the next CALL moves it.\n"
        "\n"
        "  --connect HOST:PORT  bridge robot listener (default 127.0.0.1:1025; [V6]:PORT)\n"
        "  --name NAME          robot name sent in HI (default rob1; a RAPID identifier)\n"
        "  --rate HZ            JT PS CF ST cycles per second, 0 < HZ <= 1000 (default 50)\n"
        "                       (--rate, --stream: live motion only, not --replay)\n"
        "  --stream LIST        frame types to send, comma-separated subset of\n"
        "                       JT,PS,CF,ST,EJ,IO,EV (default JT,PS,CF,ST,IO,EV; EJ adds\n"
        "                       external axes: a track e1 in mm, e2..e6 absent as 9E+09)\n"
        "  --checksum           append *HH to every frame sent\n"
        "  --once               exit when the link drops or the connect fails\n"
        "  --count N            after N frames (any but HI, AK and --bad-every ones)\n"
        "                       close cleanly (FIN, wait for the bridge's) and exit\n"
        "  --seq-start N        first sequence number, 0..99999 (default 1; wraps to 0)\n"
        "  --seed N             seed of the random choices (--split), default time+pid\n"
        "  --call-prefix P      CALL runs only names that begin with P, any case\n"
        "                       (default Remote, as rbCallPrefix; \"\" = any name)\n"
        "  --stop-mode MODE     STOP outside a CALL, as rbStopMode: cycle (default;\n"
        "                       the cycle ends, the arm stands still) or path (the\n"
        "                       path is cleared, the arm goes on moving)\n"
        "  -v, --verbose        log every frame sent (commands are always logged)\n"
        "  -h, --help           this text\n"
        "\n"
        "misbehaviour, for tests:\n"
        "  --split              write each frame in random pieces of 1..7 bytes, one\n"
        "                       write() each\n"
        "  --bad-every N        after every N frames insert a malformed one, rotating:\n"
        "                       unknown type, wrong field count, bad checksum,\n"
        "                       non-printable byte, out-of-range value\n"
        "  --silent-after S     S seconds after each connect stop sending anything\n"
        "                       (AK and HB included), keep the socket open and reading\n"
        "  --ack-delay MS       answer commands MS milliseconds late\n"
        "  --drop-acks          never send AK (commands still take effect)\n"
        "  --no-hello           do not send HI (the stream starts with JT)\n"
        "  --hello-name NAME    name in HI instead of --name (any printable text\n"
        "                       without , or *, at most 40 characters)\n"
        "\n"
        "restarts in the CALL hand-over (rapid-examples/README.md, \"Stop, power\n"
        "failure and warm start\"):\n"
        "  --call-stop POINT    the first CALL finds the motion task stopped at POINT\n"
        "                       of the hand-over: before (not taken), inside (taken,\n"
        "                       withdrawal not yet looked at) or after (started);\n"
        "                       ST says STOPPED.\n"
        "                       After 2 s the link task withdraws a CALL not taken\n"
        "                       (ERR 45); when the motion task goes on it runs the\n"
        "                       CALL only if it was taken and not withdrawn first.\n"
        "  --call-stop-time S   the motion task goes on after S seconds (default 3)\n"
        "  --warm-start         with --call-stop: the controller restarts at once:\n"
        "                       the link drops without an AK, the link task starts\n"
        "                       again (withdrawing a CALL not taken) and reconnects\n"
        "\n"
        "requests (rapid-examples' RbAsk; PROTOCOL.md 5.9):\n"
        "  --ask TYPE[,FIELDS]  send the request frame TYPE,seq[,FIELDS] (one at a\n"
        "                       time, each answered or 10 s passed) and print each\n"
        "                       answer on stdout: \"ask TYPE seq N: reply LINE\" or\n"
        "                       \"ask TYPE seq N: RX CODE TEXT\" or \"...: no answer\"\n"
        "  --ask-every S        seconds between asks (default 1)\n"
        "  --ask-count N        after N answers close cleanly and exit: 0 when each\n"
        "                       was a reply, 3 when any was RX or no answer\n"
        "\n"
        "replay:\n"
        "  --replay FILE        send a recorded log instead of live motion: lines\n"
        "                       \"<unix time> <frame>\" or, as rapidbridge --record\n"
        "                       writes them, \"<unix time> <robot> <frame>\" (a log of\n"
        "                       several robots plays the frames of --name); # starts\n"
        "                       a comment; own HI first unless the log starts with HI;\n"
        "                       close and exit at its end; commands are answered\n"
        "  --speed X            replay X times as fast (default 1; 0 = no gaps)\n"
        "  --loop               replay the log again and again\n"
        "\n"
        "exit status: 0 done (signal, --count, log end, link dropped with --once),\n"
        "1 connect failed with --once or a runtime error, 2 bad usage.\n",
        out);
}

enum opt_id {
    OPT_CONNECT = 256, OPT_NAME, OPT_RATE, OPT_STREAM, OPT_CHECKSUM, OPT_ONCE,
    OPT_COUNT, OPT_SEQ_START, OPT_SEED, OPT_SPLIT, OPT_BAD_EVERY, OPT_SILENT_AFTER,
    OPT_ACK_DELAY, OPT_DROP_ACKS, OPT_NO_HELLO, OPT_HELLO_NAME, OPT_REPLAY,
    OPT_SPEED, OPT_LOOP, OPT_CALL_PREFIX, OPT_STOP_MODE, OPT_CALL_STOP, OPT_CALL_STOP_TIME,
    OPT_WARM_START, OPT_ASK, OPT_ASK_EVERY, OPT_ASK_COUNT,
};

static const struct option long_opts[] = {
    {"connect", required_argument, NULL, OPT_CONNECT},
    {"name", required_argument, NULL, OPT_NAME},
    {"rate", required_argument, NULL, OPT_RATE},
    {"stream", required_argument, NULL, OPT_STREAM},
    {"checksum", no_argument, NULL, OPT_CHECKSUM},
    {"once", no_argument, NULL, OPT_ONCE},
    {"count", required_argument, NULL, OPT_COUNT},
    {"seq-start", required_argument, NULL, OPT_SEQ_START},
    {"seed", required_argument, NULL, OPT_SEED},
    {"split", no_argument, NULL, OPT_SPLIT},
    {"bad-every", required_argument, NULL, OPT_BAD_EVERY},
    {"silent-after", required_argument, NULL, OPT_SILENT_AFTER},
    {"ack-delay", required_argument, NULL, OPT_ACK_DELAY},
    {"drop-acks", no_argument, NULL, OPT_DROP_ACKS},
    {"no-hello", no_argument, NULL, OPT_NO_HELLO},
    {"hello-name", required_argument, NULL, OPT_HELLO_NAME},
    {"replay", required_argument, NULL, OPT_REPLAY},
    {"speed", required_argument, NULL, OPT_SPEED},
    {"loop", no_argument, NULL, OPT_LOOP},
    {"call-prefix", required_argument, NULL, OPT_CALL_PREFIX},
    {"stop-mode", required_argument, NULL, OPT_STOP_MODE},
    {"call-stop", required_argument, NULL, OPT_CALL_STOP},
    {"call-stop-time", required_argument, NULL, OPT_CALL_STOP_TIME},
    {"warm-start", no_argument, NULL, OPT_WARM_START},
    {"ask", required_argument, NULL, OPT_ASK},
    {"ask-every", required_argument, NULL, OPT_ASK_EVERY},
    {"ask-count", required_argument, NULL, OPT_ASK_COUNT},
    {"verbose", no_argument, NULL, 'v'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* "TYPE[,FIELDS]": a type code, then printable characters but "*". */
static bool ask_valid(const char *a)
{
    size_t n = strlen(a), t = strcspn(a, ",");
    if (n > SIM_ASK_MAX || !type_code_valid(a, t))
        return false;
    for (size_t i = 0; i < n; i++)
        if (a[i] < 0x20 || a[i] > 0x7E || a[i] == '*')
            return false;
    return true;
}

static int parse_double(const char *s, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v) || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static int parse_ulong(const char *s, unsigned long lo, unsigned long hi, unsigned long *out)
{
    char *end;
    errno = 0;
    if (*s < '0' || *s > '9')
        return -1;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

/* "HOST:PORT" or "[V6]:PORT"; the host may be a name. */
static int parse_connect(const char *s, struct sim_opts *o)
{
    const char *colon, *host = s;
    size_t hlen;
    if (*s == '[') {
        const char *close = strchr(s, ']');
        if (!close || close[1] != ':')
            return -1;
        host = s + 1;
        hlen = (size_t)(close - host);
        colon = close + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon)
            return -1;
        hlen = (size_t)(colon - s);
    }
    unsigned long port;
    if (hlen == 0 || hlen > SIM_HOST_MAX || parse_ulong(colon + 1, 1, 65535, &port))
        return -1;
    memcpy(o->host, host, hlen);
    o->host[hlen] = '\0';
    snprintf(o->port, sizeof o->port, "%lu", port);
    return 0;
}

static int parse_stream(const char *s, unsigned *mask)
{
    static const struct { const char *type; unsigned bit; } types[] = {
        {"JT", STREAM_JT}, {"PS", STREAM_PS}, {"CF", STREAM_CF}, {"ST", STREAM_ST},
        {"EJ", STREAM_EJ}, {"IO", STREAM_IO}, {"EV", STREAM_EV},
    };
    unsigned m = 0;
    while (*s) {
        size_t n = strcspn(s, ",");
        size_t i;
        for (i = 0; i < sizeof types / sizeof types[0]; i++)
            if (strlen(types[i].type) == n && memcmp(types[i].type, s, n) == 0)
                break;
        if (i == sizeof types / sizeof types[0])
            return -1;
        m |= types[i].bit;
        s += n;
        if (*s == ',')
            s++;
    }
    *mask = m;
    return 0;
}

/* --hello-name may be an invalid identifier on purpose, but it must stay
 * one field of a frame that fits in a RAPID string. */
static bool hello_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > SIM_HELLO_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < 0x20 || s[i] > 0x7e || s[i] == ',' || s[i] == '*')
            return false;
    return true;
}

/* --call-prefix: "" or the start of a RAPID name (letter, then letters,
 * digits, _), at most 32 characters. */
static bool call_prefix_ok(const char *s)
{
    size_t n = strlen(s);
    if (n > SIM_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        bool letter = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
        if (!letter && (i == 0 || !((c >= '0' && c <= '9') || c == '_')))
            return false;
    }
    return true;
}

static void defaults(struct sim_opts *o)
{
    memset(o, 0, sizeof *o);
    strcpy(o->host, "127.0.0.1");
    strcpy(o->port, "1025");
    strcpy(o->name, "rob1");
    o->rate = 50;
    o->stream = STREAM_DEFAULT;
    o->silent_after = -1;
    o->speed = 1;
    o->seq_start = 1;
    strcpy(o->call_prefix, SIM_CALL_PREFIX);
    o->call_stop_time = 3;
    o->ask_every = 1;
}

#define FAIL(...) do { snprintf(err, errlen, __VA_ARGS__); return OPTS_ERROR; } while (0)

enum sim_opts_result sim_opts_parse(int argc, char **argv, struct sim_opts *o,
                                    char *err, size_t errlen)
{
    defaults(o);
    bool speed_given = false, loop_given = false, stop_time_given = false;
    unsigned long ul;
    double d;
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":hv", long_opts, NULL)) != -1) {
        switch (c) {
        case 'h':
            return OPTS_HELP;
        case 'v':
            o->verbose++;
            break;
        case OPT_CONNECT:
            if (parse_connect(optarg, o))
                FAIL("--connect wants HOST:PORT with a port 1..65535, not \"%s\"", optarg);
            break;
        case OPT_NAME:
            if (!ident_valid(optarg, strlen(optarg)))
                FAIL("--name wants a RAPID identifier (letter, then letters, digits, _; at most 32)");
            strcpy(o->name, optarg);
            break;
        case OPT_RATE:
            if (parse_double(optarg, 0, SIM_RATE_MAX, &d) || d <= 0)
                FAIL("--rate wants a number of Hz above 0 and at most %g", SIM_RATE_MAX);
            o->rate = d;
            break;
        case OPT_STREAM:
            if (parse_stream(optarg, &o->stream))
                FAIL("--stream wants a comma-separated list of JT,PS,CF,ST,EJ,IO,EV");
            break;
        case OPT_CHECKSUM: o->checksum = true; break;
        case OPT_ONCE: o->once = true; break;
        case OPT_SPLIT: o->split = true; break;
        case OPT_DROP_ACKS: o->drop_acks = true; break;
        case OPT_NO_HELLO: o->no_hello = true; break;
        case OPT_LOOP: o->loop = loop_given = true; break;
        case OPT_ASK:
            if (!ask_valid(optarg))
                FAIL("--ask wants TYPE[,FIELDS]: an upper-case type code, then printable "
                     "fields without * (at most %d characters)", SIM_ASK_MAX);
            snprintf(o->ask, sizeof o->ask, "%s", optarg);
            break;
        case OPT_ASK_EVERY:
            if (parse_double(optarg, 0.001, 3600, &o->ask_every))
                FAIL("--ask-every wants seconds, 0.001..3600");
            break;
        case OPT_ASK_COUNT:
            if (parse_ulong(optarg, 1, 1000000000UL, &ul))
                FAIL("--ask-count wants a whole number 1..1000000000");
            o->ask_count = ul;
            break;
        case OPT_COUNT:
            if (parse_ulong(optarg, 1, 1000000000UL, &ul))
                FAIL("--count wants a whole number 1..1000000000");
            o->count = ul;
            break;
        case OPT_SEQ_START:
            if (parse_ulong(optarg, 0, SEQ_MAX, &ul))
                FAIL("--seq-start wants a whole number 0..%d", SEQ_MAX);
            o->seq_start = (uint32_t)ul;
            break;
        case OPT_SEED:
            if (parse_ulong(optarg, 1, ULONG_MAX, &ul))
                FAIL("--seed wants a whole number above 0");
            o->seed = ul;
            break;
        case OPT_BAD_EVERY:
            if (parse_ulong(optarg, 1, 1000000000UL, &ul))
                FAIL("--bad-every wants a whole number 1..1000000000");
            o->bad_every = (unsigned)ul;
            break;
        case OPT_SILENT_AFTER:
            if (parse_double(optarg, 0, 1e6, &d))
                FAIL("--silent-after wants seconds, 0..1000000");
            o->silent_after = d;
            break;
        case OPT_ACK_DELAY:
            if (parse_double(optarg, 0, SIM_ACK_DELAY_MAX, &d))
                FAIL("--ack-delay wants milliseconds, 0..%d", SIM_ACK_DELAY_MAX);
            o->ack_delay = d / 1000.0;
            break;
        case OPT_HELLO_NAME:
            if (!hello_name_ok(optarg))
                FAIL("--hello-name wants 1..%d printable characters without , or *",
                     SIM_HELLO_NAME_MAX);
            strcpy(o->hello_name, optarg);
            break;
        case OPT_CALL_PREFIX:
            if (!call_prefix_ok(optarg))
                FAIL("--call-prefix wants \"\" or the start of a RAPID name (at most %d)",
                     SIM_NAME_MAX);
            strcpy(o->call_prefix, optarg);
            break;
        case OPT_STOP_MODE:
            if (strcmp(optarg, "cycle") != 0 && strcmp(optarg, "path") != 0)
                FAIL("--stop-mode wants cycle or path");
            o->stop_path = strcmp(optarg, "path") == 0;
            break;
        case OPT_CALL_STOP:
            if (strcmp(optarg, "before") == 0)
                o->call_stop = CALL_STOP_BEFORE;
            else if (strcmp(optarg, "inside") == 0)
                o->call_stop = CALL_STOP_INSIDE;
            else if (strcmp(optarg, "after") == 0)
                o->call_stop = CALL_STOP_AFTER;
            else
                FAIL("--call-stop wants before, inside or after");
            break;
        case OPT_CALL_STOP_TIME:
            if (parse_double(optarg, 0, SIM_CALL_STOP_MAX, &d))
                FAIL("--call-stop-time wants seconds, 0..%g", SIM_CALL_STOP_MAX);
            o->call_stop_time = d;
            stop_time_given = true;
            break;
        case OPT_WARM_START: o->warm_start = true; break;
        case OPT_REPLAY:
            o->replay = optarg;
            break;
        case OPT_SPEED:
            if (parse_double(optarg, 0, 1e6, &d))
                FAIL("--speed wants a factor, 0..1000000 (0 = as fast as possible)");
            o->speed = d;
            speed_given = true;
            break;
        case ':':
            FAIL("%s needs a value", argv[optind - 1]);
        default:
            FAIL("unknown option %s (see -h)", argv[optind - 1]);
        }
    }
    if (optind < argc)
        FAIL("unexpected argument \"%s\" (see -h)", argv[optind]);
    if (!o->replay && (speed_given || loop_given))
        FAIL("--speed and --loop need --replay");
    if (o->call_stop == CALL_STOP_NONE && (stop_time_given || o->warm_start))
        FAIL("--call-stop-time and --warm-start need --call-stop");
    return OPTS_RUN;
}
