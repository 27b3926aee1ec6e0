jf_e2e(tickets TIMEOUT 300 NAMES
  e2e_tickets_full_sync
  e2e_tickets_incremental
  e2e_tickets_changed_while_listing
  e2e_tickets_one_ticket_fails
  e2e_tickets_one_ticket_forbidden
  e2e_tickets_wrong_key
  e2e_tickets_api_down_retries
  e2e_tickets_dry_run
  e2e_tickets_rate_limit_two_workers
  e2e_tickets_long_retry_after
  e2e_tickets_webhook_burst
  e2e_tickets_read_api
  e2e_tickets_export_markdown)
