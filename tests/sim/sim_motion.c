/* sim_motion.c - joint path, Home move and rough kinematics (see sim_motion.h). */
#include "sim_motion.h"

#include <math.h>
#include <string.h>

#define DEG (M_PI / 180.0)

/* One row per axis: limits of an IRB 140, home, and the swing around it.
 * home +- amp stays inside the limits, so no clamping is ever visible. */
static const struct axis {
    double min, max, home, amp, period;
} axes[SIM_JOINTS] = {
    {-180, 180, 0, 60, 12.0},
    {-90, 110, 0, 30, 9.0},
    {-230, 50, 0, 25, 7.0},
    {-200, 200, 0, 90, 15.0},
    {-115, 115, 30, 40, 8.0},
    {-400, 400, 0, 120, 11.0},
};

/* Link lengths in mm (IRB 140-like): base height, shoulder offset, upper
 * arm, forearm to wrist centre, wrist centre to flange. */
#define L_BASE 352.0
#define L_OFFSET 70.0
#define L_UPPER 360.0
#define L_FORE 380.0
#define L_FLANGE 65.0

static void path_joints(double phase, double j[SIM_JOINTS])
{
    for (int i = 0; i < SIM_JOINTS; i++) {
        double v = axes[i].home + axes[i].amp * sin(2 * M_PI * phase / axes[i].period);
        j[i] = fmin(axes[i].max, fmax(axes[i].min, v));
    }
}

void motion_init(struct sim_motion *m)
{
    memset(m, 0, sizeof *m);
    m->state = MOTION_PATH;
    path_joints(0, m->joints);
}

bool motion_advance(struct sim_motion *m, double dt, double now, int speed)
{
    switch (m->state) {
    case MOTION_PATH:
        m->phase += dt * speed / 100.0;
        path_joints(m->phase, m->joints);
        return false;
    case MOTION_HOMING: {
        double f = m->home_dur > 0 ? (now - m->home_start) / m->home_dur : 1;
        if (f >= 1) {
            m->state = MOTION_PATH;
            m->phase = 0;
            path_joints(0, m->joints);
            return true;
        }
        double s = f * f * (3 - 2 * f); /* smooth start and stop */
        for (int i = 0; i < SIM_JOINTS; i++)
            m->joints[i] = m->from[i] + (axes[i].home - m->from[i]) * s;
        return false;
    }
    case MOTION_HOLD:
        return false;
    }
    return false;
}

void motion_stop(struct sim_motion *m)
{
    m->state = MOTION_HOLD;
}

void motion_resume(struct sim_motion *m)
{
    if (m->state != MOTION_HOLD)
        return;
    /* Continue the path from where the joints are held: the path is a
     * function of phase, and the phase was frozen with them. */
    m->state = MOTION_PATH;
}

double motion_home(struct sim_motion *m, double now)
{
    double worst = 0;
    for (int i = 0; i < SIM_JOINTS; i++) {
        m->from[i] = m->joints[i];
        worst = fmax(worst, fabs(axes[i].home - m->joints[i]));
    }
    m->state = MOTION_HOMING;
    m->home_start = now;
    m->home_dur = fmin(MOTION_HOME_MAX, worst / MOTION_HOME_SPEED);
    return m->home_dur;
}

double motion_track(const struct sim_motion *m)
{
    return 500.0 + 400.0 * sin(2 * M_PI * m->phase / 20.0);
}

static void quat_mul(const double a[4], const double b[4], double out[4])
{
    double r[4] = {
        a[0] * b[0] - a[1] * b[1] - a[2] * b[2] - a[3] * b[3],
        a[0] * b[1] + a[1] * b[0] + a[2] * b[3] - a[3] * b[2],
        a[0] * b[2] - a[1] * b[3] + a[2] * b[0] + a[3] * b[1],
        a[0] * b[3] + a[1] * b[2] - a[2] * b[1] + a[3] * b[0],
    };
    memcpy(out, r, sizeof r);
}

void motion_pose(const double j[SIM_JOINTS], double pos[3], double quat[4])
{
    /* In the arm's vertical plane: r outwards from axis 1, z up. */
    double r = L_OFFSET + L_UPPER * sin(j[1] * DEG);
    double z = L_BASE + L_UPPER * cos(j[1] * DEG);
    double fore = (j[1] + j[2]) * DEG;          /* forearm below horizontal */
    r += L_FORE * cos(fore);
    z -= L_FORE * sin(fore);
    double tilt = fore + j[4] * DEG;            /* tool axis below horizontal */
    r += L_FLANGE * cos(tilt);
    z -= L_FLANGE * sin(tilt);
    pos[0] = r * cos(j[0] * DEG);
    pos[1] = r * sin(j[0] * DEG);
    pos[2] = z;

    /* tool0 = Rz(j1) * Ry(90 deg + tilt) * Rz(j4 + j6): at the zero position
     * the flange points along base x, as on a real arm. */
    double a = j[0] * DEG / 2, b = (M_PI / 2 + tilt) / 2, c = (j[3] + j[5]) * DEG / 2;
    const double qz1[4] = {cos(a), 0, 0, sin(a)};
    const double qy[4] = {cos(b), 0, sin(b), 0};
    const double qz2[4] = {cos(c), 0, 0, sin(c)};
    double t[4];
    quat_mul(qz1, qy, t);
    quat_mul(t, qz2, quat);
    double n = sqrt(quat[0] * quat[0] + quat[1] * quat[1] + quat[2] * quat[2] + quat[3] * quat[3]);
    double sign = quat[0] < 0 ? -1 : 1;
    for (int i = 0; i < 4; i++)
        quat[i] = sign * quat[i] / n;
}

void motion_conf(const double j[SIM_JOINTS], int conf[4])
{
    conf[0] = (int)floor(j[0] / 90.0);
    conf[1] = (int)floor(j[3] / 90.0);
    conf[2] = (int)floor(j[5] / 90.0);
    conf[3] = j[4] < 0 ? 1 : 0; /* wrist flip, roughly */
}
