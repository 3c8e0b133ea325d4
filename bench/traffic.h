/* bench/traffic.h - how many bytes of memory one arriving update makes a defense touch, by a
 * simple model of its family (amortised over a buffer's flush where it has one).
 *
 * These are floors, not measurements: the vectors the rule must read or write at least once
 * (4-byte floats), assuming everything else stays in cache. A defense the table does not know
 * gets NAN and is still timed.
 */
#ifndef AFL_BENCH_TRAFFIC_H
#define AFL_BENCH_TRAFFIC_H

#include <stddef.h>

#include "sim/config.h"

/* Bytes per arrival for defense `name` configured by cfg at n clients and d parameters; what
 * receives the model in words ("n d (2 + 2 eps) floats: ..."). NAN if unknown. */
double traffic_bytes(const char *name, const afl_config *cfg, int n, size_t d, char *what,
                     size_t len);

#endif
