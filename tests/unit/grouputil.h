/*
 * grouputil.h - what the group unit tests (test_groups.c, test_group_coord.c)
 * share: brookd's configuration as its command line would make it, so the tests
 * run with the daemon's own defaults and one override of their choosing.
 */
#ifndef BROOK_TESTS_GROUPUTIL_H
#define BROOK_TESTS_GROUPUTIL_H

#include "broker/config.h"

/* Parse brookd's arguments for data directory dir with one optional "key=value"
 * override (NULL: none). 0, or -1 with *err saying why. Release with
 * broker_config_release(). */
int gu_config_parse(struct broker_config *c, const char *dir, const char *override,
                    const char **err);

#endif
