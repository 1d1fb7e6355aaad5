/* sim_frame.h - build one frame the way a RAPID program would.
 *
 * A frame is "TYPE,SEQ[,field...][*HH]\n". Numbers are written as RAPID's
 * NumToStr(value, decimals) prints them: fixed decimals, a leading zero,
 * never "-0.00". The whole frame, LF included, must fit in SIM_FRAME_MAX
 * bytes, the longest RAPID string: a program that built a longer one would
 * stop with ERR_STRTOOLNG, so sim_frame_end() aborts the simulator instead of
 * sending it (a bug in the simulator, never a run-time condition).
 */
#ifndef SIM_FRAME_H
#define SIM_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SIM_FRAME_MAX 80 /* bytes including LF: a RAPID string */

struct sim_frame {
    size_t len;
    bool overflow;                 /* an append did not fit the buffer */
    char text[SIM_FRAME_MAX + 16]; /* room to notice an over-long frame */
};

void sim_frame_begin(struct sim_frame *f, const char *type, uint32_t seq);
void sim_frame_str(struct sim_frame *f, const char *s);      /* ",s" */
void sim_frame_num(struct sim_frame *f, double v, int decimals);
void sim_frame_int(struct sim_frame *f, long v);

/* Append "*HH" when checksum, then LF; check the bound (see above).
 * Returns the length; text is NUL-terminated. */
size_t sim_frame_end(struct sim_frame *f, bool checksum);

/* NumToStr(v, decimals) into buf (at least 48 bytes). Returns the length. */
size_t sim_numtostr(char *buf, size_t size, double v, int decimals);

#endif
