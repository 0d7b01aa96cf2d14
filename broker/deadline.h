/*
 * deadline.h - one libevent timer that follows a coordinator's next deadline
 * (deadline.c). Loop thread only.
 */
#ifndef BROOK_BROKER_DEADLINE_H
#define BROOK_BROKER_DEADLINE_H

#include <stdint.h>

struct event;
struct event_base;

struct deadline_timer {
    struct event *ev; /* NULL without an event loop (unit tests) */
    int64_t at_ms;    /* the deadline it is armed for (wall ms), 0 when not armed */
};

/* A timer on base calling cb(-1, EV_TIMEOUT, arg); with no base, one that never
 * fires (set is then a no-op). 0 or -ENOMEM. */
int deadline_timer_init(struct deadline_timer *t, struct event_base *base,
                        void (*cb)(int fd, short what, void *arg), void *arg);
/* Arm t for at_ms (INT64_MAX: disarm); nothing to do when already armed for it. */
void deadline_timer_set(struct deadline_timer *t, int64_t at_ms, int64_t now_ms);
/* Call first in the timer's callback: it is no longer armed. */
void deadline_timer_fired(struct deadline_timer *t);
void deadline_timer_release(struct deadline_timer *t);

#endif
