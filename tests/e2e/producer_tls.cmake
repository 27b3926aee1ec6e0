# The producer's own HTTPS ([producer] tls_cert_file, tls_key_file; tests/e2e/producer_tls.c).
jf_e2e(producer_tls TIMEOUT 120 NAMES
  e2e_producer_tls_serves_https
  e2e_producer_tls_bad_files)
