# The migrations on data stored before them (tests/e2e/migrations.c).
jf_e2e(migrations TIMEOUT 60 NAMES
  e2e_migrations_008_rewrites_only_signatures
  e2e_migrations_says_what_it_applied)
