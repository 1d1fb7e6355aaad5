/* show.h - one message from the bridge -> one line for a person.
 *
 *   22:30:01.123 rob1 JT  j=[  10.50  -20.00   30.25    0.00   90.00 -180.00]
 *   22:30:01.124 rob1 PS  pos=[ 812.3  -10.0  655.1] quat=[0.707107 0 0.707107 0]
 *   22:30:01.125 rob1 ST  RUNNING AUTO motors ON speed 100
 *   22:30:01.200 rob1 IO  doGrip = 1
 *   22:30:01.300 rob1 EV  W 10012 text
 *   22:30:01.400 rob1 AK  ack 17 ERR 3 text
 *   22:30:01.500 rob1 CF  conf=[0,-1,0,1] tool=tool0 wobj=wobj0   (any other type)
 *   22:30:02.000 rob1 LINK up from 127.0.0.1:50312
 *   22:30:05.000 rob1 LINK down (idle timeout)
 *   22:30:06.000 DROPPED 12 stream messages (this client read too slowly)
 *   22:30:07.000 BYE shutdown
 *   22:30:07.000 ERROR unknown_robot: no such robot
 *   22:30:07.000 CLASS key=value ...        (any other class)
 *
 * The time is the FRAME's "time" (the bridge's receive time) in local time,
 * else `now` (Unix seconds, the caller's clock). A FRAME whose members do not
 * have the shapes its type's row expects falls back to the generic key=value
 * listing, so no message is ever lost from view. Control characters in any
 * string are shown as "?" so nothing received can drive the terminal.
 */
#ifndef RB_CLI_SHOW_H
#define RB_CLI_SHOW_H

#include <jansson.h>
#include <stdio.h>

/* Print msg (a JSON object) as one line ending with LF. */
void show_message(FILE *out, const json_t *msg, double now);

/* Print text with control characters replaced by "?". */
void show_text(FILE *out, const char *text);

#endif
