/* This file authenticates the dashboard's users: the [dashboard] users with crypt(3) hashes
 * (libcrypt: yescrypt or bcrypt), the API token, sessions kept in memory with an expiry and a
 * per-session form token, the failed-login limit per client address and per user name, the
 * producer's budget of password checks, and the room kept for a user at an address they logged
 * in from before.
 *
 * Sessions live in this process only: behind a load balancer with several producers, either
 * make it sticky or log in per producer (docs/dashboard.md). */
#include "dash_int.h"
#include "hmac.h"
#include "log.h"
#include "log_limit.h"
#include "metrics.h"

#include <crypt.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
dash_users_free(struct dash_user *u, int n)
{
    for (int i = 0; i < n; i++) {
        free(u[i].name);
        free(u[i].hash);
    }
    free(u);
}

static int
dash_user_parse(const char *entry, struct dash_user *u, char *err, size_t errlen)
{
    const char *c1 = strchr(entry, ':');
    const char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    if (c2 == NULL) {
        snprintf(err, errlen, "[dashboard] users: \"%.40s\": expected name:role:hash", entry);
        return -1;
    }
    size_t nl = (size_t)(c1 - entry);
    if (nl == 0 || nl > DASH_NAME_MAX) {
        snprintf(err, errlen, "[dashboard] users: \"%.40s\": a name of 1 to %d characters", entry,
                 DASH_NAME_MAX);
        return -1;
    }
    /* The API token's login and the API's changes are recorded as "api-token". */
    if (nl == 9 && strncmp(entry, "api-token", 9) == 0) {
        snprintf(err, errlen,
                 "[dashboard] users: \"api-token\" is the name of the API token's login: "
                 "choose another name");
        return -1;
    }
    for (const char *p = entry; p < c1; p++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-@", *p)) {
            snprintf(err, errlen, "[dashboard] users: \"%.*s\": names use letters, digits and ._-@",
                     (int)nl, entry);
            return -1;
        }
    bool admin = strncmp(c1 + 1, "admin:", 6) == 0;
    if (!admin && strncmp(c1 + 1, "read:", 5) != 0) {
        snprintf(err, errlen, "[dashboard] users: user \"%.*s\": role must be admin or read",
                 (int)nl, entry);
        return -1;
    }
    const char *h = c2 + 1;
    if (strncmp(h, "$y$", 3) != 0 && strncmp(h, "$2b$", 4) != 0 && strncmp(h, "$2y$", 4) != 0) {
        snprintf(err, errlen,
                 "[dashboard] users: user \"%.*s\": the hash must be yescrypt ($y$) or bcrypt "
                 "($2b$); make one with `jobfleet passwd`",
                 (int)nl, entry);
        return -1;
    }
    u->name = xstrndup(entry, nl);
    u->admin = admin;
    u->hash = xstrdup(h);
    return 0;
}

int
dash_users_parse(const char *spec, struct dash_user **out, int *n, char *err, size_t errlen)
{
    *out = NULL;
    *n = 0;
    const char *p = spec ? spec : "";
    while (*p) {
        size_t skip = strspn(p, " \t\r\n,");
        p += skip;
        size_t len = strcspn(p, " \t\r\n,");
        if (len == 0)
            break;
        char *entry = xstrndup(p, len);
        p += len;
        *out = xrealloc(*out, sizeof(**out) * (size_t)(*n + 1));
        int rc = dash_user_parse(entry, &(*out)[*n], err, errlen);
        free(entry);
        if (rc < 0) {
            dash_users_free(*out, *n);
            *out = NULL;
            *n = 0;
            return -1;
        }
        (*n)++;
    }
    return 0;
}

static void dash_random_hex(char *out, size_t bytes);

/* The hash an unknown user name is checked against, so that its check costs what a user's
 * does: the users' hashes may differ in kind and cost (bcrypt at 12 takes ~200 ms, yescrypt
 * at its default ~15 ms), and one fixed cost would tell the names that exist from the rest.
 * A name always gets the same user's hash (its settings and salt; the result is ignored). */
static const char *
dash_decoy_hash(const struct dash_auth *a, const char *user)
{
    if (a->n_users == 0)
        return a->dummy_hash;
    uint32_t h = 2166136261u; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)user; *p; p++)
        h = (h ^ *p) * 16777619u;
    return a->users[h % (uint32_t)a->n_users].hash;
}

