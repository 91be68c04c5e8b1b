/*
 * fuzz_cli_parse.c: libFuzzer target for the CLI: arbitrary bytes, split
 * into lines, run through one manage session over the test backend, as a
 * telnet or SSH user could type them. Each reply must end with a status
 * line (or be empty for a blank line or exit), and never exceed the cap.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cli/cli.h"
/* The test backend is a test fixture, compiled into this target. */
#include "../unit/cli_test_backend.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct cli_test_backend backend;
	struct cli_session *s;
	struct buf out;
	size_t off = 0;

	cli_test_backend_init(&backend);
	/* The first byte picks role and partner state, so both are fuzzed. */
	if (size > 0) {
		backend.partner_up = !(data[0] & 1);
		s = cli_session_new(&cli_test_backend_ops, &backend, "manage",
				    data[0] & 2 ? CLI_ROLE_MONITOR
						: CLI_ROLE_MANAGE);
		off = 1;
	} else {
		s = cli_session_new(&cli_test_backend_ops, &backend, "manage",
				    CLI_ROLE_MANAGE);
	}
	if (!s)
		return 0;
	buf_init(&out, CLI_OUTPUT_MAX);
	while (off < size) {
		const uint8_t *nl = memchr(data + off, '\n', size - off);
		size_t len = nl ? (size_t)(nl - (data + off)) : size - off;
		int rc;

		buf_reset(&out);
		rc = cli_session_execute(s, (const char *)data + off, len,
					 &out);
		if (rc != CLI_EXECUTE_CONTINUE && rc != CLI_EXECUTE_EXIT)
			__builtin_trap();
		if (out.len > CLI_OUTPUT_MAX)
			__builtin_trap();
		/* Every non-empty reply ends with a newline. */
		if (out.len && out.data[out.len - 1] != '\n')
			__builtin_trap();
		off += len + 1;
		if (rc == CLI_EXECUTE_EXIT)
			break;
	}
	buf_free(&out);
	cli_session_free(s);
	return 0;
}
