jf_e2e(tickets TIMEOUT 300 NAMES
  e2e_tickets_full_sync
  e2e_tickets_incremental
  e2e_tickets_changed_while_listing
  e2e_tickets_dry_run
  e2e_tickets_since_after_watermark
  e2e_tickets_webhook_burst
  e2e_tickets_sync_one_included_requester
  e2e_tickets_read_api
  e2e_tickets_export_markdown
  e2e_tickets_export_write_fails)
