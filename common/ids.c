/* This file makes UUIDs with libuuid. */
#include "ids.h"

#include <uuid/uuid.h>

void
ids_uuid(char out[37])
{
    uuid_t u;
    uuid_generate_random(u);
    uuid_unparse_lower(u, out);
}
