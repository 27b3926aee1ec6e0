# The worker's fleet-wide limits against Redis (tests/e2e/limits.c); the limiter is the
# worker's, compiled in.
jf_e2e(limits TIMEOUT 60 NAMES
  e2e_limits_late_free_keeps_later_claim
  e2e_limits_renewed_slot_outlives_two_leases
  e2e_limits_renew_restores_lost_slot
  e2e_limits_cleared_rows_leave_limits_alone
  e2e_limits_free_wakes_next_in_line
  e2e_limits_rate_held_job_not_in_line)
target_sources(e2e_limits PRIVATE ${CMAKE_SOURCE_DIR}/worker/limits.c)
target_include_directories(e2e_limits PRIVATE ${CMAKE_SOURCE_DIR}/worker)
