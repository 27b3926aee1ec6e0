jf_e2e(tickets_faults TIMEOUT 300 NAMES
  e2e_tickets_one_ticket_fails
  e2e_tickets_one_ticket_forbidden
  e2e_tickets_wrong_key
  e2e_tickets_api_down_retries
  e2e_tickets_rate_limit_two_workers
  e2e_tickets_long_retry_after
  e2e_tickets_sync_one_wrong_answer)
