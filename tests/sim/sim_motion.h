/* sim_motion.h - a plausible six-axis robot moving on its own.
 *
 * On its path each joint swings slowly around the home position, a sine of
 * its own period and amplitude, always inside the joint limits of a small
 * ABB arm (IRB 140-like). Path time runs at the speed override. A stop holds
 * the joints; "Home" moves them back in a straight joint move of at most
 * MOTION_HOME_MAX seconds, after which the path starts again from home.
 * The pose (PS) and configuration (CF) come from a rough forward kinematics
 * of the joints, so position, orientation and quarter turns move together.
 * Pure computation: no I/O, no clock (the caller passes times).
 */
#ifndef SIM_MOTION_H
#define SIM_MOTION_H

#include <stdbool.h>

#define SIM_JOINTS 6
#define MOTION_HOME_SPEED 90.0 /* deg/s of the joint that moves most */
#define MOTION_HOME_MAX 2.0    /* s: a Home move never takes longer */

enum motion_state { MOTION_PATH, MOTION_HOMING, MOTION_HOLD };

struct sim_motion {
    enum motion_state state;
    double phase;                  /* path time, s */
    double joints[SIM_JOINTS];     /* degrees, current */
    double from[SIM_JOINTS];       /* start of the Home move */
    double home_start, home_dur;   /* s */
};

void motion_init(struct sim_motion *m);

/* Move dt seconds on at speed percent; now is the caller's clock, used by
 * the Home move. Returns true when a Home move ended in this step. */
bool motion_advance(struct sim_motion *m, double dt, double now, int speed);

void motion_stop(struct sim_motion *m);      /* hold where it is */
void motion_resume(struct sim_motion *m);    /* held -> on the path again */
/* Start the move home; returns its duration (0 when already home). */
double motion_home(struct sim_motion *m, double now);

/* External axis e1: a track in mm that follows the path phase. */
double motion_track(const struct sim_motion *m);

/* Tool0 in the base frame: pos in mm, quat unit with q1 >= 0 (q1 scalar). */
void motion_pose(const double joints[SIM_JOINTS], double pos[3], double quat[4]);
/* cf1, cf4, cf6 (quarter turns of axes 1, 4, 6) and cfx. */
void motion_conf(const double joints[SIM_JOINTS], int conf[4]);

#endif
