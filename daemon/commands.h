/* iolatd's subcommands: each takes the arguments after its name and
 * returns the exit status (0 ok, 1 runtime failure, 2 usage error). */
#ifndef IOLAT_COMMANDS_H
#define IOLAT_COMMANDS_H

int cmd_predict(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_calibrate(int argc, char **argv);
int cmd_compare(int argc, char **argv);
int cmd_query(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_reload(int argc, char **argv);

#endif
