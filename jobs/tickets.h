/* The ticket family: Freshservice tickets into the ticket store ([db.tickets]).
 * Tickets/Freshservice/Sync    {"full": false} | {"full": true} (the past year) |
 *                              {"since": "<ISO time>"}: closed tickets updated since the
 *                              watermark (less a 5-minute overlap); result {fetched, upserted,
 *                              unchanged, skipped_unmapped, failed, watermark (the one this
 *                              run committed, "" when none)}.
 * Tickets/Freshservice/SyncOne {"ticket_id": N}: one ticket, whatever its watermark.
 * Freshservice/Ticket/Webhook  a Workflow Automator webhook: its payload names a ticket
 *                              ({"ticket_id": N} or {"freshservice_webhook": {"ticket_id":
 *                              N}}, N a number or a string); enqueues SyncOne for it, a few
 *                              seconds later, once however many webhooks name it meanwhile.
 * Tickets/Export/Markdown      {"dir": "/abs/dir", "account": "<account number>"}: one
 *                              Markdown document per stored ticket of the company, written
 *                              atomically as <ticket number>-<subject>.md. */
#ifndef JOBFLEET_TICKETS_H
#define JOBFLEET_TICKETS_H

#include "runtime.h"

job_fn tickets_fs_sync;
job_fn tickets_fs_sync_one;
job_fn tickets_fs_webhook;
job_fn tickets_export_markdown;

#endif
