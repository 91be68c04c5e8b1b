/*
 * replay.c: runs a fuzz target's input function over files and directories
 * given on the command line, so the ordinary test build replays each seed
 * corpus (and any crash file kept beside it) without libFuzzer. A target
 * that defines fuzz_input_accepted() also has its verdicts checked: every
 * seed named valid-* must be accepted (a replay of inputs all refused
 * proves nothing about the parser's success path), and there must be one.
 */
#include <dirent.h>
#include <libgen.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* Whether the last input was accepted; defined by targets with verdicts. */
bool fuzz_input_accepted(void) __attribute__((weak));

#define REPLAY_VALID_PREFIX "valid-"

static unsigned valid_seeds;

static int replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *data;
	long n;

	if (!f) {
		perror(path);
		return -1;
	}
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	data = malloc(n > 0 ? (size_t)n : 1);
	if (!data || fread(data, 1, (size_t)n, f) != (size_t)n) {
		fclose(f);
		free(data);
		return -1;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(data, (size_t)n);
	free(data);
	if (fuzz_input_accepted) {
		char copy[4096];
		bool valid;

		snprintf(copy, sizeof(copy), "%s", path);
		valid = strncmp(basename(copy), REPLAY_VALID_PREFIX,
				strlen(REPLAY_VALID_PREFIX)) == 0;
		valid_seeds += valid;
		if (valid && !fuzz_input_accepted()) {
			fprintf(stderr, "%s: a valid seed was refused\n", path);
			return -1;
		}
	}
	return 0;
}

static int replay_path(const char *path, unsigned *count)
{
	struct dirent *d;
	struct stat st;
	DIR *dir;
	int rc = 0;

	if (stat(path, &st) < 0) {
		perror(path);
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		(*count)++;
		return replay_file(path);
	}
	dir = opendir(path);
	while (dir && (d = readdir(dir)) != NULL) {
		char child[4096];

		if (d->d_name[0] == '.')
			continue;
		snprintf(child, sizeof(child), "%s/%s", path, d->d_name);
		if (replay_path(child, count) < 0)
			rc = -1;
	}
	if (dir)
		closedir(dir);
	return rc;
}

int main(int argc, char **argv)
{
	unsigned count = 0;
	int i, rc = 0;

	for (i = 1; i < argc; i++)
		if (replay_path(argv[i], &count) < 0)
			rc = 1;
	printf("replayed %u inputs\n", count);
	if (fuzz_input_accepted) {
		printf("%u valid seeds, each accepted\n", valid_seeds);
		if (valid_seeds == 0) {
			fprintf(stderr, "no " REPLAY_VALID_PREFIX "* seed: the "
				"verdicts were never checked\n");
			rc = 1;
		}
	}
	return rc || count == 0;
}
