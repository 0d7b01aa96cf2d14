/*
 * grouputil.c - brookd's configuration for the group unit tests, parsed from the
 * same arguments the daemon takes (see grouputil.h).
 */
#include <stdio.h>
#include <string.h>

#include "tests/unit/grouputil.h"

int gu_config_parse(struct broker_config *c, const char *dir, const char *override,
                    const char **err)
{
    /* getopt wants writable arguments */
    char prog[] = "brookd", data[] = "-d", opt[] = "-o", dirbuf[4096], buf[256];
    char *argv[] = {prog, data, dirbuf, opt, buf, NULL};
    snprintf(dirbuf, sizeof dirbuf, "%s", dir);
    snprintf(buf, sizeof buf, "%s", override ? override : "");
    memset(c, 0, sizeof *c);
    return broker_config_from_args(c, override ? 5 : 3, argv, err);
}
