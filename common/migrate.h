/* Schema migrations: deploy/sql/NNN_name.sql files applied in order, recorded in
 * schema_migrations. */
#ifndef JOBFLEET_MIGRATE_H
#define JOBFLEET_MIGRATE_H

#include <stddef.h>

#include "cfg.h"

/* The directory holding the migrations: $JOBFLEET_SQL_DIR, else the source tree's
 * deploy/sql, else the installed copy (JOBFLEET_SQL_INSTALL_DIR: the install prefix's
 * share/jobfleet/sql). Static storage. */
const char *migrate_sql_dir(void);

/* Creates the database if missing, then applies the migrations under dir that the database
 * lacks. Refuses (returns -1 with a message in err) when the database has a version newer than
 * any file here. *applied gets the number of files applied. */
int migrate_run(const struct cfg_mysql *m, const char *dir, int *applied, char *err, size_t errlen);

/* The fleet database, then every [db.<name>] that has migrations under <dir>/<name>/. *applied
 * gets the number of files applied to all of them. */
int migrate_all(const struct cfg *c, int *applied, char *err, size_t errlen);

/* The fleet database's schema version this build's statements need: the highest of
 * deploy/sql (unit_schema_version_test keeps the two in step). */
#define MIGRATE_SCHEMA_VERSION 13

/* A daemon's check at start: -1 with err set when the fleet database m answers and is below
 * MIGRATE_SCHEMA_VERSION (a new binary started before `jobfleet migrate`: its claims would
 * work and its check-outs fail on a missing column, every job run then timed out and run
 * again). 0 when it is recent enough, or cannot be asked now (the daemon waits for MariaDB as
 * ever). A newer schema is fine: migrations only add, and old binaries run on during a rolling
 * upgrade. */
int migrate_check_schema(const struct cfg_mysql *m, char *err, size_t errlen);

#endif
