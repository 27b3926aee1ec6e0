# End-to-end tests of the dashboard (tests/e2e/dashboard.c); e2e_dashboard_browser drives
# headless Chromium through tests/browser/dashboard.mjs (playwright-core, installed by
# tests/install-deps) and keeps its screenshots under <build>/artifacts/dashboard/.
jf_e2e(dashboard TIMEOUT 180 NAMES
  e2e_dashboard_csrf
  e2e_dashboard_long_cron_name
  e2e_dashboard_readonly
  e2e_dashboard_change_needs_its_record
  e2e_dashboard_jobs_filter
  e2e_dashboard_bulk
  e2e_dashboard_bulk_many
  e2e_dashboard_retry_keeps_state
  e2e_dashboard_cache_metrics
  e2e_dashboard_webhooks_left_out
  e2e_dashboard_queues_served_and_over_limit
  e2e_dashboard_browser)
# Chromium, a worker and a scheduler on a shared 2-core machine: room for a slow start.
set_tests_properties(e2e_dashboard_browser PROPERTIES TIMEOUT 300)
