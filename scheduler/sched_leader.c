/* This file elects the leader: a MariaDB named lock held on a connection of its own, so that
 * the lock lives exactly as long as that connection and a dead leader frees it at once. */
#include "log.h"
#include "sched.h"
#include "util.h"

#include <stdio.h>
#include <string.h>

/* MariaDB and MySQL refuse lock names longer than 64 characters. */
#define SCHED_LOCK_NAME_MAX 64

void
sched_lock_name(const char *database, char *out, size_t len)
{
    /* The database name is part of the lock so that fleets (and test databases) sharing one
     * server elect their leaders independently. */
    int n = snprintf(out, len, "jobfleet:%s:scheduler", database);
    if (n >= 0 && n <= SCHED_LOCK_NAME_MAX && (size_t)n < len)
        return;
    /* Too long: keep a readable head of the name and make it unique with a hash (FNV-1a). */
    uint32_t h = 2166136261u;
    for (const char *p = database; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    snprintf(out, len, "jobfleet:%.32s~%08x:scheduler", database, (unsigned)h);
}

/* The lock connection's idle timeout: two leases, at least 10 s, and at least three ticks (the
 * leader uses it once a tick: with ticks longer than the timeout the server closed it between
 * two, and the leader lost its lock at every tick). */
static int64_t
sched_lock_idle_s(const struct sched *s)
{
    int64_t t = 2 * (int64_t)s->cfg->worker.lease_s;
    int64_t ticks = 3 * ((int64_t)s->cfg->scheduler.tick_ms + 999) / 1000;
    t = t > ticks ? t : ticks;
    return t > 10 ? t : 10;
}

void
sched_try_lead(struct sched *s)
{
    if (!sched_db_ready(s, &s->lock_link, s->lock_db))
        return;
    /* A leader whose host dies or is cut off never closes its connection: the server would keep
     * the session, and so the lock, until TCP keepalive gave up (hours), and no standby could
     * lead. The leader uses this connection every tick, so an idle timeout of two leases (or
     * three ticks) frees the lock soon after a leader stops, and only a leader that stopped. */
    if (db_exec(s->lock_db, "SET SESSION wait_timeout = ?", DB_P(DBI(sched_lock_idle_s(s))), NULL,
                NULL) < 0) {
        sched_db_fail(s, SCHED_STEP_LEADER, s->lock_db);
        return;
    }
    struct db_rows *r = db_query(s->lock_db, "SELECT GET_LOCK(?, ?)",
                                 DB_P(DBS(s->lock_name), DBD(SCHED_LOCK_WAIT_S)));
    if (r == NULL) {
        sched_db_fail(s, SCHED_STEP_LEADER, s->lock_db);
        return;
    }
    const char *v = db_rows_get(r, 0, 0);
    bool got = v != NULL && strcmp(v, "1") == 0;
    bool failed = v == NULL;
    db_rows_free(r);
    if (got) {
        s->leader = true;
        s->waiting_logged = false;
        log_info("became leader (lock \"%s\")", s->lock_name);
        return;
    }
    if (failed) {
        /* NULL means the wait was killed or failed; try again after the caller's pause. */
        sched_warn(s, SCHED_STEP_LEADER, "GET_LOCK returned NULL");
        return;
    }
    if (!s->waiting_logged) {
        log_info("standby: another scheduler holds lock \"%s\"; waiting for it", s->lock_name);
        s->waiting_logged = true;
    }
}

bool
sched_still_leader(struct sched *s)
{
    struct db_rows *r =
        db_query(s->lock_db, "SELECT IS_USED_LOCK(?) = CONNECTION_ID()", DB_P(DBS(s->lock_name)));
    if (r != NULL) {
        bool held = db_rows_int(r, 0, 0, 0) == 1;
        db_rows_free(r);
        if (held)
            return true;
        log_info("lost leadership: lock \"%s\" is no longer held by this scheduler", s->lock_name);
    } else {
        /* Whatever the error, holding the lock can no longer be confirmed: step down. A lost
         * connection has freed the lock already, and a standby may hold it now. */
        log_info("lost leadership: %s", db_errstr(s->lock_db));
        sched_db_fail(s, SCHED_STEP_LEADER, s->lock_db);
    }
    s->leader = false;
    return false;
}

void
sched_release(struct sched *s)
{
    if (!db_connected(s->lock_db))
        return;
    struct db_rows *r = db_query(s->lock_db, "SELECT RELEASE_LOCK(?)", DB_P(DBS(s->lock_name)));
    if (r == NULL)
        log_warnx("releasing lock \"%s\": %s (closing the connection frees it)", s->lock_name,
                  db_errstr(s->lock_db));
    else
        log_info("released lock \"%s\"", s->lock_name);
    db_rows_free(r);
    s->leader = false;
}
