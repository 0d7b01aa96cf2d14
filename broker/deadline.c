/*
 * deadline.c - one libevent timer that follows a coordinator's next deadline.
 *
 * The group, consumer-group and transaction coordinators are pure state machines
 * that say when they next have work (their next deadline, wall-clock ms). Each
 * owner keeps one timer armed for exactly that moment, so sessions, rebalances
 * and transactions time out within a millisecond or so of their deadline, with
 * no sweep. Re-arming for the moment already armed is free, so callers may call
 * deadline_timer_set after every request that could move a deadline.
 */
#include "broker/deadline.h"

#include <errno.h>
#include <stddef.h>

#include <event2/event.h>

int deadline_timer_init(struct deadline_timer *t, struct event_base *base,
                        void (*cb)(int fd, short what, void *arg), void *arg)
{
    t->at_ms = 0;
    t->ev = base ? evtimer_new(base, cb, arg) : NULL;
    return base && !t->ev ? -ENOMEM : 0;
}

void deadline_timer_set(struct deadline_timer *t, int64_t at_ms, int64_t now_ms)
{
    if (!t->ev || at_ms == t->at_ms)
        return;
    if (at_ms == INT64_MAX) {
        evtimer_del(t->ev);
        t->at_ms = 0;
        return;
    }
    int64_t delay = at_ms > now_ms ? at_ms - now_ms : 0; /* whole ms: never before it */
    struct timeval tv = {(time_t)(delay / 1000), (suseconds_t)(delay % 1000) * 1000};
    evtimer_add(t->ev, &tv);
    t->at_ms = at_ms;
}

void deadline_timer_fired(struct deadline_timer *t)
{
    t->at_ms = 0;
}

void deadline_timer_release(struct deadline_timer *t)
{
    if (t->ev)
        event_free(t->ev);
    t->ev = NULL;
    t->at_ms = 0;
}
