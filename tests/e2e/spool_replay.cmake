# End-to-end tests of the spool replayer's handling of entries it cannot store
# (tests/e2e/spool_replay.c).
jf_e2e(spool_replay TIMEOUT 90 NAMES
  e2e_spool_replay_held_entries
  e2e_spool_dir_shared
  e2e_spool_replay_bounded_memory)
