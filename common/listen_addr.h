/* A listening address from the config ([producer] listen, [worker] and [scheduler]
 * metrics_listen): "host:port", "[v6]:port" or "*:port", resolved for bind(). */
#ifndef JOBFLEET_LISTEN_ADDR_H
#define JOBFLEET_LISTEN_ADDR_H

#include <netdb.h>
#include <stddef.h>

/* Splits listen into host and port (1-65535) and resolves it passively. what names the setting
 * in errors ("[producer] listen"). Returns the addresses (freeaddrinfo them), or NULL with err
 * set to one line naming the setting and what is wrong with the value. */
struct addrinfo *listen_addr_resolve(const char *what, const char *listen, char *err,
                                     size_t errlen);

/* listen_addr_resolve's check alone, for --check-config and a start: 0, or -1 with err set. */
int listen_addr_check(const char *what, const char *listen, char *err, size_t errlen);

#endif
