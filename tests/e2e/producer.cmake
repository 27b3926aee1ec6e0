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
  e2e_producer_webhook_log
  e2e_producer_db_timeout)
