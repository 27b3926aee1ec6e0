/* The spool replayer (spool_replay.c): a thread that moves spooled deliveries (spool.h)
 * into MariaDB whenever it is reachable. */
#ifndef JOBFLEET_SPOOL_REPLAY_H
#define JOBFLEET_SPOOL_REPLAY_H

struct producer;
struct spool_replay;

/* Starts the thread that replays the spool into MariaDB whenever it is reachable. */
struct spool_replay *spool_replay_start(struct producer *p);
/* Asks it to look now (after a write). */
void spool_replay_kick(struct spool_replay *r);
/* Stops the thread after the transaction it is in, and frees it; accepts NULL. What is left in
 * the spool waits for the next start. */
void spool_replay_stop(struct spool_replay *r);

#endif
