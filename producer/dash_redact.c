/* This file redacts what a read-only dashboard user must not see: the values under keys that
 * look secret in a job's parameters, also inside strings that hold a webhook's raw body, be it
 * one JSON document, a form, or text that is neither. */
#include "dash_int.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define DASH_REDACTED "[redacted]"
#define DASH_WS " \t\r\n"

/* Whether word (lower case) is at k[i] of the n bytes at k, in any case. */
static bool
dash_word_at(const char *k, size_t n, size_t i, const char *word)
{
    size_t wl = strlen(word), j = 0;
    if (i + wl > n)
        return false;
    while (j < wl && tolower((unsigned char)k[i + j]) == word[j])
        j++;
    return j == wl;
}

/* Whether k[i] starts a word of the key: its first byte, after one that is no letter or digit,
 * or an upper case letter after a lower case one (camelCase). */
static bool
dash_word_start(const char *k, size_t i)
{
    return i == 0 || !isalnum((unsigned char)k[i - 1]) ||
           (isupper((unsigned char)k[i]) && islower((unsigned char)k[i - 1]));
}

/* True when the n bytes at k hold one of the secret words, in any case. The whole key is
 * searched: a word past any fixed length would otherwise go unseen. With short_words, a short
 * word counts too, as the last word of the key ("db_pass", "userPwd", "x-sig", "jwt"), not
 * inside another ("assignee", "compass") nor before one ("pass_rate"); free text is searched
 * without them ("Exam result: pass"). */
static bool
dash_secret_key(const char *k, size_t n, bool short_words_too)
{
    static const char *const words[] = {
        "token",      "password",    "passwd",     "secret",      "authorization",
        "api_key",    "apikey",      "api-key",    "signature",   "cookie",
        "credential", "private_key", "privatekey", "private-key", "session",
        "passphrase", "access_key",  "accesskey",  "access-key",  "x-hub-signature"};
    static const char *const short_words[] = {"sig",  "pwd",    "pass", "jwt",
                                              "auth", "bearer", "hmac"};
    for (size_t i = 0; i < n; i++) {
        for (size_t w = 0; w < sizeof(words) / sizeof(words[0]); w++)
            if (dash_word_at(k, n, i, words[w]))
                return true;
        if (!short_words_too || !dash_word_start(k, i))
            continue;
        for (size_t w = 0; w < sizeof(short_words) / sizeof(short_words[0]); w++)
            if (i + strlen(short_words[w]) == n && dash_word_at(k, n, i, short_words[w]))
                return true;
    }
    return false;
}

/* The same for a form's key (n bytes at k): percent-decoded first, since pass%77ord is read as
 * password by whoever receives the form. */
static bool
dash_secret_form_key(const char *k, size_t n)
{
    char *dec = xmalloc(n + 1);
    size_t dl = form_decode(k, n, dec, n + 1);
    bool secret = dash_secret_key(dec, dl, true);
    free(dec);
    return secret;
}

/* ---- text that is neither one JSON document nor a form ---- */

/* Whether s names a secret: a secret word followed, past the rest of its name and any quotes,
 * brackets or blanks, by '=', ':', '>' or a line's end, as in password=x, password: x,
 * <password>x, name="password" then a blank line (multipart), :password => x or a YAML key;
 * a word of prose ("Password reset request") is no name. */
static bool
dash_names_secret(const char *s)
{
    const char *delims = DASH_WS "=:<>\"'[]{},;&";
    for (const char *p = s + strspn(s, delims); *p; p += strspn(p, delims)) {
        size_t n = strcspn(p, delims);
        const char *after = p + n + strspn(p + n, " \t\"']");
        if (dash_secret_key(p, n, false) && *after && strchr("=:>\r\n", *after))
            return true;
        p += n;
    }
    return false;
}

/* Text that is neither one JSON document nor a form (XML, multipart, YAML, a log line, two
 * documents) cannot be redacted pair by pair with confidence: every format spells a pair its
 * own way, and a value left beside "[redacted]" reads as hidden. When it names a secret it is
 * not shown at all, only its size; NULL when it names none. The caller frees it. */
static char *
dash_redact_raw(const char *s)
{
    if (!dash_names_secret(s))
        return NULL;
    return xasprintf(DASH_REDACTED " (%zu bytes of text that is neither one JSON document nor a "
                                   "form, naming a secret-looking key)",
                     strlen(s));
}

/* ---- secrets a value carries whatever its key ---- */

