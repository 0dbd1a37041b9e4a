/* One function per `neurop COMMAND`; each parses its own options with getopt_long, prints
 * `neurop COMMAND: message` and returns non-zero on bad input. */
#ifndef NEUROP_COMMANDS_H
#define NEUROP_COMMANDS_H

int cmd_data(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_synth(int argc, char **argv);
int cmd_solve(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_clock(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_graph(int argc, char **argv);
int cmd_exec(int argc, char **argv);
int cmd_reproduce(int argc, char **argv);

#endif
