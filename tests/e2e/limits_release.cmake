# The release of jobs waiting for a limit when the limit is loosened
# (tests/e2e/limits_release.c).
jf_e2e(limits_release TIMEOUT 120 NAMES
  e2e_limits_release_lifted
  e2e_limits_release_lifted_then_enqueued
  e2e_limits_release_only_loosening
  e2e_limits_release_backlog_in_batches
  e2e_limits_release_keeps_retry_backoff
  e2e_limits_release_names_exact
  e2e_limits_release_defer_by_old_settings)