/* A copy of s with what it carries as a credential whatever its key masked, or NULL when it
 * carries none: a value that is an Authorization header's ("Bearer ...", "Basic ..."), the
 * password of a URL's user ("mysql://app:pw@db/app"), and the path of a Slack or Discord
 * webhook URL, which is its key. The caller frees it. */
static char *
dash_redact_carried(const char *s)
{
    /* A header's value: the scheme, then one token ("Basic question about..." is prose). */
    size_t scheme = strncasecmp(s, "bearer ", 7) == 0  ? 7
                    : strncasecmp(s, "basic ", 6) == 0 ? 6
                                                       : 0;
    const char *tok = s + scheme;
    size_t tl =
        strspn(tok, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._~+/=-");
    if (scheme && tl >= 8 && tok[tl + strspn(tok + tl, DASH_WS)] == '\0')
        return xstrdup(DASH_REDACTED);
    static const char *const hooks[] = {"hooks.slack.com/services/", "discord.com/api/webhooks/",
                                        "discordapp.com/api/webhooks/"};
    struct buf b;
    buf_init(&b, 0);
    bool did = false;
    const char *p = s, *scan = s, *at; /* s is copied into b up to p */
    while ((at = strstr(scan, "://")) != NULL) {
        const char *auth = at + 3, *end = auth + strcspn(auth, "/?# \t\r\n\"'");
        const char *amp = NULL; /* the last '@' of the authority ends its user part */
        for (const char *q = auth; q < end; q++)
            if (*q == '@')
                amp = q;
        scan = auth;
        if (amp) {
            /* "user:password@" keeps the user; "token@" (a token as the user) hides it all. */
            const char *colon = memchr(auth, ':', (size_t)(amp - auth));
            const char *keep = colon ? colon + 1 : auth;
            buf_append(&b, p, (size_t)(keep - p));
            buf_appends(&b, DASH_REDACTED);
            p = scan = amp;
            did = true;
            continue;
        }
        const char *host = auth + (strncmp(auth, "www.", 4) == 0 ? 4 : 0);
        for (size_t h = 0; h < sizeof(hooks) / sizeof(hooks[0]); h++) {
            size_t hl = strlen(hooks[h]);
            if (strncmp(host, hooks[h], hl) == 0) {
                buf_append(&b, p, (size_t)(host + hl - p));
                buf_appends(&b, DASH_REDACTED);
                p = scan = host + hl + strcspn(host + hl, " \t\r\n\"'");
                did = true;
                break;
            }
        }
    }
    if (!did) {
        buf_release(&b);
        return NULL;
    }
    buf_appends(&b, p);
    return buf_detach(&b);
}

/* ---- form bodies ---- */

/* True when s reads as a form body (a=1&password=x): it has an '=', and no field's name holds
 * whitespace, quotes or brackets inside it. Values may hold anything but '&' (a space, the
 * newline a sender appended). */
static bool
dash_is_form(const char *s)
{
    if (strchr(s, '=') == NULL)
        return false;
    for (const char *p = s;; p++) {
        size_t n = strcspn(p, "&");
        const char *eq = memchr(p, '=', n);
        size_t kl = eq ? (size_t)(eq - p) : n;
        size_t lead = strspn(p, DASH_WS);
        while (kl > lead && strchr(DASH_WS, p[kl - 1]))
            kl--;
        for (size_t i = lead; i < kl; i++)
            if (strchr(DASH_WS "\"'{}<>", p[i]))
                return false;
        p += n;
        if (*p == '\0')
            return true;
    }
}

/* A form value's redacted text (percent-decoded, so an encoded JSON value is read too), or
 * NULL when it holds nothing to redact. The caller frees it. */
static char *
dash_redact_form_value(const char *v, size_t n)
{
    char *dec = xmalloc(n + 1);
    form_decode(v, n, dec, n + 1);
    char *out = dash_redact_raw(dec);
    free(dec);
    return out;
}

/* A form body with the values of secret keys redacted, or NULL when it holds nothing to
 * redact. The caller frees it. */
static char *
dash_redact_form(const char *s)
{
    struct buf b;
    buf_init(&b, 0);
    bool did = false;
    for (const char *p = s; *p;) {
        size_t n = strcspn(p, "&");
        const char *eq = memchr(p, '=', n);
        size_t kl = eq ? (size_t)(eq - p) : n;
        char *red = NULL;
        if (eq && dash_secret_form_key(p, kl)) {
            buf_printf(&b, "%.*s=" DASH_REDACTED, (int)kl, p);
            did = true;
        } else if (eq && (red = dash_redact_form_value(eq + 1, n - kl - 1)) != NULL) {
            buf_printf(&b, "%.*s=%s", (int)kl, p, red);
            free(red);
            did = true;
        } else {
            buf_append(&b, p, n);
        }
        p += n;
        if (*p == '&')
            buf_append(&b, p++, 1);
    }
    if (did)
        return buf_detach(&b);
    buf_release(&b);
    return NULL;
}

/* ---- one JSON document, and the entry points ---- */

/* s parsed as exactly one JSON document (whitespace around it allowed), or NULL. */
static cJSON *
dash_parse_whole(const char *s)
{
    const char *end = NULL;
    cJSON *doc = cJSON_ParseWithOpts(s, &end, false);
    if (doc && end && end[strspn(end, DASH_WS)] == '\0')
        return doc;
    cJSON_Delete(doc);
    return NULL;
}

/* A string with its pairs of secret keys redacted, or NULL when it holds none (the caller frees
 * it): inside one JSON object or array (a webhook's raw body is kept as its "payload" string), a
 * form, or else any text. A byte-order mark or whitespace may precede a document. */
static char *
dash_redact_text_pairs(const char *s)
{
    const char *p = s;
    if (strncmp(p, "\xEF\xBB\xBF", 3) == 0)
        p += 3;
    p += strspn(p, DASH_WS);
    if (*p == '{' || *p == '[') {
        cJSON *doc = dash_parse_whole(p);
        if (doc) {
            char *out = dash_redact(doc) ? cJSON_PrintUnformatted(doc) : NULL;
            cJSON_Delete(doc);
            return out;
        }
    } else if (dash_is_form(p)) {
        return dash_redact_form(p);
    }
    /* Neither one document nor a form: fail closed rather than show the text as it came. */
    return dash_redact_raw(s);
}

/* A string's redacted text, or NULL when it holds nothing to redact (the caller frees it):
 * what it carries as a credential whatever its key, then its pairs (dash_redact_text_pairs). */
static char *
dash_redact_text(const char *s)
{
    char *carried = dash_redact_carried(s);
    if (carried) {
        /* The masked copy may still hold pairs to redact. */
        char *more = strcmp(carried, DASH_REDACTED) ? dash_redact_text_pairs(carried) : NULL;
        if (more) {
            free(carried);
            return more;
        }
        return carried;
    }
    return dash_redact_text_pairs(s);
}

/* Whether the object o names a secret in one member and holds it in another, as header lists,
 * HAR files and form builders do: {"name": "Authorization", "value": "Bearer ..."}. */
static bool
dash_names_secret_value(const cJSON *o)
{
    static const char *const namers[] = {"name", "key", "field", "header"};
    for (size_t i = 0; i < sizeof(namers) / sizeof(namers[0]); i++) {
        const cJSON *n = cJSON_GetObjectItem(o, namers[i]);
        /* A name with a blank is a label ("Session length"), not a key. */
        if (cJSON_IsString(n) && !strpbrk(n->valuestring, DASH_WS) &&
            dash_secret_key(n->valuestring, strlen(n->valuestring), true))
            return true;
    }
    return false;
}

bool
dash_redact(cJSON *params)
{
    bool did = false;
    if (cJSON_IsObject(params) && dash_names_secret_value(params)) {
        cJSON *v = cJSON_GetObjectItem(params, "value");
        if (v && !(cJSON_IsString(v) && strcmp(v->valuestring, DASH_REDACTED) == 0)) {
            cJSON *red = cJSON_CreateString(DASH_REDACTED);
            red->string = v->string;
            v->string = NULL;
            cJSON_ReplaceItemViaPointer(params, v, red);
            did = true;
        }
    }
    cJSON *next;
    for (cJSON *it = params ? params->child : NULL; it; it = next) {
        next = it->next; /* it may be replaced below */
        char *text = NULL;
        if (it->string && dash_secret_key(it->string, strlen(it->string), true)) {
            /* The key moves to the replacement, so a repeated key is redacted each time. */
            cJSON *red = cJSON_CreateString(DASH_REDACTED);
            red->string = it->string;
            it->string = NULL;
            cJSON_ReplaceItemViaPointer(params, it, red);
            did = true;
        } else if (cJSON_IsObject(it) || cJSON_IsArray(it)) {
            did |= dash_redact(it);
        } else if (cJSON_IsString(it) && (text = dash_redact_text(it->valuestring)) != NULL) {
            cJSON_SetValuestring(it, text);
            free(text);
            did = true;
        }
    }
    return did;
}