int
dash_auth_init(struct dash_auth *a, const struct cfg *c, char *err, size_t errlen)
{
    memset(a, 0, sizeof(*a));
    a->cfg = c;
    if (dash_users_parse(c->dashboard.users, &a->users, &a->n_users, err, errlen) < 0)
        return -1;
    pthread_mutex_init(&a->mu, NULL);
    /* A hash of a password nobody has, for unknown names when no user is configured. */
    char salt[CRYPT_GENSALT_OUTPUT_SIZE];
    struct crypt_data *cd = xcalloc(1, sizeof(*cd));
    const char *h = crypt_gensalt_rn("$y$", 0, NULL, 0, salt, (int)sizeof(salt))
                        ? crypt_r("not a password", salt, cd)
                        : NULL;
    snprintf(a->dummy_hash, sizeof(a->dummy_hash), "%s", h && h[0] == '$' ? h : "*");
    free(cd);
    dash_random_hex(a->flash_key, 32);
    return 0;
}

void
dash_auth_flash_sig(const struct dash_auth *a, const char *msg, char out[33])
{
    uint8_t d[HMAC_SHA256_LEN];
    const void *parts[] = {msg};
    size_t lens[] = {strlen(msg)};
    hmac_sha256(a->flash_key, strlen(a->flash_key), parts, lens, 1, d);
    hmac_hex(d, 16, out);
}

void
dash_auth_release(struct dash_auth *a)
{
    dash_users_free(a->users, a->n_users);
    pthread_mutex_destroy(&a->mu);
    /* The session ids are secrets: do not leave them in freed memory. */
    memset(a->sessions, 0, sizeof(a->sessions));
}

static void
dash_random_hex(char *out, size_t bytes)
{
    unsigned char raw[32];
    if (bytes > sizeof(raw) || RAND_bytes(raw, (int)bytes) != 1)
        fatalx("RAND_bytes failed");
    for (size_t i = 0; i < bytes; i++)
        snprintf(out + 2 * i, 3, "%02x", raw[i]);
}

bool
dash_auth_token(struct dash_auth *a, const char *token)
{
    const char *want = a->cfg->producer.api_token;
    return want && want[0] && token && hmac_secret_equal(token, strlen(token), want, strlen(want));
}

/* With mu held: whether f's failures lock its key out now. */
static bool
dash_fail_locks(const struct dash_auth *a, const struct dash_fail *f)
{
    return f->count >= a->cfg->dashboard.login_max_failures;
}

/* With mu held: the live failure entry of key, or NULL. When make is set and there is none, a
 * new one takes a free slot, else the one with the fewest failures (the oldest of those), but
 * never a locked one: a flood of failures under other names and addresses, which fills the
 * table, must neither end a lockout early nor wipe what a name has gathered towards one
 * (undoing a name's c failures takes the table filled with entries of c or more). NULL when
 * every entry is locked: the new key goes uncounted, and the check budget still bounds it. */
static struct dash_fail *
dash_fail_find(struct dash_auth *a, const char *key, bool make, int64_t now)
{
    struct dash_fail *victim = NULL;
    int64_t window = (int64_t)a->cfg->dashboard.login_lockout_s * 1000;
    for (int i = 0; i < DASH_FAILS; i++) {
        struct dash_fail *f = &a->fails[i];
        if (f->count && now - f->first_ms > window)
            f->count = 0;
        if (f->count && strcmp(f->key, key) == 0)
            return f;
        if (dash_fail_locks(a, f))
            continue;
        if (victim == NULL || f->count < victim->count ||
            (f->count == victim->count && f->first_ms < victim->first_ms))
            victim = f;
    }
    if (!make || victim == NULL)
        return NULL;
    memset(victim, 0, sizeof(*victim));
    snprintf(victim->key, sizeof(victim->key), "%s", key);
    victim->first_ms = now;
    return victim;
}

/* With mu held: counts a failure of key. */
static void
dash_fail_count(struct dash_auth *a, const char *key, int64_t now)
{
    struct dash_fail *f = dash_fail_find(a, key, true, now);
    if (f)
        f->count++;
}

/* With mu held: seconds until key may try again, 0 when it may now. */
static int64_t
dash_fail_locked(struct dash_auth *a, const char *key, int64_t now)
{
    struct dash_fail *f = dash_fail_find(a, key, false, now);
    if (f == NULL || !dash_fail_locks(a, f))
        return 0;
    return (f->first_ms + (int64_t)a->cfg->dashboard.login_lockout_s * 1000 - now) / 1000 + 1;
}

/* With mu held: takes one check of b (per_s a second after a burst), or says there is none
 * now. */
static bool
dash_bucket_take(struct dash_bucket *b, double per_s, double burst)
{
    int64_t now = now_mono_ms();
    double t = b->tokens + (double)(now - b->refill_ms) * per_s / 1000.0;
    b->tokens = t > burst ? burst : t;
    b->refill_ms = now;
    if (b->busy || b->tokens < 1.0)
        return false;
    b->tokens -= 1.0;
    b->busy = true;
    return true;
}

/* With mu held: the entry of user at ip when that user logged in from there within
 * DASH_KNOWN_DAYS; else, when make is set, a new one in the place of the user's oldest when it
 * holds DASH_KNOWN_PER_USER, else of the oldest of all; else NULL. An entry whose check runs
 * is never taken. */
