# A worker and a scheduler while Redis stops answering (tests/e2e/redis_stall.c): the worker's
# heartbeat goes on, the scheduler's ticks too, and so do the requests of a service without a
# rate budget. The producer answers webhooks without waiting for it.
jf_e2e(redis_stall TIMEOUT 180 NAMES
  e2e_redis_stall_keeps_heartbeat
  e2e_redis_stall_scheduler_ticks
  e2e_redis_stall_unbudgeted_requests
  e2e_redis_stall_producer_answers)
