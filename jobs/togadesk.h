/* The TOGA 2 <-> TOGaDesk sync (API-FACTS.md §5b, §6): one job per configured client.
 *
 * Toga/Desk/Sync  {"client": "<name>"} (plus "dry_run": true to plan and write nothing): the
 *                 client is the section [toga_desk.<name>] (README, "The helpdesk sync").
 *                 Both watermarks are TOGA 2 /parameters records, read at the start and
 *                 written at the end, only when they moved. Result: JSON counts per direction
 *                 and entity, e.g. {"client", "toga_to_desk": {"tickets", "replies",
 *                 "comments", "failed", ...}, "desk_to_toga": {"notes", "repaired", ...},
 *                 "entities": {"contacts": {"inserted", "updated", "unchanged"}, ...},
 *                 "watermarks": {...}}.
 * How to change the parameters: add members, never rename ("client" is in cron jobs). */
#ifndef JOBFLEET_TOGADESK_H
#define JOBFLEET_TOGADESK_H

#include "runtime.h"

job_fn togadesk_sync;

#endif
