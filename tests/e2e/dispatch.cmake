jf_e2e(dispatch TIMEOUT 300 NAMES
  e2e_dispatch_full_sync
  e2e_dispatch_update_rules
  e2e_dispatch_closed_upstream
  e2e_dispatch_two_runs
  e2e_dispatch_dry_run
  e2e_dispatch_config_refused
  e2e_dispatch_server_does_not_page
  e2e_dispatch_dispatcher_takes_meanwhile
  e2e_dispatch_every_min)
