# TLS to MariaDB (tests/e2e/db_tls.c).
jf_e2e(db_tls TIMEOUT 120 NAMES
  e2e_db_tls_encrypts
  e2e_db_tls_refuses_unverified
  e2e_db_tls_login_plugins)
