/* bench/table.h - the benchmark's result table: printed row by row as figures come in, and
 * written as tidy CSV (name,value,unit,target,limit,ratio,note; one row per figure).
 *
 * limit is the machine's bound for the figure in the figure's own unit (e.g. the time the
 * memory traffic takes at the measured bandwidth), and ratio the fraction of that bound
 * achieved: value / limit for rates (higher is better), limit / value for times and sizes
 * (lower is better); 1 = at the machine's limit. Empty when there is no bound.
 */
#ifndef AFL_BENCH_TABLE_H
#define AFL_BENCH_TABLE_H

#include <stddef.h>

enum { LOWER_BETTER = 0, HIGHER_BETTER = 1 };

/* Prints a section title and the column header. */
void table_section(const char *title);
/* Adds and prints one row. name: no commas needed; target: "<= 2.5", ">= 5e6" or "" (none);
 * limit: NAN for none. */
void table_row(const char *name, double value, const char *unit, const char *target, double limit,
               int better, const char *note_fmt, ...) __attribute__((format(printf, 7, 8)));
/* An information line under the current section (not a figure; not in the CSV). */
void table_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Writes every row to path atomically (path.tmp, then rename). 0 or -1 with errno set. */
int table_write_csv(const char *path);
/* Rows whose target was missed / met. */
void table_counts(int *met, int *missed);

#endif