static struct dash_known *
dash_known_find(struct dash_auth *a, const char *user, const char *ip, bool make, int64_t now)
{
    char key[sizeof(a->known[0].key)];
    int n = snprintf(key, sizeof(key), "%.*s\n%s", DASH_NAME_MAX, user, ip);
    size_t ulen = strcspn(key, "\n") + 1; /* "name\n" */
    struct dash_known *oldest = NULL, *own = NULL;
    int held = 0;
    for (int i = 0; i < DASH_KNOWN && n > 0; i++) {
        struct dash_known *k = &a->known[i];
        if (k->last_ms && now - k->last_ms > (int64_t)DASH_KNOWN_DAYS * 86400 * 1000)
            k->last_ms = 0;
        if (k->last_ms && strcmp(k->key, key) == 0)
            return k;
        if (k->checks.busy)
            continue;
        if (oldest == NULL || k->last_ms < oldest->last_ms)
            oldest = k;
        if (k->last_ms && strncmp(k->key, key, ulen) == 0) {
            held++;
            if (own == NULL || k->last_ms < own->last_ms)
                own = k;
        }
    }
    struct dash_known *slot = held >= DASH_KNOWN_PER_USER ? own : oldest;
    if (!make || slot == NULL)
        return NULL;
    memset(slot, 0, sizeof(*slot));
    snprintf(slot->key, sizeof(slot->key), "%s", key);
    return slot;
}

static bool
dash_password_ok(const char *pass, const char *hash)
{
    struct crypt_data *cd = xcalloc(1, sizeof(*cd));
    const char *h = crypt_r(pass, hash, cd);
    bool ok = h && h[0] != '*' && strlen(h) == strlen(hash) &&
              hmac_secret_equal(h, strlen(h), hash, strlen(hash));
    free(cd);
    return ok;
}

/* With mu held: stores a new session for who, in the place of the user's oldest when it holds
 * DASH_USER_SESSIONS, else of an expired or the oldest one. */
static void
dash_session_open(struct dash_auth *a, const char *user, bool admin, int64_t now,
                  struct dash_session *out)
{
    struct dash_session *slot = NULL, *oldest = &a->sessions[0], *own = NULL;
    int held = 0;
    for (int i = 0; i < DASH_SESSIONS; i++) {
        struct dash_session *s = &a->sessions[i];
        bool live = s->id[0] != '\0' && s->expires_ms > now;
        if (!live && slot == NULL)
            slot = s;
        if (live && s->expires_ms < oldest->expires_ms)
            oldest = s;
        if (live && strcmp(s->user, user) == 0) {
            held++;
            if (own == NULL || s->expires_ms < own->expires_ms)
                own = s;
        }
    }
    if (held >= DASH_USER_SESSIONS)
        slot = own;
    else if (slot == NULL)
        slot = oldest;
    memset(slot, 0, sizeof(*slot));
    dash_random_hex(slot->id, 32);
    dash_random_hex(slot->csrf, 32);
    snprintf(slot->user, sizeof(slot->user), "%s", user);
    slot->admin = admin;
    slot->expires_ms = now + (int64_t)a->cfg->dashboard.session_ttl_s * 1000;
    *out = *slot;
}

static const struct metric_def dash_metric_logins = {
    "jobfleet_dashboard_logins_total",
    "Dashboard logins by outcome: ok, wrong (user or password), locked (the address or user "
    "failed too often) and busy (refused unchecked: too many logins tried at once).",
    METRIC_COUNTER,
    {"outcome", NULL},
    NULL,
    0};

/* The user of a login as its log lines name it: a configured user's name, "api-token" for the
 * empty one, else only the length. Whatever else was typed into the field may be a secret: a
 * password or the API token typed into the wrong field, which the log would keep for anyone
 * who reads it. */
static void
dash_user_shown(const struct dash_auth *a, const char *user, char *out, size_t len)
{
    if (user[0] == '\0') {
        snprintf(out, len, "\"api-token\"");
        return;
    }
    for (int i = 0; i < a->n_users; i++)
        if (strcmp(a->users[i].name, user) == 0) {
            snprintf(out, len, "\"%s\"", user);
            return;
        }
    snprintf(out, len, "an unknown user (%zu bytes)", strlen(user));
}

