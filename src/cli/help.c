/*
 * help.c - renders the manual's pages (help_pages.c) as terminal text for --help and as a
 * man(7) page for docs/breakglass.1, and prints --version.
 *
 * The two renderers share the data and the section order; only layout differs. Terminal
 * text is wrapped here at 80 columns (the pages hold unwrapped lines); roff wraps by
 * itself, and every character that means something to roff is escaped, so no page text
 * can turn into a request.
 */
#include "cli/help.h"

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <string.h>
#include <yaml.h>

#include "cli/cli.h"
#include "store/store.h"

#ifndef BG_VERSION
#define BG_VERSION "0.0.0-unknown"
#endif

#define HELP_WIDTH 79

extern const cli_help cli_help_intro;

/* Common options and codes: every command takes --json and --help; client commands also
 * --url and --token. */
static const cli_help_item common_client_opts[] = {
    {"--url URL", "The breakglass server. Default: $BREAKGLASS_URL, else " CLI_DEFAULT_URL "."},
    {"--token TOKEN",
     "Your API token (printed once by `breakglass init` or `breakglass user add`). Default: "
     "$BREAKGLASS_TOKEN. Prefer the variable: a command line is visible to other users of the "
     "machine."},
    {NULL, NULL}};

static const cli_help_item common_opts[] = {
    {"--json",
     "Print exactly one JSON object on stdout, whatever happens: the answer, or on failure "
     "{\"error\": CODE, \"message\": TEXT, \"exit\": N}. Messages for people still go to "
     "stderr."},
    {"-h, --help", "Print this page and exit 0."},
    {NULL, NULL}};

static const cli_help_item std_exit[] = {
    {"0", "Success."},
    {"1", "Refused: the server said no (no permission, a wrong or reused TOTP code, an unknown "
          "grant or user, a revoked or expired grant)."},
    {"2", "Usage error, found before any request was sent or anything changed."},
    {"3", "The server (or, for serve, DynamoDB) could not be reached, failed (HTTP 5xx) or "
          "answered something that is not the API's answer."},
    {"4", "Local failure on this machine: files, the data directory, the store, a port in use, "
          "out of memory, standard output closed."},
    {NULL, NULL}};

static const cli_help_item client_env[] = {
    {"BREAKGLASS_URL", "The server, when --url is not given."},
    {"BREAKGLASS_TOKEN", "The API token, when --token is not given."},
    {NULL, NULL}};

/* ------------------------------------------------------------------------------------ */
/* Terminal text                                                                        */

/* Writes s (one logical line) word-wrapped at HELP_WIDTH, every line indented by indent.
 * col is where the cursor stands (0: at the start of a line; otherwise at least indent,
 * after a key printed on the same line). */
static void text_wrap_at(FILE *fp, const char *s, int indent, int col)
{
	bool fresh = true; /* no word yet on this line */
	int n;

	while (*s != '\0') {
		while (*s == ' ')
			s++;
		n = (int)strcspn(s, " ");
		if (n == 0)
			break;
		if (!fresh && col + 1 + n > HELP_WIDTH) {
			fputc('\n', fp);
			col = 0;
		}
		if (col == 0) {
			fprintf(fp, "%*s", indent, "");
			col = indent;
		} else if (!fresh) {
			fputc(' ', fp);
			col++;
		}
		fwrite(s, 1, (size_t)n, fp);
		col += n;
		s += n;
		fresh = false;
	}
	if (col > 0)
		fputc('\n', fp);
}

static void text_wrap(FILE *fp, const char *s, int indent)
{
	text_wrap_at(fp, s, indent, 0);
}

/* Writes paragraphs separated by "\n\n", wrapped, with a blank line between them. */
static void text_paras(FILE *fp, const char *s, int indent)
{
	char para[2048];
	const char *end;
	size_t n;

	while (*s != '\0') {
		end = strstr(s, "\n\n");
		n = end != NULL ? (size_t)(end - s) : strlen(s);
		if (n >= sizeof(para))
			n = sizeof(para) - 1;
		memcpy(para, s, n);
		para[n] = '\0';
		text_wrap(fp, para, indent);
		if (end == NULL)
			break;
		fputc('\n', fp);
		s = end + 2;
	}
}

/* Writes verbatim lines, each indented. */
static void text_lines(FILE *fp, const char *s, int indent)
{
	size_t n;

	while (*s != '\0') {
		n = strcspn(s, "\n");
		fprintf(fp, "%*s%.*s\n", indent, "", (int)n, s);
		s += n;
		if (*s == '\n')
			s++;
	}
}

