/* This file redacts what a read-only dashboard user must not see: the values under keys that
 * look secret in a job's parameters, also inside strings that hold a webhook's raw body, be it
 * one JSON document, a form, or text that is neither. */
#include "dash_int.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define DASH_REDACTED "[redacted]"
#define DASH_WS " \t\r\n"

/* True when the n bytes at k hold one of the secret words, in any case. The whole key is
 * searched: a word past any fixed length would otherwise go unseen. */
static bool
dash_secret_key(const char *k, size_t n)
{
    static const char *const words[] = {
        "token",      "password",    "passwd",  "secret",         "authorization",
        "api_key",    "apikey",      "api-key", "signature",      "cookie",
        "credential", "private_key", "session", "x-hub-signature"};
    for (size_t w = 0; w < sizeof(words) / sizeof(words[0]); w++) {
        size_t wl = strlen(words[w]);
        for (size_t i = 0; i + wl <= n; i++) {
            size_t j = 0;
            while (j < wl && tolower((unsigned char)k[i + j]) == words[w][j])
                j++;
            if (j == wl)
                return true;
        }
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
    bool secret = dash_secret_key(dec, dl);
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
        if (dash_secret_key(p, n) && *after && strchr("=:>\r\n", *after))
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

/* A string's redacted text, or NULL when it holds nothing to redact (the caller frees it):
 * inside one JSON object or array (a webhook's raw body is kept as its "payload" string), a
 * form, or else any text. A byte-order mark or whitespace may precede a document. */
static char *
dash_redact_text(const char *s)
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

bool
dash_redact(cJSON *params)
{
    bool did = false;
    cJSON *next;
    for (cJSON *it = params ? params->child : NULL; it; it = next) {
        next = it->next; /* it may be replaced below */
        char *text = NULL;
        if (it->string && dash_secret_key(it->string, strlen(it->string))) {
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
