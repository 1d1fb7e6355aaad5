/* log.h - one line per event on stderr: "2026-11-25T22:30:01.123Z info: ...".
 *
 * The logger is a small value owned by the bridge context, so there is no
 * global log state; messages below its level are skipped cheaply.
 */
#ifndef RB_LOG_H
#define RB_LOG_H

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

struct logger {
    enum log_level level;
};

void log_msg(const struct logger *lg, enum log_level lvl, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_debug(lg, ...) log_msg((lg), LOG_DEBUG, __VA_ARGS__)
#define log_info(lg, ...) log_msg((lg), LOG_INFO, __VA_ARGS__)
#define log_warn(lg, ...) log_msg((lg), LOG_WARN, __VA_ARGS__)
#define log_error(lg, ...) log_msg((lg), LOG_ERROR, __VA_ARGS__)

#endif
