/* record.h - the --record file across log rotation.
 *
 * SIGHUP reopens the record file by its name (b->cfg.record), so that after
 * logrotate has renamed it the next lines go to a new file of that name.
 * When the name cannot be opened, the old file stays in use (nothing is
 * lost) and the error is logged; the next SIGHUP tries again.
 */
#ifndef RB_RECORD_H
#define RB_RECORD_H

#include "bridge.h"

/* Reopen b->record for appending; nothing to do without a record file. */
void record_reopen(struct bridge *b);

#endif
