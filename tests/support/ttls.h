/* A throwaway TLS setup for e2e tests: a test CA and a server certificate made with the openssl
 * command line in the test's directory. */
#ifndef JOBFLEET_TTLS_H
#define JOBFLEET_TTLS_H

/* Makes dir/ca.pem (the CA clients trust), dir/server.pem and dir/server.key (a certificate for
 * *.attachments.test, localhost and 127.0.0.1 signed by that CA, valid two days). Fails the test
 * when openssl does. */
void ttls_make(const char *dir);

/* After ttls_make: dir/expired.pem, the server certificate signed again by the CA with a
 * validity that ended a day ago (openssl's command line cannot date one in the past). */
void ttls_make_expired(const char *dir);

#endif
