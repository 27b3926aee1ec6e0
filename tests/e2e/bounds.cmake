jf_e2e(bounds TIMEOUT 180 NAMES e2e_scheduler_explain_bounded)
