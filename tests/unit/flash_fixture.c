/* flash_fixture.c: see flash_fixture.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flash_fixture.h"

void flash_fixture_setup(struct flash_fixture *fx, const char *name)
{
	char kd[96];
	struct err e;

	memset(fx, 0, sizeof(*fx));
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/%s.XXXXXX", name);
	assert_non_null(mkdtemp(fx->dir));
	snprintf(kd, sizeof(kd), "%s/keys", fx->dir);
	assert_int_equal(bundle_key_generate(kd, &e), 0);
	assert_int_equal(bundle_keyring_add_dir(&fx->ring, kd, &e), 0);
	snprintf(fx->key, sizeof(fx->key), "%s/bundle.key", kd);
	assert_int_equal(flash_store_init(fx->dir, &e), 0);
	assert_int_equal(flash_store_open(fx->dir, &fx->s, &e), 0);
}

void flash_fixture_teardown(struct flash_fixture *fx)
{
	flash_store_close(fx->s);
	fs_remove_tree(fx->dir);
}

void flash_fixture_bundle(struct flash_fixture *fx, const char *v, char *out,
			  size_t outlen)
{
	struct bundle_create_spec spec = {
		.key_path = fx->key, .version = v,
		.build_date = "Tue Dec  1 08:00:00 UTC 2026",
		.models = { "2324sa" }, .nmodels = 1,
	};
	char mc[128], sc[128];
	uint8_t data[5000];
	struct err e;

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7 + (uint8_t)v[strlen(v) - 1]);
	snprintf(mc, sizeof(mc), "%s/mc.bin", fx->dir);
	assert_int_equal(fs_atomic_write(mc, data, sizeof(data), 0644, &e), 0);
	data[0] ^= 0x5a;
	snprintf(sc, sizeof(sc), "%s/sc.bin", fx->dir);
	assert_int_equal(fs_atomic_write(sc, data, sizeof(data), 0644, &e), 0);
	spec.components[0] = (struct bundle_create_component){ "mc", v, mc,
							       0 };
	spec.components[1] = (struct bundle_create_component){ "sc", v, sc,
							       0 };
	spec.ncomponents = 2;
	snprintf(out, outlen, "%s/%s.tar", fx->dir, v);
	if (bundle_create(&spec, out, &e) < 0)
		fail_msg("bundle_create: %s", e.msg);
}

void flash_fixture_install(struct flash_fixture *fx, struct flash_store *s,
			   const char *v)
{
	struct flash_install_options opt = { .keys = &fx->ring,
					     .model = "2324sa" };
	struct flash_install_result res;
	struct flash_install *fi;
	char path[128];
	struct buf b;
	struct err e;

	flash_fixture_bundle(fx, v, path, sizeof(path));
	buf_init(&b, 1 << 20);
	assert_int_equal(fs_read_file(path, 1 << 20, &b, &e), 0);
	fi = flash_install_begin(s, &opt, &e);
	assert_non_null(fi);
	assert_int_equal(flash_install_feed(fi, b.data, b.len, &e), 0);
	assert_int_equal(flash_install_finish(fi, &res, &e), 0);
	flash_install_free(fi);
	buf_free(&b);
	assert_int_equal(flash_store_confirm(s, &e), 0);
}