/* Writes items as "KEY\n        TEXT" (or "KEY  TEXT" on one line when KEY is short). */
static void text_items(FILE *fp, const cli_help_item *it, int short_keys)
{
	for (; it != NULL && it->key != NULL; it++) {
		if (short_keys) {
			/* "    0   Success." : the text starts on the key's line. */
			fprintf(fp, "    %-4s", it->key);
			text_wrap_at(fp, it->text, 8, 8);
			continue;
		}
		fprintf(fp, "    %s\n", it->key);
		text_wrap(fp, it->text, 8);
	}
}

int cli_help_text(FILE *fp, const cli_help *h)
{
	const cli_help_item *it;
	bool intro = h == &cli_help_intro;

	fprintf(fp, "NAME\n    %s%s - %s\n\nSYNOPSIS\n", intro ? "" : "breakglass ", h->name,
	        h->summary);
	text_lines(fp, h->synopsis, 4);
	fputs("\nDESCRIPTION\n", fp);
	text_paras(fp, h->description, 4);
	if (h->options != NULL && h->options[0].key != NULL) {
		fputs("\nOPTIONS\n", fp);
		text_items(fp, h->options, 0);
	}
	fputs("\nCOMMON OPTIONS\n", fp);
	if (h->client)
		text_items(fp, common_client_opts, 0);
	text_items(fp, common_opts, 0);
	if (h->examples != NULL && h->examples[0].key != NULL) {
		fputs("\nEXAMPLES\n", fp);
		for (it = h->examples; it->key != NULL; it++) {
			text_wrap(fp, it->key, 4);
			text_lines(fp, it->text, 8);
			if (it[1].key != NULL)
				fputc('\n', fp);
		}
	}
	fputs("\nEXIT STATUS\n", fp);
	text_items(fp, h->exit != NULL ? h->exit : std_exit, 1);
	if (h->client || h->env != NULL) {
		fputs("\nENVIRONMENT\n", fp);
		if (h->client)
			text_items(fp, client_env, 0);
		text_items(fp, h->env, 0);
	}
	fflush(fp);
	return ferror(fp) ? -1 : 0;
}

/* ------------------------------------------------------------------------------------ */
/* man(7)                                                                               */

/* Writes s escaped for roff text: backslashes and hyphens, and a leading control
 * character defused. */
static void man_escape(FILE *fp, const char *s, size_t n)
{
	size_t i;

	if (n > 0 && (s[0] == '.' || s[0] == '\''))
		fputs("\\&", fp);
	for (i = 0; i < n; i++) {
		if (s[i] == '\\')
			fputs("\\e", fp);
		else if (s[i] == '-')
			fputs("\\-", fp);
		else
			fputc(s[i], fp);
	}
}

static void man_line(FILE *fp, const char *s)
{
	man_escape(fp, s, strlen(s));
	fputc('\n', fp);
}

/* Paragraphs separated by "\n\n", each its own .PP. */
static void man_paras(FILE *fp, const char *s)
{
	const char *end;

	while (*s != '\0') {
		end = strstr(s, "\n\n");
		fputs(".PP\n", fp);
		man_escape(fp, s, end != NULL ? (size_t)(end - s) : strlen(s));
		fputc('\n', fp);
		if (end == NULL)
			break;
		s = end + 2;
	}
}

/* Verbatim lines in a no-fill block. */
static void man_lines(FILE *fp, const char *s, bool indent)
{
	size_t n;

	fputs(indent ? ".RS 4\n.nf\n" : ".nf\n", fp);
	while (*s != '\0') {
		n = strcspn(s, "\n");
		man_escape(fp, s, n);
		fputc('\n', fp);
		s += n;
		if (*s == '\n')
			s++;
	}
	fputs(indent ? ".fi\n.RE\n" : ".fi\n", fp);
}

static void man_items(FILE *fp, const cli_help_item *it)
{
	for (; it != NULL && it->key != NULL; it++) {
		fputs(".TP\n.B ", fp);
		man_line(fp, it->key);
		man_line(fp, it->text);
	}
}

/* A heading inside the page: a section for the tool's own part, a bold run-in heading
 * inside a command's subsection. */
static void man_heading(FILE *fp, bool intro, const char *title)
{
	if (intro)
		fprintf(fp, ".SH \"%s\"\n", title);
	else
		fprintf(fp, ".PP\n.B \"%s:\"\n", title);
}

static void man_page_body(FILE *fp, const cli_help *h, bool intro)
{
	const cli_help_item *it;

	if (intro)
		man_heading(fp, true, "SYNOPSIS");
	man_lines(fp, h->synopsis, false);
	if (intro)
		man_heading(fp, true, "DESCRIPTION");
	man_paras(fp, h->description);
	if (h->options != NULL && h->options[0].key != NULL) {
		man_heading(fp, intro, "Options");
		man_items(fp, h->options);
	}
	if (h->examples != NULL && h->examples[0].key != NULL) {
		man_heading(fp, intro, intro ? "EXAMPLES" : "Examples");
		for (it = h->examples; it->key != NULL; it++) {
			fputs(".PP\n", fp);
			man_line(fp, it->key);
			man_lines(fp, it->text, true);
		}
	}
	if (h->exit != NULL) {
		man_heading(fp, intro, "Exit status");
		man_items(fp, h->exit);
	}
	if (h->env != NULL) {
		man_heading(fp, intro, "Environment");
		man_items(fp, h->env);
	}
}

