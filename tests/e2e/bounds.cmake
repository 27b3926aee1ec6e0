jf_e2e(bounds TIMEOUT 180 NAMES e2e_scheduler_explain_bounded e2e_api_list_bounded
  e2e_api_job_bounded)
