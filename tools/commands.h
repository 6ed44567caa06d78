/* The tinchap subcommands. Each takes argv with argv[0] the subcommand's name and returns the
 * process exit status (see cli.h). */
#ifndef TC_COMMANDS_H
#define TC_COMMANDS_H

int cmd_keygen(int argc, char **argv);
int cmd_synth(int argc, char **argv);
int cmd_load(int argc, char **argv);
int cmd_get(int argc, char **argv);
int cmd_erase(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_snapshot(int argc, char **argv);
int cmd_upgrade(int argc, char **argv);
int cmd_score(int argc, char **argv);
int cmd_explain(int argc, char **argv);
int cmd_model(int argc, char **argv);
int cmd_model_governance(int argc, char **argv); /* model promote | retire */
int cmd_call(int argc, char **argv);
int cmd_audit(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_validate(int argc, char **argv);

#endif
