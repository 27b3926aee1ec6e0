# End-to-end tests of the cron routes of the producer's JSON API (tests/e2e/producer_cron.c).
jf_e2e(producer_cron TIMEOUT 120 NAMES
  e2e_producer_cron_add_get_list
  e2e_producer_cron_auth_methods
  e2e_producer_cron_enable_disable
  e2e_producer_cron_change_needs_its_record
  e2e_producer_cron_remove
  e2e_producer_cron_next
  e2e_producer_cron_slash_names)
