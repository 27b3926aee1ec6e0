jf_e2e(job_keys TIMEOUT 60 NAMES
  e2e_job_keys_bulk_reused_for_another_request
  e2e_job_keys_dry_run
  e2e_job_keys_numbers_exact
  e2e_job_keys_nul_refused
  e2e_job_keys_reused_for_another_request
  e2e_job_keys_trailing_space)
