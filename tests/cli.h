/* Running the neurop command itself from a test: what a user sees (the output) and the exit
 * status, for the behaviour that only the CLI has (flags, messages, exit codes). */
#ifndef NEUROP_TEST_CLI_H
#define NEUROP_TEST_CLI_H
#include <stddef.h>

/* Runs `neurop ARGS` through the shell (the neurop binary built beside the test binary), with
 * stdout and stderr together in out (cut to n-1 bytes). Returns the exit status, or 128 + the
 * signal that ended it, or -1 if it could not run. */
int cli_run(const char *args, char *out, size_t n);
/* The neurop binary's path (beside the test binary). */
const char *cli_bin(void);

#endif
