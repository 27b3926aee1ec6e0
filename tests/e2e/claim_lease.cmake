# The claim against the lease check (tests/e2e/claim_lease.c): a claim is a heartbeat, and an
# instance marked lost claims nothing; the watchdog spares a claim newer than the one it read.
jf_e2e(claim_lease TIMEOUT 60 NAMES
  e2e_claim_refreshes_heartbeat
  e2e_claim_lost_instance_claims_nothing
  e2e_claim_watchdog_spares_new_claim
  e2e_claim_lease_worker_own_lease)
