jf_e2e(attach_fs TIMEOUT 180 NAMES
  e2e_attach_fs_copy_twice
  e2e_attach_fs_expired_refetch
  e2e_attach_fs_refused
  e2e_attach_fs_one_bad
  e2e_attach_fs_webhook_priority
  e2e_attach_fs_told_to_wait
  e2e_attach_fs_redis_unreachable_retries)
