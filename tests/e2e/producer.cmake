# End-to-end tests of jobfleet-producer: the webhook path (tests/e2e/producer.c), the JSON API,
# pages and process behaviour (producer_api.c), and outages on private servers
# (producer_outage.c).
jf_e2e(producer TIMEOUT 120 NAMES
  e2e_producer_routing
  e2e_producer_hmac
  e2e_producer_hmac_timestamp
  e2e_producer_token
  e2e_producer_basic
  e2e_producer_oversize
  e2e_producer_bad_json
  e2e_producer_idempotency
  e2e_producer_idempotency_field_nul
  e2e_producer_parameters
  e2e_producer_webhook_log
  e2e_producer_error_bodies_utf8
  e2e_producer_webhook_log_lost_mid_flush
  e2e_producer_webhook_log_sender_gone
  e2e_producer_db_timeout)
jf_e2e(producer_api TIMEOUT 120 NAMES
  e2e_producer_api_create
  e2e_producer_api_create_reply
  e2e_producer_api_create_concurrent
  e2e_producer_api_bulk
  e2e_producer_api_bulk_large
  e2e_producer_api_get_list
  e2e_producer_api_retry_cancel
  e2e_producer_api_disabled
  e2e_producer_pages
  e2e_producer_flags
  e2e_producer_sigterm
  e2e_producer_sigterm_forced_api)
jf_e2e(producer_outage TIMEOUT 180 NAMES
  e2e_producer_server_autocommit_off
  e2e_producer_outage_mysql
  e2e_producer_spool_quota
  e2e_producer_spool_room_left
  e2e_producer_spool_room_after_drop
  e2e_producer_outage_redis
  e2e_producer_outage_api_log
  e2e_producer_writes_refused
  e2e_producer_health_redis_refuses_writes)
# These start private MariaDB and Redis servers of their own (stopping the shared ones would
# disturb the other tests): heavy, so one heavy test at a time, beside lighter ones (run alone,
# the private-server tests cost the suite over a minute at its end).
set_tests_properties(e2e_producer_outage_mysql e2e_producer_spool_quota e2e_producer_spool_room_left
  e2e_producer_spool_room_after_drop e2e_producer_outage_redis e2e_producer_outage_api_log
  e2e_producer_health_redis_refuses_writes PROPERTIES RESOURCE_LOCK heavy)
