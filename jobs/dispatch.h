/* The legacy dispatch bridge (issue 14): the open field tickets of a legacy database
 * ([db.legacy], read only) become ERPNext/Frappe Dispatch Jobs ([service.frappe]).
 * Dispatch/Legacy/Sync  {} or {"dry_run": true}: every open ticket assigned to [dispatch]
 *                       legacy_staff_id (departments in skip_dept_ids skipped) gets one Dispatch
 *                       Job, found by legacy_ticket_id before it is created; an existing job
 *                       still open and unassigned follows the ticket's scheduled_date and
 *                       start_time, any other is left to the dispatcher; the open, unassigned
 *                       job of a ticket closed upstream is cancelled (else reported). Requests
 *                       are sequential. Result {tickets, created, updated, unchanged, cancelled,
 *                       skipped, errors, unmatched_customer, unmatched: [ticket ids],
 *                       closed_left: [ticket ids of closed tickets whose job was left]}. */
#ifndef JOBFLEET_DISPATCH_H
#define JOBFLEET_DISPATCH_H

#include "runtime.h"

job_fn dispatch_legacy_sync;

#endif
