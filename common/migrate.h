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

/* The fleet database, then every [db.<name>] that has migrations under <dir>/<name>/. */
int migrate_all(const struct cfg *c, char *err, size_t errlen);

#endif
