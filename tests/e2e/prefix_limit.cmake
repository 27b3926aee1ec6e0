# End-to-end tests of the per-address connection limit (tests/e2e/prefix_limit.c). The IPv6
# ones add addresses to lo: root (CAP_NET_ADMIN), as tests/run is.
jf_e2e(prefix_limit TIMEOUT 120 NAMES
  e2e_prefix_limit_group
  e2e_prefix_limit_full_address
  e2e_prefix_limit_ipv4)
