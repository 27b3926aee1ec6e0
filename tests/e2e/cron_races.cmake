# End-to-end tests of a cron fire racing another writer of its row (tests/e2e/cron_races.c).
jf_e2e(cron_races TIMEOUT 60 NAMES
  e2e_cron_races_disable_during_fire
  e2e_cron_races_advanced_during_fire)
