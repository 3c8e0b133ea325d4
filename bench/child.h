/* bench/child.h - running a command as a child process and measuring its wall time and peak
 * resident memory.
 *
 * Peak RSS is what wait4() reports for the child (what /usr/bin/time prints as %M). Linux
 * counts into it the memory of the process that forked it as it was at the fork, so the
 * benchmark (which holds large buffers) does not fork the command itself: it starts a fresh
 * copy of itself in `--measure` mode, which forks and runs the command and writes the
 * figures to a file.
 */
#ifndef AFL_BENCH_CHILD_H
#define AFL_BENCH_CHILD_H

typedef struct spawn_result {
    double wall;    /* seconds */
    long maxrss_kb; /* peak resident set of the command */
    int exit_code;  /* its exit status, or -1 when killed by a signal */
    int signal;     /* the signal, if any */
} spawn_result;

/* Runs argv (argv[0] = the program's path, NULL-terminated) with stdin from /dev/null and
 * stdout and stderr into log_path. self = this benchmark's executable. 0 when the command
 * could be run (whatever its exit status), -1 otherwise. */
int spawn_measured(const char *self, char *const argv[], const char *log_path, spawn_result *r);

/* The --measure mode: args = RESULT_FILE LOG_FILE PROGRAM [ARG...]. Returns main's status. */
int spawn_measure_main(int argc, char **argv);

#endif
