jf_e2e(toga TIMEOUT 120 NAMES
  e2e_toga_note_files
  e2e_toga_roundtrip_transaction_ids
  e2e_toga_token_renewal
  e2e_toga_wrong_secret)
