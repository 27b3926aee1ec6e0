jf_e2e(cloud TIMEOUT 180 NAMES
  e2e_cloud_upload
  e2e_cloud_link
  e2e_cloud_link_during_update
  e2e_cloud_hostile_answer
  e2e_cloud_retry_and_permanent
  e2e_cloud_bad_numbers
  e2e_cloud_sync_all
  e2e_cloud_link_csv
  e2e_cloud_link_csv_api
  e2e_cloud_link_csv_db_lost
  e2e_cloud_link_csv_long_cell)
