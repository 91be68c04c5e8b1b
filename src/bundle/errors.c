/* errors.c: names and tool exit codes of the bundle errors; no logic. */
#include "bundle/bundle.h"

static const char *const bundle_error_names[BUNDLE_ERR_COUNT] = {
	[0] = "ok",
	[1] = "io",
	[2] = "truncated",
	[3] = "sha256-mismatch",
	[4] = "size-mismatch",
	[5] = "bad-signature",
	[6] = "unknown-key",
	[7] = "manifest-not-first",
	[8] = "signature-not-second",
	[9] = "payload-missing",
	[10] = "extra-member",
	[11] = "duplicate-member",
	[12] = "bad-member-name",
	[13] = "bad-member-type",
	[14] = "too-large",
	[15] = "malformed-manifest",
	[16] = "unknown-format-version",
	[17] = "model-not-supported",
	[18] = "not-ustar",
	[19] = "trailing-data",
	[20] = "rejected",
	[21] = "out-of-memory",
	[22] = "bad-key",
	[23] = "usage",
	[24] = "revoked-key",
};

const char *bundle_error_name(int code)
{
	if (code > 0 || code <= -BUNDLE_ERR_COUNT)
		return "unknown";
	return bundle_error_names[-code];
}

/* 0 for success; 10 + n for BUNDLE_ERR_* -n, so scripts can tell them apart. */
int bundle_error_exit_code(int code)
{
	if (code == 0)
		return 0;
	if (code < 0 && code > -BUNDLE_ERR_COUNT)
		return 10 - code;
	return 1;
}
