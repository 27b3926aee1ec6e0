# End-to-end tests of jobfleet-scheduler (tests/e2e/scheduler.c).
jf_e2e(scheduler TIMEOUT 180 NAMES
  e2e_scheduler_single_leader
  e2e_scheduler_long_tick
  e2e_scheduler_frozen_leader
  e2e_scheduler_pickup_due
  e2e_scheduler_reconcile_repushes
  e2e_scheduler_reconcile_runs_once
  e2e_scheduler_lease_recovery
  e2e_scheduler_recovery_skips_locked_rows
  e2e_scheduler_lease_recovery_cancel_frees_key
  e2e_scheduler_watchdog
  e2e_scheduler_watchdog_waits_for_worker
  e2e_scheduler_retention
  e2e_scheduler_retention_audit_kept
  e2e_scheduler_flags
  e2e_scheduler_mysql_restart
  e2e_scheduler_redis_restart
  e2e_scheduler_cron_waits_for_db_clock
  e2e_scheduler_outage_grace)
# These two start private MariaDB and Redis servers of their own (restarting the shared ones
# would disturb the other tests): heavy, so one heavy test at a time, beside lighter ones.
set_tests_properties(e2e_scheduler_mysql_restart e2e_scheduler_redis_restart
  e2e_scheduler_outage_grace PROPERTIES RESOURCE_LOCK heavy)