static enum dash_login
dash_login_attempt(struct dash_auth *a, const char *ip, const char *user, const char *pass,
                   struct dash_session *out, int64_t *retry_s)
{
    char kip[DASH_NAME_MAX + 16], kuser[DASH_NAME_MAX + 16];
    snprintf(kip, sizeof(kip), "ip:%s", ip);
    snprintf(kuser, sizeof(kuser), "user:%.*s", DASH_NAME_MAX, user);
    /* The API token's login is "api-token" whether the user was given or left empty. */
    const char *kname = user[0] ? user : "api-token";
    int64_t now = now_wall_ms();
    pthread_mutex_lock(&a->mu);
    struct dash_known *known = dash_known_find(a, kname, ip, false, now);
    int64_t wait_ip = dash_fail_locked(a, kip, now);
    int64_t wait_user = known ? 0 : dash_fail_locked(a, kuser, now);
    *retry_s = wait_ip > wait_user ? wait_ip : wait_user;
    struct dash_bucket *budget = NULL;
    if (*retry_s == 0 && dash_bucket_take(&a->checks, DASH_CHECKS_PER_S, DASH_CHECKS_BURST))
        budget = &a->checks;
    else if (*retry_s == 0 && known &&
             dash_bucket_take(&known->checks, DASH_KNOWN_PER_S, DASH_KNOWN_BURST))
        budget = &known->checks;
    pthread_mutex_unlock(&a->mu);
    if (*retry_s > 0)
        return DASH_LOGIN_LOCKED;
    if (budget == NULL) {
        /* Counted as a failure of neither: the attempt was not checked. */
        static struct log_limit limit = LOG_LIMIT_INIT("dashboard login refused unchecked");
        char shown[DASH_NAME_MAX + 32];
        dash_user_shown(a, user, shown, sizeof(shown));
        log_warnx_limited(&limit,
                          "dashboard: login for %s from %s refused unchecked: password "
                          "checks are one at a time, %d a second",
                          shown, ip, DASH_CHECKS_PER_S);
        *retry_s = 1;
        return DASH_LOGIN_BUSY;
    }
    const struct dash_user *u = NULL;
    for (int i = 0; i < a->n_users; i++)
        if (strcmp(a->users[i].name, user) == 0)
            u = &a->users[i];
    bool ok = dash_password_ok(pass, u ? u->hash : dash_decoy_hash(a, user)) && u != NULL;
    const char *who = u ? u->name : NULL;
    bool admin = u ? u->admin : false;
    if (!ok && (user[0] == '\0' || strcmp(user, "api-token") == 0) && dash_auth_token(a, pass)) {
        ok = true;
        who = "api-token";
        admin = true;
    }
    pthread_mutex_lock(&a->mu);
    budget->busy = false;
    if (ok) {
        dash_session_open(a, who, admin, now, out);
        struct dash_known *k = dash_known_find(a, kname, ip, true, now);
        if (k)
            k->last_ms = now;
    } else {
        dash_fail_count(a, kip, now);
        dash_fail_count(a, kuser, now);
    }
    pthread_mutex_unlock(&a->mu);
    if (!ok) {
        char shown[DASH_NAME_MAX + 32];
        dash_user_shown(a, user, shown, sizeof(shown));
        log_warnx("dashboard: failed login for %s from %s", shown, ip);
    } else
        log_info("dashboard: %s logged in from %s (%s)", who, ip, admin ? "admin" : "read");
    return ok ? DASH_LOGIN_OK : DASH_LOGIN_BAD;
}

enum dash_login
dash_auth_login(struct dash_auth *a, const char *ip, const char *user, const char *pass,
                struct dash_session *out, int64_t *retry_s)
{
    static const char *const outcome[] = {[DASH_LOGIN_OK] = "ok",
                                          [DASH_LOGIN_BAD] = "wrong",
                                          [DASH_LOGIN_LOCKED] = "locked",
                                          [DASH_LOGIN_BUSY] = "busy"};
    enum dash_login res = dash_login_attempt(a, ip, user, pass, out, retry_s);
    metrics_add(&dash_metric_logins, outcome[res], NULL, 1);
    return res;
}

bool
dash_auth_lookup(struct dash_auth *a, const char *id, struct dash_session *out)
{
    if (id == NULL || strlen(id) != 64)
        return false;
    int64_t now = now_wall_ms();
    bool found = false;
    pthread_mutex_lock(&a->mu);
    for (int i = 0; i < DASH_SESSIONS && !found; i++) {
        struct dash_session *s = &a->sessions[i];
        if (s->id[0] && s->expires_ms > now && hmac_secret_equal(s->id, 64, id, 64)) {
            *out = *s;
            found = true;
        }
    }
    pthread_mutex_unlock(&a->mu);
    return found;
}

void
dash_auth_logout(struct dash_auth *a, const char *id)
{
    if (id == NULL || strlen(id) != 64)
        return;
    pthread_mutex_lock(&a->mu);
    for (int i = 0; i < DASH_SESSIONS; i++)
        if (a->sessions[i].id[0] && strcmp(a->sessions[i].id, id) == 0)
            memset(&a->sessions[i], 0, sizeof(a->sessions[i]));
    pthread_mutex_unlock(&a->mu);
}
