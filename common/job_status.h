/* How one attempt of a job ended, as the worker, the scheduler's recoveries and the job
 * functions all name it. */
#ifndef JOBFLEET_JOB_STATUS_H
#define JOBFLEET_JOB_STATUS_H

/* What the caller must do with the job: done, try again (after an optional delay), give up now
 * whatever attempts remain, or stop because it was cancelled. */
enum job_status { JOB_OK = 0, JOB_RETRY = 1, JOB_FAIL = 2, JOB_CANCELLED = 3 };

#endif
