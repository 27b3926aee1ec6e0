jf_e2e(cron TIMEOUT 120 NAMES
  e2e_cron_two_schedulers_exactly_once
  e2e_cron_skewed_schedulers_exactly_once
  e2e_cron_dst_nights_exactly_once
  e2e_cron_downtime_one_catchup
  e2e_cron_disabled_fires_nothing
  e2e_cron_removed_keeps_jobs
  e2e_cron_migrate_builtins_once
  e2e_cron_cli_rejects
  e2e_cron_cli_list_next
  e2e_cron_list_shows_plan
  e2e_cron_scheduler_clock
  e2e_cron_cleanup_builtins
  e2e_cron_refused_definition_misfires)
