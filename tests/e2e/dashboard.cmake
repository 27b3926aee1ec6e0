# End-to-end tests of the dashboard (tests/e2e/dashboard.c); e2e_dashboard_browser drives
# headless Chromium through tests/browser/dashboard.mjs (playwright-core, installed by
# tests/install-deps) and keeps its screenshots under <build>/artifacts/dashboard/.
jf_e2e(dashboard TIMEOUT 180 NAMES
  e2e_dashboard_login
  e2e_dashboard_csrf
  e2e_dashboard_readonly
  e2e_dashboard_jobs_filter
  e2e_dashboard_bulk
  e2e_dashboard_cache_metrics
  e2e_dashboard_browser)
