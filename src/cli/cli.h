/*
 * cli.h: the one command engine behind every transport (console, telnet,
 * SSH, HTTP API). A transport hands a command line to cli_session_execute()
 * and writes back the bytes it gets; it never parses commands itself. The
 * engine reads and changes the controller only through struct cli_backend,
 * which the daemon implements; it does no I/O of its own.
 *
 * Every command builds its answer once, as a struct cli_result (objects of
 * properties, then a status), and one renderer per output mode formats it:
 * console text, the XML API document, or JSON. No command prints.
 */
#ifndef TANDEM_CLI_H
#define TANDEM_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "common/common.h"

/* Limits of this part (STYLE.md: limits in one place). */
#define CLI_LINE_MAX		4096	/* one command line, bytes */
#define CLI_WORDS_MAX		64	/* words in one command line */
#define CLI_FIELD_MAX		64	/* one backend text field, with NUL */
#define CLI_TEXT_MAX		256	/* messages, reasons, with NUL */
#define CLI_USER_NAME_MAX	29	/* family: user names up to 29 bytes */
#define CLI_PASSWORD_MAX	32	/* family: passwords up to 32 bytes */
#define CLI_EVENTS_LAST_MAX	1000	/* `show events last N`, and the default */
#define CLI_FW_STEPS_MAX	16	/* steps in show firmware-update-status */
#define CLI_READINESS_MAX	12	/* reasons in check firmware-upgrade-health */
#define CLI_SETTINGS_MAX	16	/* name=value pairs in one set command */
#define CLI_OBJECTS_MAX		4096	/* objects in one result */
#define CLI_PROPERTIES_MAX	64	/* properties in one object */
#define CLI_OUTPUT_MAX		(4u << 20)	/* rendered reply cap */
#define CLI_TIMEOUT_MIN		120	/* set cli-parameters timeout, s */
#define CLI_TIMEOUT_MAX		43200

/* ---- the backend: how commands get and change the system ---- */

/*
 * Backend return codes: 0, or one of these (negative), with the struct
 * err message saying what and why. CLI_BACKEND_UNAVAILABLE is for "the
 * partner controller cannot be reached": the command then says so plainly.
 */
enum cli_backend_rc {
	CLI_BACKEND_FAILED = -1,	/* any other failure; message explains */
	CLI_BACKEND_UNAVAILABLE = -2,	/* partner (or service) not reachable */
	CLI_BACKEND_NOT_FOUND = -3,	/* no such user / setting */
	CLI_BACKEND_EXISTS = -4,	/* user already exists */
	CLI_BACKEND_REFUSED = -5,	/* valid request the system will not do */
};

/*
 * Versions of one controller. Every field is text as the family prints it.
 * The backend writes "N/A" into a field that means nothing for Tandem
 * (e.g. a memory-controller FPGA); an empty field is also shown as N/A.
 */
struct cli_versions {
	char sc_cpu_type[CLI_FIELD_MAX];
	char bundle_version[CLI_FIELD_MAX];
	char bundle_base_version[CLI_FIELD_MAX];
	char build_date[CLI_FIELD_MAX];
	char sc_fw[CLI_FIELD_MAX];
	char sc_baselevel[CLI_FIELD_MAX];
	char sc_memory[CLI_FIELD_MAX];
	char sc_fu_version[CLI_FIELD_MAX];
	char sc_loader[CLI_FIELD_MAX];
	char capi_version[CLI_FIELD_MAX];
	char mc_fw[CLI_FIELD_MAX];
	char mc_loader[CLI_FIELD_MAX];
	char mc_base_fw[CLI_FIELD_MAX];
	char fw_default_platform_brand[CLI_FIELD_MAX];
	uint32_t fw_default_platform_brand_numeric;
	char ec_fw[CLI_FIELD_MAX];
	char pld_rev[CLI_FIELD_MAX];
	char pm_cpld_version[CLI_FIELD_MAX];
	char prm_version[CLI_FIELD_MAX];
	char hw_rev[CLI_FIELD_MAX];
};

enum cli_health {
	CLI_HEALTH_OK = 0,
	CLI_HEALTH_DEGRADED = 1,
	CLI_HEALTH_FAULT = 2,
	CLI_HEALTH_UNKNOWN = 3,
	CLI_HEALTH_NA = 4,
};

