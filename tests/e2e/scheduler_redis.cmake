# The scheduler against a Redis that refuses writes (tests/e2e/scheduler_redis.c), on private
# servers: one heavy test at a time.
jf_e2e(scheduler_redis TIMEOUT 90 NAMES
  e2e_scheduler_redis_refused_writes_keep_jobs_pending
  e2e_scheduler_redis_refused_writes_pause_reconcile
  e2e_scheduler_redis_bad_batch_passed
  e2e_scheduler_redis_demoted_master_left)
set_tests_properties(e2e_scheduler_redis_refused_writes_keep_jobs_pending
  e2e_scheduler_redis_refused_writes_pause_reconcile
  e2e_scheduler_redis_demoted_master_left PROPERTIES RESOURCE_LOCK heavy)
