# Lease recovery's scan of dead worker instances (tests/e2e/lease_scan.c).
jf_e2e(lease_scan TIMEOUT 120 NAMES
  e2e_lease_scan_dead_instances_cost_nothing
  e2e_lease_scan_revived_instance_scanned_again
  e2e_lease_scan_new_death_past_many_dead)
