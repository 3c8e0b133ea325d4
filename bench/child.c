/* bench/child.c - see child.h. */
#include "bench/child.h"

#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench/clock.h"

extern char **environ;

int spawn_measure_main(int argc, char **argv)
{
    if (argc < 3)
        return 2;
    const char *result = argv[0], *log = argv[1];
    double t0 = bench_now();
    pid_t pid = fork();
    if (pid < 0)
        return 1;
    if (pid == 0) {
        int in = open("/dev/null", O_RDONLY);
        int out = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (in < 0 || out < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
            _exit(127);
        execv(argv[2], argv + 2);
        _exit(127);
    }
    int st = 0;
    struct rusage ru;
    memset(&ru, 0, sizeof ru);
    if (wait4(pid, &st, 0, &ru) < 0)
        return 1;
    double wall = bench_now() - t0;
    FILE *f = fopen(result, "w");
    if (!f)
        return 1;
    fprintf(f, "%.6f %ld %d %d\n", wall, (long)ru.ru_maxrss, WIFEXITED(st) ? WEXITSTATUS(st) : -1,
            WIFSIGNALED(st) ? WTERMSIG(st) : 0);
    return fclose(f) == 0 ? 0 : 1;
}

int spawn_measured(const char *self, char *const argv[], const char *log_path, spawn_result *r)
{
    char result[4200];
    snprintf(result, sizeof result, "%s.measure", log_path);
    int n = 0;
    while (argv[n])
        n++;
    char **args = calloc((size_t)n + 5, sizeof *args);
    if (!args)
        return -1;
    args[0] = (char *)self;
    args[1] = (char *)"--measure";
    args[2] = result;
    args[3] = (char *)log_path;
    for (int i = 0; i < n; i++)
        args[4 + i] = argv[i];
    pid_t pid;
    int rc = posix_spawn(&pid, self, NULL, NULL, args, environ);
    free(args);
    int st = 0;
    if (rc != 0 || waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
        return -1;
    FILE *f = fopen(result, "r");
    if (!f)
        return -1;
    int ok = fscanf(f, "%lf %ld %d %d", &r->wall, &r->maxrss_kb, &r->exit_code, &r->signal) == 4;
    fclose(f);
    unlink(result);
    return ok ? 0 : -1;
}
