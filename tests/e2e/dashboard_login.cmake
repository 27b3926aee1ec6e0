# End-to-end tests of the dashboard's login (tests/e2e/dashboard_login.c).
jf_e2e(dashboard_login TIMEOUT 120 NAMES
  e2e_dashboard_login
  e2e_dashboard_login_flood
  e2e_dashboard_user_named_api_token
  e2e_dashboard_login_behind_proxy
  e2e_dashboard_forwarded_host_untrusted
  e2e_dashboard_sessions_per_user
  e2e_dashboard_session_expires
  e2e_dashboard_login_known)
