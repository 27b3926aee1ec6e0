jf_e2e(outcome_store TIMEOUT 120 NAMES
  e2e_outcome_reason_too_long
  e2e_outcome_packet_too_large
  e2e_outcome_batch_too_large
  e2e_outcome_result_over_protocol
  e2e_outcome_refused_uncounted)
