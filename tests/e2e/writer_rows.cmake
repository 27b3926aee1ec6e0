# The producer's writer when rows of a batch fail on their own (tests/e2e/writer_rows.c).
jf_e2e(writer_rows TIMEOUT 60 NAMES
  e2e_writer_rows_bad_rows_spare_the_good
  e2e_writer_rows_read_after_autocommit)
