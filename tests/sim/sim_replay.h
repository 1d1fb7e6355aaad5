/* sim_replay.h - a recorded robot log, loaded for playback.
 *
 * Format: one frame per line, "<unix time with fraction> <frame text>", e.g.
 * "1764101234.123456 JT,1,0.00,...", or the bridge's --record format
 * "<time> <robot> <frame text>" (a robot column is recognised as a RAPID
 * identifier followed by more text). A log that names several robots is cut
 * down to the frames of the one asked for; a log of one robot is played
 * whatever its name. Lines starting with '#' and empty lines
 * are skipped; a CR before the LF is dropped. The frame text is kept exactly
 * as recorded (it may be a malformed frame on purpose) but must be
 * 1..REPLAY_LINE_MAX bytes without NUL; the whole file may be at most
 * REPLAY_FILE_MAX bytes.
 *
 * Ownership: replay_load() returns a log the caller frees with replay_free().
 */
#ifndef SIM_REPLAY_H
#define SIM_REPLAY_H

#include <stdbool.h>
#include <stddef.h>

#define REPLAY_FILE_MAX (256L * 1024 * 1024)
#define REPLAY_LINE_MAX 1023 /* frame text bytes: FRAME_MAX with its LF */

struct replay_frame {
    double time;        /* unix seconds as recorded */
    const char *robot;  /* the recorded robot column, NULL when absent */
    const char *text;   /* NUL-terminated, no LF */
    size_t len;
};

struct sim_replay {
    size_t n;
    struct replay_frame *frames;
    bool starts_with_hi;  /* frames[0] is a HI frame */
    char *storage;        /* the file's text, frames point into it */
};

/* robot: whose frames to keep from a log of several robots. Returns NULL
 * with err ("FILE:LINE: message") on error. An empty log (no frames) is an
 * error. */
struct sim_replay *replay_load(const char *path, const char *robot, char *err, size_t errlen);
void replay_free(struct sim_replay *r);

#endif
