/*
 * help.h - the manual: one page per command, printed by `breakglass COMMAND --help` and
 * rendered as the roff man page docs/breakglass.1 (`breakglass help --man`).
 *
 * The text lives once, as data (help_pages.c), and both renderings come from it, so the
 * man page cannot drift from --help; a test regenerates the man page and compares it with
 * the committed one, and another asks every dispatched command for its page.
 *
 * Text conventions, so both renderers can do their job: prose fields are single logical
 * lines (the renderers wrap them); a description's paragraphs are separated by "\n\n";
 * synopsis lines and example commands are verbatim, one per "\n"-separated line.
 */
#ifndef BG_CLI_HELP_H
#define BG_CLI_HELP_H

#include <stdbool.h>
#include <stdio.h>

/* A pair of "what" and "what it means": an option, an exit code, a variable, an example. */
typedef struct cli_help_item {
	const char *key;  /* "--user NAME", "0", "BREAKGLASS_URL", a command line */
	const char *text; /* one logical line */
} cli_help_item;

typedef struct cli_help {
	const char *name;              /* "grant" */
	const char *summary;           /* one line, lower case, no full stop */
	const char *synopsis;          /* "\n"-separated usage lines, each "breakglass ..." */
	const char *description;       /* paragraphs separated by "\n\n" */
	const cli_help_item *options;  /* the command's own, {NULL, NULL}-terminated */
	bool client;                   /* talks to the server: takes --url and --token */
	const cli_help_item *examples; /* {explanation, command lines} */
	const cli_help_item *exit;     /* NULL: the standard exit codes */
	const cli_help_item *env;      /* besides the common ones, or NULL */
} cli_help;

/* The pages, in the order of the manual; n receives their count. */
const cli_help *cli_help_pages(size_t *n);

/* The page of command name, or NULL. */
const cli_help *cli_help_find(const char *name);

/* Prints name's page on stdout; returns the exit code (0, or 4 if stdout failed). */
int cli_help_show(const char *name);

/* Writes h as terminal text (80 columns). Returns 0 or -1 on a write error. */
int cli_help_text(FILE *fp, const cli_help *h);

/* Writes the whole manual as a man(7) page. Returns 0 or -1 on a write error. */
int cli_help_man(FILE *fp);

/* Prints the command list (`breakglass`, `breakglass --help`). */
void cli_help_overview(FILE *fp);

/* The release, "0.2.0". */
const char *cli_help_version_string(void);

/* "breakglass VERSION", and on a second line the libraries linked in. */
void cli_help_version(FILE *fp);

#endif