enum cli_controller_status {
	CLI_CONTROLLER_OPERATIONAL = 0,
	CLI_CONTROLLER_DOWN = 1,
	CLI_CONTROLLER_NOT_INSTALLED = 2,
};

/* One controller module as `show controllers` lists it. */
struct cli_controller {
	char controller_id;			/* 'A' or 'B' */
	char serial_number[CLI_FIELD_MAX];
	char sc_fw[CLI_FIELD_MAX];
	char sc_cpu_type[CLI_FIELD_MAX];
	char ip_address[CLI_FIELD_MAX];
	enum cli_controller_status status;
	enum cli_health health;
	char health_reason[CLI_TEXT_MAX];
	bool position_top;			/* Top (A) or Bottom (B) */
};

/* The enclosure as `show system` shows it. */
struct cli_system {
	char system_name[CLI_FIELD_MAX];
	char system_contact[CLI_FIELD_MAX];
	char system_location[CLI_FIELD_MAX];
	char system_information[CLI_FIELD_MAX];
	char midplane_serial_number[CLI_FIELD_MAX];
	char vendor_name[CLI_FIELD_MAX];
	char product_id[CLI_FIELD_MAX];
	char product_brand[CLI_FIELD_MAX];
	enum cli_health health;
	char health_reason[CLI_TEXT_MAX];
	char other_mc_status[CLI_FIELD_MAX];	/* "Operational", ... */
	uint32_t other_mc_status_numeric;
	char pfu_status[CLI_FIELD_MAX];		/* "Idle", "In Progress", ... */
};

enum cli_severity {
	CLI_SEVERITY_INFORMATIONAL = 0,
	CLI_SEVERITY_WARNING = 1,
	CLI_SEVERITY_ERROR = 2,
	CLI_SEVERITY_CRITICAL = 3,
};

struct cli_event {
	time_t time;
	uint32_t code;				/* 237, 269, ... */
	char event_id[CLI_FIELD_MAX];		/* "A1435" */
	char controller;			/* 'A' or 'B' */
	enum cli_severity severity;
	char message[CLI_TEXT_MAX];
};

/* Return 0 to go on, 1 to stop early, negative to fail the walk. */
typedef int (*cli_event_fn)(void *arg, const struct cli_event *ev);

struct cli_fw_step {
	char name[CLI_FIELD_MAX];		/* "MC Software", ... */
	char status[CLI_FIELD_MAX];		/* "OK", "N/A", "Failed", ... */
};

/* The update engine and PFU state for `show firmware-update-status`. */
struct cli_firmware_status {
	char activity[CLI_FIELD_MAX];		/* "codeload" or "none" */
	char stage[CLI_FIELD_MAX];		/* engine state name */
	char bundle_version[CLI_FIELD_MAX];	/* target of the current/last */
	uint64_t bytes_done;
	uint64_t bytes_total;
	uint32_t percent;
	char completion_status[CLI_FIELD_MAX];	/* "Success", "Failed", "N/A" */
	char last_outcome[CLI_TEXT_MAX];	/* text of the last code load */
	char partner_outcome[CLI_TEXT_MAX];	/* its PFU's "Partner: ..." line */
	char pfu_status[CLI_FIELD_MAX];
	uint32_t pfu_attempts;
	uint32_t pfu_attempts_max;
	char pfu_reason[CLI_TEXT_MAX];
	char pfu_target[CLI_FIELD_MAX];		/* bundle PFU brings the partner to */
	bool pfu_halted;
	char pfu_advice[CLI_TEXT_MAX];		/* when halted: the ways out */
	struct cli_fw_step steps[CLI_FW_STEPS_MAX];
	size_t nsteps;
};

/* One reason a code load may not start now. */
struct cli_readiness_reason {
	char id[CLI_FIELD_MAX];			/* "partner-down", ... */
	char text[CLI_TEXT_MAX];		/* what is wrong */
	char risk[CLI_TEXT_MAX];		/* what could go wrong */
	uint32_t risk_numeric;
	char action[CLI_TEXT_MAX];		/* what to do */
};

