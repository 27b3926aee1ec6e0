jf_e2e(togadesk TIMEOUT 180 NAMES
  e2e_togadesk_first_run_then_idle
  e2e_togadesk_new_note_each_side
  e2e_togadesk_same_second
  e2e_togadesk_dry_run
  e2e_togadesk_paging
  e2e_togadesk_switches_off
  e2e_togadesk_entity_switches
  e2e_togadesk_kill9_after_post
  e2e_togadesk_two_clients
  e2e_togadesk_cron_per_client
  e2e_togadesk_cron_kept_across_restart)
