/* The TOGaDesk test database (tests/fakes/desk/schema.sql) for e2e tests: `jobfleet migrate`
 * never touches [db.desk], so a test creates and loads it itself. */
#ifndef JOBFLEET_TDESK_H
#define JOBFLEET_TDESK_H

struct tenv;
struct db;

/* Creates the database "<test db>_desk" (the name a test's "[db.desk]\ndatabase = {db}_desk"
 * gives), loads tests/fakes/desk/schema.sql into it and returns a connection to it (the
 * caller frees it with db_free). Fails the test when any step fails. */
struct db *tdesk_create(struct tenv *t);

#endif
