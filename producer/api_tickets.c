/* This file serves the ticket store to the tools that read it (a knowledge base, a billing
 * tool): GET /api/companies/{account_number}/tickets, behind the API's bearer token. */
#include "api.h"
#include "producer.h"
#include "ticket_store.h"
#include "util.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define API_TICKETS_PREFIX "/api/companies/"
#define API_TICKETS_MAX 1000
#define API_TICKETS_DEFAULT 500

/* Copies the account number of the URL into out; -1 when the route is not .../tickets or the
 * number is not 1-64 of [A-Za-z0-9._-]. */
static int
api_tickets_account(const char *url, char *out, size_t len)
{
    const char *a = url + strlen(API_TICKETS_PREFIX);
    size_t n = strcspn(a, "/");
    if (n == 0 || n > 64 || n >= len || strcmp(a + n, "/tickets") != 0)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)a[i]) && a[i] != '.' && a[i] != '_' && a[i] != '-')
            return -1;
    memcpy(out, a, n);
    out[n] = '\0';
    return 0;
}

/* Reads ?year= and ?limit=; replies 400 and returns -1 when one is wrong. */
static int
api_tickets_args(struct http_req *r, int *year, int *limit)
{
    int64_t n;
    const char *v;
    *year = 0;
    *limit = API_TICKETS_DEFAULT;
    if ((v = http_query(r, "year")) != NULL) {
        if (parse_int64(v, 1970, 9998, &n) < 0) {
            http_reply_error(r, 400, "year", "year must be a year in 1970..9998");
            return -1;
        }
        *year = (int)n;
    }
    if ((v = http_query(r, "limit")) != NULL) {
        if (parse_int64(v, 1, API_TICKETS_MAX, &n) < 0) {
            http_reply_error(r, 400, "limit", "limit must be an integer in 1..%d", API_TICKETS_MAX);
            return -1;
        }
        *limit = (int)n;
    }
    return 0;
}

void
api_tickets_handle(struct http_req *r)
{
    char account[65];
    int year, limit;
    if (api_tickets_account(r->url, account, sizeof(account)) < 0) {
        http_reply_error(r, 404, NULL,
                         "no such route (GET /api/companies/{account_number}/"
                         "tickets, the account 1-64 of [A-Za-z0-9._-])");
        return;
    }
    if (strcmp(r->method, "GET") != 0) {
        http_reply_not_allowed(r, "GET");
        return;
    }
    if (api_tickets_args(r, &year, &limit) < 0)
        return;
    struct producer_conn *c = producer_pool_get(r->p);
    struct db *db = producer_conn_tickets(r->p, c);
    cJSON *rows = db ? ticket_store_company_tickets(db, account, year, limit) : NULL;
    if (db == NULL) {
        http_reply_error(r, 404, NULL, "the ticket store is not configured ([db.tickets])");
    } else if (rows == NULL) {
        char err[512];
        snprintf(err, sizeof(err), "ticket store: %s", db_errstr(db));
        api_db_error(r, err);
    } else {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "account_number", account);
        cJSON_AddNumberToObject(j, "count", cJSON_GetArraySize(rows));
        cJSON_AddItemToObject(j, "tickets", rows);
        rows = NULL;
        api_reply_json(r, 200, j);
        cJSON_Delete(j);
    }
    cJSON_Delete(rows);
    producer_pool_put(r->p, c);
}
