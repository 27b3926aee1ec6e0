# End-to-end tests of writes whose answer is lost (tests/e2e/lost_answer.c): the CLI's exit 3,
# the API's 503 "outcome unknown", and retries under an idempotency key (e2e_bulk_idempotency_key:
# the bulk API's per-job key, without a lost answer).
jf_e2e(lost_answer TIMEOUT 120 NAMES
  e2e_lost_answer_cli
  e2e_lost_answer_cli_key_retry
  e2e_lost_answer_api
  e2e_lost_answer_api_unique_by
  e2e_lost_answer_bulk
  e2e_lost_answer_bulk_large
  e2e_bulk_idempotency_key
  e2e_lost_answer_cli_readback
  e2e_lost_answer_cron_add_readback
  e2e_lost_answer_dashboard
  e2e_lost_answer_idle_closed)
