jf_e2e(attachments TIMEOUT 180 NAMES
  e2e_attach_toga_to_desk_twice
  e2e_attach_desk_to_toga_twice
  e2e_attach_link_failure_uploads_once
  e2e_attach_note_zero_two_misspelt
  e2e_attach_hostile_names
  e2e_attach_same_name
  e2e_attach_crash_repair
  e2e_attach_reply_committed_later
  e2e_attach_reply_committed_soon
  e2e_attach_dry_run
  e2e_attach_big_file)
