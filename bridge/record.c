/* record.c - see record.h. */
#include "record.h"

#include <errno.h>
#include <string.h>

void record_reopen(struct bridge *b)
{
    if (!b->record || !b->cfg.record[0])
        return;
    FILE *f = fopen(b->cfg.record, "a");
    if (!f) {
        log_error(&b->log, "record file %s cannot be reopened, writing on to the old one: %s",
                  b->cfg.record, strerror(errno));
        return;
    }
    setvbuf(f, NULL, _IOLBF, 0);
    fclose(b->record);
    b->record = f;
    log_info(&b->log, "record file %s reopened", b->cfg.record);
}
