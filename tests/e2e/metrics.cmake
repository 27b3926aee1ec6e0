# The Prometheus metrics of the producer, worker and scheduler against the database
# (tests/e2e/metrics.c).
jf_e2e(metrics TIMEOUT 120 NAMES e2e_metrics_fleet e2e_metrics_listen_bounded
  e2e_metrics_counters_from_zero e2e_metrics_queue_gauges_bounded)
