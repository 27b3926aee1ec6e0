# End-to-end tests of audit_log: the CLI's and the API's changes are recorded as the
# dashboard's are (tests/e2e/audit.c); the dashboard's own are in dashboard.c.
jf_e2e(audit TIMEOUT 120 NAMES
  e2e_audit_cli_changes
  e2e_audit_cli_bulk
  e2e_audit_with_the_change
  e2e_audit_api_changes
  e2e_audit_cli_list
  e2e_audit_changes_page)
