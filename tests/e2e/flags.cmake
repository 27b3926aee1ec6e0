jf_e2e(flags TIMEOUT 120 NAMES
  e2e_flags_scheduler
  e2e_flags_worker)
