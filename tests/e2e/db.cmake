jf_e2e(db TIMEOUT 60 NAMES
  e2e_db_reconnect_inside_transaction_fails
  e2e_db_bulk_exec
  e2e_db_session_settings)
