# A worker while Redis stops answering (tests/e2e/redis_stall.c): its heartbeat goes on.
jf_e2e(redis_stall TIMEOUT 180 NAMES
  e2e_redis_stall_keeps_heartbeat)
