jf_e2e(togadesk_faults TIMEOUT 180 NAMES
  e2e_togadesk_ticket_fetch_fails
  e2e_togadesk_desk_refuses_one
  e2e_togadesk_watermark_without_value
  e2e_togadesk_auth_failure)
