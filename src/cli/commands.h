/* One function per `neurop COMMAND`; each parses its own options with getopt_long, prints
 * `neurop COMMAND: message` and returns non-zero on bad input. */
#ifndef NEUROP_COMMANDS_H
#define NEUROP_COMMANDS_H

int cmd_data(int argc, char **argv);

#endif
