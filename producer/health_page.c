/* This file serves GET /health from state other threads keep (health_state.c, the writer's
 * view of MariaDB, the spool's counters), so a hung MariaDB or Redis cannot hold an HTTP
 * thread, and an unauthenticated caller learns whether the producer takes webhooks, not why
 * it would not. */
#include "health_page.h"
#include "health_state.h"
#include "json.h"
#include "producer.h"
#include "producer_writer.h"
#include "spool.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

void
health_page(struct http_req *r)
{
    if (strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0) {
        http_reply_not_allowed(r, "GET");
        return;
    }
    struct producer *p = r->p;
    struct health_view v = health_state_get(p->health);
    bool db_ok =
        v.db_ok && producer_writer_db_up(p->writer) && !producer_writer_refusing(p->writer);
    bool accepting = db_ok || !spool_full(p->spool);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "status",
                            !accepting            ? "down"
                            : db_ok && v.redis_ok ? "ok"
                                                  : "degraded");
    cJSON_AddStringToObject(o, "mysql", db_ok ? "ok" : "down");
    cJSON_AddStringToObject(o, "redis", v.redis_ok ? "ok" : "down");
    cJSON_AddBoolToObject(o, "accepting_webhooks", accepting);
    cJSON_AddNumberToObject(o, "spool_files", (double)spool_files(p->spool));
    cJSON_AddNumberToObject(o, "spool_bytes", (double)spool_bytes(p->spool));
    int64_t failed_files, failed_bytes;
    spool_failed(p->spool, &failed_files, &failed_bytes);
    cJSON_AddNumberToObject(o, "spool_failed_files", (double)failed_files);
    cJSON_AddNumberToObject(o, "spool_failed_bytes", (double)failed_bytes);
    char *s = json_print(o);
    cJSON_Delete(o);
    http_reply(r, accepting ? 200 : 503, NULL, s, NULL);
    free(s);
}
