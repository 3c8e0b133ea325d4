/* sim/trace.h - client availability traces (time mode).
 *
 * A CSV file with the header client,start,end: client `client` is online
 * during [start, end).  Rows may come in any order; a client may have several
 * intervals (overlapping or touching ones are merged).  Clients that do not
 * appear are always online.
 */
#ifndef AFL_TRACE_H
#define AFL_TRACE_H

#include "sim/err.h"

typedef struct afl_trace {
    int n_clients;
    int *offsets;     /* (n_clients + 1) into start/end; a client without rows has none */
    double *start, *end;
    unsigned char *listed; /* (n_clients) 1 if the client appears in the file */
} afl_trace;

/* Loads and validates the trace for clients 0..n_clients-1.  Errors name file:line. */
int afl_trace_load(const char *path, int n_clients, afl_trace *t, afl_err *err);
void afl_trace_free(afl_trace *t);
/* Is client online at time t?  If not, *next receives the next start time (INFINITY if none). */
int afl_trace_online(const afl_trace *t, int client, double time, double *next, double *until);

#endif