/* `check firmware-upgrade-health`: pass, or every failing condition. */
struct cli_readiness {
	bool pass;
	struct cli_readiness_reason reasons[CLI_READINESS_MAX];
	size_t nreasons;
};

enum cli_role {
	CLI_ROLE_MONITOR = 0,			/* may only read */
	CLI_ROLE_MANAGE = 1,
};

#define CLI_INTERFACE_CLI	0x1u
#define CLI_INTERFACE_WBI	0x2u
#define CLI_INTERFACE_FTP	0x4u
#define CLI_INTERFACE_ALL	0x7u

struct cli_user {
	char name[CLI_USER_NAME_MAX + 1];
	enum cli_role role;
	unsigned interfaces;			/* CLI_INTERFACE_* */
	unsigned output;	/* enum cli_output_mode its sessions start in */
};

typedef int (*cli_user_fn)(void *arg, const struct cli_user *user);

/* One setting change; `set protocols` may carry several at once. */
struct cli_setting {
	char name[CLI_FIELD_MAX];
	char value[CLI_FIELD_MAX];
};

enum cli_target {
	CLI_TARGET_A = 1,
	CLI_TARGET_B = 2,
	CLI_TARGET_BOTH = 3,
};

enum cli_processor {
	CLI_PROCESSOR_MC = 0,
	CLI_PROCESSOR_SC = 1,
};

/*
 * Settings by name (values "enabled" / "disabled"):
 *   partner-firmware-upgrade
 *   protocol names as `show protocols` has them: wbi-http, wbi-https,
 *   cli-telnet, cli-ssh, smis, usmis, slp, ftp, sftp, snmp,
 *   debug-interface, inband-ses, activity-progress
 * A service Tandem does not have reads "disabled"; setting it "enabled"
 * answers CLI_BACKEND_REFUSED with a message.
 */
#define CLI_SETTING_PFU "partner-firmware-upgrade"
#define CLI_ADVANCED_SETTINGS_MAX	32	/* settings show advanced-settings lists */

enum cli_setting_kind {
	CLI_SETTING_SWITCH = 0,		/* "enabled" / "disabled" */
	CLI_SETTING_NUMBER = 1,		/* decimal, min..max */
};

/* One advanced setting (enclosure scope) as the backend lists it. The
 * name and display text are static: kept by pointer in the result. */
struct cli_setting_info {
	const char *name;		/* XML property and `set` word */
	const char *display;		/* console label */
	enum cli_setting_kind kind;
	unsigned min, max;		/* CLI_SETTING_NUMBER */
	char value[CLI_FIELD_MAX];	/* "enabled", "disabled" or decimal */
};

struct cli_backend {
	/* Wall clock for the status line's time stamp. */
	time_t (*now)(void *ctx);
	/* 'A' or 'B': the controller this session runs on. */
	char (*local_controller)(void *ctx);
	/* controller is 'A' or 'B'; the partner may be UNAVAILABLE. */
	int (*versions_get)(void *ctx, char controller,
			    struct cli_versions *out, struct err *e);
	int (*controller_get)(void *ctx, char controller,
			      struct cli_controller *out, struct err *e);
	int (*system_get)(void *ctx, struct cli_system *out, struct err *e);
	int (*setting_get)(void *ctx, const char *name, char *value,
			   size_t len, struct err *e);
	/* All of the pairs are applied, or none (and an error says why). */
	int (*settings_set)(void *ctx, const struct cli_setting *pairs,
			    size_t n, struct err *e);
	/* Newest first. */
	int (*events_iterate)(void *ctx, cli_event_fn fn, void *arg,
			      struct err *e);
	int (*firmware_status_get)(void *ctx, struct cli_firmware_status *out,
				   struct err *e);
	int (*users_iterate)(void *ctx, cli_user_fn fn, void *arg,
			     struct err *e);
	int (*user_create)(void *ctx, const struct cli_user *user,
			   const char *password, struct err *e);
	int (*user_delete)(void *ctx, const char *name, struct err *e);
	int (*user_set_password)(void *ctx, const char *name,
				 const char *password, struct err *e);
	/* Stores user->output for the user named (the other fields are
	 * left as they are); NOT_FOUND for no such user. */
	int (*user_set_output)(void *ctx, const struct cli_user *user,
			       struct err *e);
	int (*restart)(void *ctx, enum cli_processor what,
		       enum cli_target target, struct err *e);
	int (*shutdown)(void *ctx, enum cli_target target, struct err *e);
	/* The advanced settings in the backend's order (at most max);
	 * settings_set takes their names with values as listed here. */
	int (*advanced_settings_list)(void *ctx, struct cli_setting_info *out,
				      size_t max, size_t *n, struct err *e);
	/* Whether a code load may start now, and why not. */
	int (*readiness_get)(void *ctx, struct cli_readiness *out,
			     struct err *e);
	/* This controller back to the bundle in its other bank. */
	int (*firmware_rollback)(void *ctx, struct err *e);
};

