/* sim_frame.c - frame text as a RAPID program builds it (see sim_frame.h). */
#include "sim_frame.h"

#include "framer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void append(struct sim_frame *f, const char *s, size_t n)
{
    if (f->overflow || f->len + n >= sizeof f->text) {
        f->overflow = true;
        return;
    }
    memcpy(f->text + f->len, s, n);
    f->len += n;
    f->text[f->len] = '\0';
}

void sim_frame_begin(struct sim_frame *f, const char *type, uint32_t seq)
{
    f->len = 0;
    f->overflow = false;
    f->text[0] = '\0';
    char head[32];
    int n = snprintf(head, sizeof head, "%s,%u", type, (unsigned)seq);
    append(f, head, (size_t)n);
}

void sim_frame_str(struct sim_frame *f, const char *s)
{
    append(f, ",", 1);
    append(f, s, strlen(s));
}

size_t sim_numtostr(char *buf, size_t size, double v, int decimals)
{
    int n = snprintf(buf, size, "%.*f", decimals, v);
    if (n < 0 || (size_t)n >= size)
        return 0;
    /* RAPID prints a value that rounds to zero without a sign. */
    if (buf[0] == '-' && strspn(buf + 1, "0.") == (size_t)n - 1) {
        memmove(buf, buf + 1, (size_t)n);
        n--;
    }
    return (size_t)n;
}

void sim_frame_num(struct sim_frame *f, double v, int decimals)
{
    char num[48];
    size_t n = sim_numtostr(num, sizeof num, v, decimals);
    append(f, ",", 1);
    append(f, num, n);
}

void sim_frame_int(struct sim_frame *f, long v)
{
    char num[24];
    int n = snprintf(num, sizeof num, ",%ld", v);
    append(f, num, (size_t)n);
}

size_t sim_frame_end(struct sim_frame *f, bool checksum)
{
    if (checksum && !f->overflow) {
        char sum[4];
        snprintf(sum, sizeof sum, "*%02X", frame_checksum(f->text, f->len));
        append(f, sum, 3);
    }
    append(f, "\n", 1);
    if (f->overflow || f->len > SIM_FRAME_MAX) {
        fprintf(stderr, "robot-sim: BUG: frame over %d bytes, a RAPID string cannot hold it: %.*s\n",
                SIM_FRAME_MAX, (int)f->len, f->text);
        abort();
    }
    return f->len;
}
