jf_e2e(options TIMEOUT 120 NAMES
  e2e_options_retry_backoff
  e2e_options_permanent_and_retry_after
  e2e_options_priority_order
  e2e_options_unique_concurrent
  e2e_options_unique_by_parameters
  e2e_options_retry_takes_unique_key
  e2e_options_pause_resume
  e2e_options_concurrency_limit
  e2e_options_concurrency_slot_not_leaked
  e2e_options_rate_limit
  e2e_options_bulk_retry
  e2e_options_bulk_retry_batches
  e2e_options_bulk_cancel
  e2e_options_settings_refused)