/* ---- the result model: what a command produces ---- */

enum cli_prop_type {
	CLI_PROP_STRING = 0,
	CLI_PROP_UINT32,
	CLI_PROP_SINT32,
	CLI_PROP_UINT64,
	CLI_PROP_UINT8,
};

struct cli_property {
	char name[CLI_FIELD_MAX];	/* XML/JSON property name */
	const char *display_name;	/* XML display-name, console label */
	enum cli_prop_type type;
	unsigned size;			/* XML size attribute */
	const char *sort;		/* "string", "nosort", "datetime", ... */
	bool draw;
	bool console;			/* shown in console mode */
	char *value;			/* owned, sanitised UTF-8 text */
};

/* How the console renderer lays out an object. */
enum cli_console_style {
	CLI_CONSOLE_PAIRS = 0,	/* title, underline, "Label: value" lines */
	CLI_CONSOLE_TABLE,	/* consecutive objects share a table */
	CLI_CONSOLE_LINE,	/* one line built from console_line template */
	CLI_CONSOLE_TEXT,	/* the first property's value; may hold newlines */
	CLI_CONSOLE_HIDDEN,	/* not shown on the console */
};

struct cli_object {
	const char *basetype;
	char name[CLI_FIELD_MAX];
	const char *meta;		/* JSON meta, e.g. "/meta/versions" */
	char title[CLI_FIELD_MAX];	/* console heading (PAIRS, TABLE) */
	enum cli_console_style style;
	const char *console_line;	/* "{time-stamp} [{event-code}] ..." */
	unsigned oid;
	/* oid of the object this one belongs to, 0: top level. A child comes
	 * after its parent: COMP G=parent in api mode, nested in api-embed
	 * and JSON, listed after it on the console. */
	unsigned parent;
	struct cli_property props[CLI_PROPERTIES_MAX];
	size_t nprops;
};

enum cli_response_type {
	CLI_RESPONSE_SUCCESS = 0,
	CLI_RESPONSE_ERROR = 1,
	CLI_RESPONSE_INFO = 2,
	CLI_RESPONSE_WARNING = 3,
};

/* Return codes in the status object (our own numbering, see compat.md). */
enum cli_return_code {
	CLI_RC_OK = 0,
	CLI_RC_SYNTAX = -1,		/* unknown or malformed command */
	CLI_RC_PERMISSION = -2,		/* the role may not run it */
	CLI_RC_FAILED = -3,		/* the system could not do it */
	CLI_RC_UNAVAILABLE = -4,	/* partner controller not reachable */
	CLI_RC_NOT_FOUND = -5,
	CLI_RC_EXISTS = -6,
	CLI_RC_TOO_LARGE = -7,		/* reply over CLI_OUTPUT_MAX */
};

struct cli_message {
	enum cli_response_type type;
	char text[CLI_TEXT_MAX * 2];
};

struct cli_result {
	struct cli_object *objects;
	size_t nobjects;
	size_t capacity;
	/* Info lines printed before the status ("Parameter ... was set"). */
	struct cli_message infos[CLI_SETTINGS_MAX];
	size_t ninfos;
	struct cli_message status;
	int return_code;
	time_t time;
	const char *request;		/* the command line, sanitised */
	/* A list command's basetype: JSON carries it as an empty array when
	 * the list is empty (clients index the key without checking). */
	const char *list_basetype;
	bool overflow;			/* too many objects, or no memory */
};

