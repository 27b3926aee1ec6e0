# End-to-end tests of the producer's front door under attack (tests/e2e/frontdoor.c).
jf_e2e(frontdoor TIMEOUT 180 NAMES
  e2e_frontdoor_health_hung_mysql
  e2e_frontdoor_half_open
  e2e_frontdoor_slowloris
  e2e_frontdoor_slow_bodies
  e2e_frontdoor_slow_honest_body
  e2e_frontdoor_nope_bodies
  e2e_frontdoor_replay
  e2e_frontdoor_replay_after_upgrade
  e2e_frontdoor_replay_field
  e2e_frontdoor_bad_key
  e2e_frontdoor_control_chars
  e2e_frontdoor_packet_too_large
  e2e_frontdoor_packet_refused
  e2e_frontdoor_spool_cli
  e2e_frontdoor_log_bad_path
  e2e_frontdoor_ambiguous_framing
  e2e_frontdoor_log_flood
  e2e_frontdoor_webhook_log_flood
  e2e_frontdoor_small)
# Private servers, 1,100 or 1,024 sockets, 64 MB of bodies: heavy, one at a time.
set_tests_properties(e2e_frontdoor_health_hung_mysql e2e_frontdoor_half_open
  e2e_frontdoor_slow_bodies e2e_frontdoor_control_chars PROPERTIES RUN_SERIAL TRUE)
# 64 rows of 6 MB each go to MariaDB one by one: slow under ASan on a shared machine.
set_tests_properties(e2e_frontdoor_control_chars PROPERTIES TIMEOUT 400)
