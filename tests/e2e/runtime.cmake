jf_e2e(runtime TIMEOUT 120 NAMES
  e2e_runtime_run_and_actions
  e2e_runtime_probe_context
  e2e_runtime_probe_dry_run
  e2e_runtime_dry_run_read_only
  e2e_runtime_progress_visible
  e2e_runtime_http_budget_two_workers
  e2e_runtime_log_keeps_clipped_text
  e2e_runtime_cleanup_dry_run
  e2e_runtime_429_pauses_unbudgeted)