int cli_help_man(FILE *fp)
{
	const cli_help *pages, *h = &cli_help_intro;
	size_t n, i;

	pages = cli_help_pages(&n);
	/* No date: the page is generated and compared byte for byte by a test. */
	fputs(".\\\" Generated by `breakglass help --man` from src/cli/help_pages.c; do not edit.\n"
	      ".TH BREAKGLASS 1 \"\" \"breakglass " BG_VERSION "\" \"breakglass manual\"\n"
	      ".SH NAME\n",
	      fp);
	fputs("breakglass \\- ", fp);
	man_line(fp, h->summary);
	man_page_body(fp, h, true);
	fputs(".SH COMMANDS\n"
	      "Each command also prints its own section with\n"
	      ".BR \"breakglass \\fICOMMAND\\fP \\-\\-help\" .\n",
	      fp);
	for (i = 0; i < n; i++) {
		fputs(".SS \"", fp);
		man_escape(fp, "breakglass ", 11);
		man_escape(fp, pages[i].name, strlen(pages[i].name));
		fputs("\"\n", fp);
		man_line(fp, pages[i].summary);
		fputs(".PP\n", fp);
		man_page_body(fp, &pages[i], false);
	}
	fputs(".SH \"COMMON OPTIONS\"\n"
	      "Every command takes\n.B \\-\\-json\nand\n.BR \\-\\-help ;\n"
	      "every command that talks to the server also takes\n.B \\-\\-url\nand\n"
	      ".BR \\-\\-token .\n",
	      fp);
	man_items(fp, common_client_opts);
	man_items(fp, common_opts);
	fputs(".SH \"EXIT STATUS\"\n", fp);
	man_items(fp, std_exit);
	fputs(".SH ENVIRONMENT\n", fp);
	man_items(fp, client_env);
	for (i = 0; i < n; i++)
		man_items(fp, pages[i].env);
	fputs(".SH \"SEE ALSO\"\n"
	      ".BR aws (1),\n"
	      ".BR oathtool (1);\n"
	      "README.md and docs/ in the breakglass sources.\n",
	      fp);
	fflush(fp);
	return ferror(fp) ? -1 : 0;
}

/* ------------------------------------------------------------------------------------ */

const cli_help *cli_help_find(const char *name)
{
	const cli_help *pages;
	size_t n, i;

	pages = cli_help_pages(&n);
	for (i = 0; i < n; i++) {
		if (strcmp(pages[i].name, name) == 0)
			return &pages[i];
	}
	return NULL;
}

int cli_help_show(const char *name)
{
	const cli_help *h = cli_help_find(name);

	if (h == NULL)
		h = &cli_help_intro;
	if (cli_help_text(stdout, h) != 0) {
		fprintf(stderr, "breakglass: cannot write to standard output\n");
		return CLI_EXIT_LOCAL;
	}
	return CLI_EXIT_OK;
}

void cli_help_overview(FILE *fp)
{
	const cli_help *pages;
	size_t n, i;

	pages = cli_help_pages(&n);
	fputs("Usage: breakglass [--url URL] [--token TOKEN] [--json] COMMAND [ARGS...]\n"
	      "       breakglass --version | --help | help COMMAND | help --man\n\n",
	      fp);
	text_wrap(fp, cli_help_intro.summary, 0);
	fputs("\nCommands:\n", fp);
	for (i = 0; i < n; i++)
		fprintf(fp, "  %-9s %s\n", pages[i].name, pages[i].summary);
	fputs("\n`breakglass COMMAND --help` describes a command; `man breakglass` (after `make\n"
	      "install`) or `breakglass help breakglass` the whole tool.\n"
	      "Exit codes: 0 success, 1 refused, 2 usage error, 3 server or DynamoDB unreachable,\n"
	      "4 local failure.\n",
	      fp);
}

const char *cli_help_version_string(void)
{
	return BG_VERSION;
}

void cli_help_version(FILE *fp)
{
	const curl_version_info_data *cv = curl_version_info(CURLVERSION_NOW);
	size_t i;

	fprintf(fp, "breakglass %s\n", BG_VERSION);
	fprintf(fp, "libcurl %s, %s, jansson %s, libyaml %s", cv != NULL ? cv->version : "?",
	        OpenSSL_version(OPENSSL_VERSION), jansson_version_str(), yaml_get_version_string());
	for (i = 0; store_backend_name(i) != NULL; i++)
		fprintf(fp, ", store %s %s", store_backend_name(i), store_backend_version(i));
	fputc('\n', fp);
}