/* result.c */
void cli_result_init(struct cli_result *r);
void cli_result_free(struct cli_result *r);
struct cli_object *cli_result_object(struct cli_result *r,
				     const char *basetype, const char *name,
				     const char *meta);
struct cli_property *cli_object_add(struct cli_object *o, const char *name,
				    const char *display_name,
				    enum cli_prop_type type, unsigned size,
				    const char *value);
struct cli_property *cli_object_add_u(struct cli_object *o, const char *name,
				      const char *display_name,
				      enum cli_prop_type type, unsigned size,
				      uint64_t value);
struct cli_property *cli_object_add_s32(struct cli_object *o,
					const char *name,
					const char *display_name,
					unsigned size, int32_t value);
void cli_object_add_enum(struct cli_object *o, const char *name,
			 const char *display_name, unsigned size,
			 const char *text, uint32_t numeric);
void cli_result_info(struct cli_result *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void cli_result_status(struct cli_result *r, enum cli_response_type type,
		       int return_code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
char *cli_text_sanitize(const char *in, size_t len);
int cli_status_object(const struct cli_message *m, int return_code,
		      time_t t, unsigned oid, struct cli_object *o);
void cli_object_props_free(struct cli_object *o);
const char *cli_response_type_name(enum cli_response_type t);
void cli_time_format(time_t t, char out[32]);

/* ---- renderers: one per output mode ---- */

enum cli_output_mode {
	CLI_OUTPUT_CONSOLE = 0,
	CLI_OUTPUT_API,		/* XML, objects linked by COMP elements */
	CLI_OUTPUT_API_EMBED,	/* XML, children nested in their parent */
	CLI_OUTPUT_JSON,
};

/* render_console.c */
int cli_render_console(const struct cli_result *r, struct buf *out);
/* render_xml.c */
int cli_render_xml(const struct cli_result *r, bool embed, struct buf *out);
int cli_xml_escape(struct buf *out, const char *s);
/* render_json.c */
int cli_render_json(const struct cli_result *r, struct buf *out);

/* ---- the parser: words and keywords ---- */

struct cli_words {
	char *word[CLI_WORDS_MAX];
	size_t n;
	char storage[CLI_LINE_MAX + 1];
};

/* lexer.c */
int cli_words_split(const char *line, size_t len, struct cli_words *w,
		    char *why, size_t whylen);
int cli_keyword_match(const char *word, const char *const *choices,
		      size_t nchoices);
void cli_word_quote(const char *word, char *out, size_t outlen);
void cli_choices_matching(const char *word, const char *const *choices,
			  size_t n, char *out, size_t outlen);
void cli_choices_join(const char *const *choices, size_t n, char *out,
		      size_t outlen);
#define CLI_MATCH_NONE (-1)
#define CLI_MATCH_AMBIGUOUS (-2)

/* ---- sessions: what transports use ---- */

enum cli_execute_rc {
	CLI_EXECUTE_CONTINUE = 0,
	CLI_EXECUTE_EXIT = 1,		/* the user typed `exit` */
};

struct cli_parameters {
	enum cli_output_mode output;
	bool pager;
	bool brief;
	unsigned timeout;		/* seconds of idle before logout */
	unsigned base;			/* 2 or 10 */
	unsigned precision;		/* 1..10 */
	bool fahrenheit;
	char units[8];			/* "auto", "MB", "GB", "TB" */
	char locale[16];		/* "English" */
};

struct cli_session;

/* session.c */
struct cli_session *cli_session_new(const struct cli_backend *backend,
				    void *backend_ctx, const char *user,
				    enum cli_role role);
void cli_session_free(struct cli_session *s);
/*
 * Runs one command line (no line ending needed; a trailing CR/LF is
 * ignored) and appends the whole reply to out: console text ending in the
 * status line, or one XML or JSON document, with "\n" line ends (a telnet
 * transport turns them into CRLF). The prompt is not included.
 */
int cli_session_execute(struct cli_session *s, const char *line, size_t len,
			struct buf *out);
const char *cli_session_prompt(const struct cli_session *s);
const struct cli_parameters *cli_session_parameters(
	const struct cli_session *s);
const char *cli_session_user(const struct cli_session *s);
/* Whether the last command answered with an Error status (SSH exec's
 * exit status follows it). */
bool cli_session_last_failed(const struct cli_session *s);
enum cli_role cli_session_role(const struct cli_session *s);
/* Every later reply in mode, whatever `set cli-parameters` says (the HTTP
 * API takes the mode from each request's datatype header). */
void cli_session_set_output(struct cli_session *s, enum cli_output_mode mode);
/* The mode a session starts in (the user's stored output format); unlike
 * cli_session_set_output, a later `set cli-parameters` changes it. */
void cli_session_start_output(struct cli_session *s,
			      enum cli_output_mode mode);

/* ---- internal: the command table and the commands ---- */

struct cli_context {
	struct cli_session *session;
	const struct cli_backend *backend;
	void *backend_ctx;
	const char *user;
	enum cli_role role;
	struct cli_parameters *params;
	struct cli_result *result;
	const struct cli_command *command;	/* the table row being run */
	char **args;			/* words after the command's name */
	size_t nargs;
	bool exit;
};

struct cli_command {
	const char *verb;		/* "show" */
	const char *object;		/* "versions", or NULL */
	bool monitor_ok;		/* the monitor role may run it */
	void (*run)(struct cli_context *c);
	const char *syntax;
	const char *summary;
};

/* table.c */
extern const struct cli_command cli_commands[];
extern const size_t cli_commands_count;

/* errors.c: the family's error form, filled into the result */
void cli_error(struct cli_context *c, int return_code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void cli_error_backend(struct cli_context *c, int rc, const struct err *e,
		       const char *what);
void cli_error_unexpected(struct cli_context *c, const char *word,
			  const char *expected);
void cli_success(struct cli_context *c, const char *detail);
void cli_warning_partner(struct cli_context *c, char id, const struct err *e);
int cli_arg_keyword(struct cli_context *c, size_t i,
		    const char *const *choices, size_t n, const char *what);
int cli_arg_switch(struct cli_context *c, size_t i, const char *what,
		   bool *on);
int cli_arg_target(struct cli_context *c, size_t i, enum cli_target *t);

/* cmd_show.c */
void cli_cmd_show_versions(struct cli_context *c);
void cli_cmd_show_controllers(struct cli_context *c);
void cli_cmd_show_system(struct cli_context *c);
void cli_cmd_show_configuration(struct cli_context *c);
void cli_cmd_show_redundancy_mode(struct cli_context *c);
/* cmd_hardware.c */
void cli_cmd_show_enclosures(struct cli_context *c);
void cli_cmd_show_frus(struct cli_context *c);
void cli_cmd_show_controller_date(struct cli_context *c);
void cli_cmd_show_hardware_list(struct cli_context *c);
const char *cli_health_recommendation(enum cli_health h);
const char *cli_health_name(enum cli_health h);	/* cmd_show.c */
/* cmd_firmware.c */
void cli_cmd_check_firmware_upgrade_health(struct cli_context *c);
void cli_cmd_rollback_firmware(struct cli_context *c);
void cli_cmd_show_advanced_settings(struct cli_context *c);
void cli_cmd_show_protocols(struct cli_context *c);
/* cmd_settings.c */
void cli_cmd_set_advanced_settings(struct cli_context *c);
void cli_cmd_set_protocols(struct cli_context *c);
int cli_protocols_objects(struct cli_context *c);
int cli_advanced_settings_objects(struct cli_context *c);
/* cmd_events.c */
void cli_cmd_show_events(struct cli_context *c);
void cli_cmd_show_firmware_update_status(struct cli_context *c);
/* cmd_params.c */
void cli_cmd_set_cli_parameters(struct cli_context *c);
void cli_cmd_show_cli_parameters(struct cli_context *c);
void cli_parameters_default(struct cli_parameters *p);
/* cmd_users.c */
void cli_cmd_show_users(struct cli_context *c);
void cli_cmd_create_user(struct cli_context *c);
void cli_cmd_set_password(struct cli_context *c);
void cli_cmd_delete_user(struct cli_context *c);
void cli_cmd_set_user(struct cli_context *c);
/* cmd_control.c */
void cli_cmd_restart(struct cli_context *c);
void cli_cmd_shutdown(struct cli_context *c);
void cli_cmd_help(struct cli_context *c);
void cli_cmd_exit(struct cli_context *c);

#endif
