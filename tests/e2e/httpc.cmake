jf_e2e(httpc TIMEOUT 60 NAMES
  e2e_httpc_rate_two_processes
  e2e_httpc_retry_after_seconds
  e2e_httpc_retry_after_date
  e2e_httpc_rate_remaining_zero
  e2e_httpc_retry_5xx
  e2e_httpc_oversized_refused
  e2e_httpc_batch_within_budget
  e2e_httpc_cancel_stops_wait
  e2e_httpc_retry_after_last_attempt
  e2e_httpc_retry_after_date_skew
  e2e_httpc_retry_after_zero_backs_off
  e2e_httpc_rate_counts_credits
  e2e_httpc_retry_after_503_pauses)
