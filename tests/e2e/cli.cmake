jf_e2e(cli TIMEOUT 60 NAMES
  e2e_cli_bad_input
  e2e_cli_queue_list_text
  e2e_cli_settings_names_exact
  e2e_cli_bulk_retry_key_race
  e2e_cli_config_errors
  e2e_cli_migrate_refuses_newer
  e2e_cli_migrate_concurrent
  e2e_cli_migrate_refuses_duplicate_versions)
