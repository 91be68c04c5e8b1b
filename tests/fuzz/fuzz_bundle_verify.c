/*
 * fuzz_bundle_verify.c: libFuzzer target for the streaming bundle verifier.
 * The first input byte picks the chunk size (odd and block-sized splits of
 * the reader-thread hand-off; 1- and 7-byte chunks are unit tested, too
 * slow to fuzz); the rest is the bundle. The seed corpus holds valid
 * bundles signed by the first two keys below (a rotation: both trusted,
 * the second's carrying a security_version) and one signed by the third,
 * which is trusted but revoked; their private halves are not kept.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "bundle/bundle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
bool fuzz_input_accepted(void);

/* The last verdict, for replay.c: the valid-* seeds must verify. */
static bool last_accepted;

bool fuzz_input_accepted(void)
{
	return last_accepted;
}

static const uint8_t fuzz_pubkeys[3][32] = {
	{ 0xda, 0x47, 0x60, 0xae, 0x5b, 0xbc, 0xca, 0xc4, 0xbd, 0x99, 0x4a,
	  0x56, 0x25, 0xc0, 0xc5, 0x09, 0xfc, 0xff, 0x35, 0x58, 0xf6, 0x84,
	  0x81, 0xef, 0x40, 0x08, 0xfb, 0xec, 0x9c, 0x2c, 0xad, 0xd9 },
	/* f38fe6b5858a9d21 */
	{ 0x9a, 0x60, 0x2e, 0xe1, 0x7a, 0xe6, 0x39, 0xe8, 0x59, 0xb9, 0x1b,
	  0xf4, 0x70, 0x66, 0xb4, 0xc1, 0x89, 0xcd, 0x3e, 0x4d, 0xd3, 0x2d,
	  0x50, 0x3b, 0xcc, 0x4c, 0x47, 0xf4, 0x83, 0x4a, 0x98, 0x07 },
	/* f58eb0c7f0c2290a, revoked */
	{ 0x1b, 0xbc, 0xf3, 0x99, 0xc1, 0xf9, 0xb7, 0x7d, 0x07, 0xe6, 0x5b,
	  0x5b, 0x4d, 0xc1, 0xee, 0xf1, 0xbe, 0x4b, 0x2e, 0x19, 0xa2, 0x5a,
	  0x23, 0xeb, 0x8b, 0x99, 0xa4, 0xd2, 0x82, 0xe9, 0x8b, 0x3e },
};
static const char fuzz_revoked[] = "f58eb0c7f0c2290a withdrawn\n";

static int fuzz_data(void *ctx, const struct bundle_component *c,
		     const uint8_t *data, size_t len, struct err *e)
{
	uint64_t *sum = ctx;

	(void)c;
	(void)e;
	/* Touch every byte handed out, so ASan sees any overread. */
	while (len--)
		*sum += *data++;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t chunks[] = { 509, 512, 4096, 65536, 100, 1000 };
	static const struct bundle_verifier_ops ops = {
		.component_data = fuzz_data,
	};
	struct bundle_verify_config cfg = { .model = "2324sa" };
	static struct bundle_keyring ring;
	struct err e;
	struct bundle_verifier *v;
	uint64_t sum = 0;
	size_t chunk, off;
	int rc = 0;

	last_accepted = false;
	if (size < 1)
		return 0;
	if (ring.nkeys == 0) {
		for (size_t k = 0; k < 3; k++) {
			memcpy(ring.keys[k].raw, fuzz_pubkeys[k], 32);
			bundle_key_id(fuzz_pubkeys[k], ring.keys[k].id);
		}
		ring.nkeys = 3;
		if (bundle_keyring_revoke_text(&ring, fuzz_revoked,
					       sizeof(fuzz_revoked) - 1,
					       "fuzz", &e) < 0)
			__builtin_trap();
	}
	cfg.keys = &ring;
	chunk = chunks[data[0] % (sizeof(chunks) / sizeof(chunks[0]))];
	data++;
	size--;
	v = bundle_verifier_new(&cfg, &ops, &sum);
	if (!v)
		return 0;
	for (off = 0; off < size && rc == 0; off += chunk)
		rc = bundle_verifier_feed(v, data + off,
					  size - off < chunk ? size - off
							     : chunk);
	if (rc == 0)
		rc = bundle_verifier_finish(v);
	/* A verdict of success must come with a manifest. */
	if (rc == 0 && !bundle_verifier_manifest(v))
		__builtin_trap();
	last_accepted = rc == 0;
	bundle_verifier_free(v);
	return 0;
}
