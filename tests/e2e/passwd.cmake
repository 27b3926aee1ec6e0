# `jobfleet passwd` at a terminal (tests/e2e/passwd.c).
jf_e2e(passwd TIMEOUT 60 NAMES
  e2e_passwd_no_echo)
