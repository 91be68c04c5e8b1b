/*
 * version.c: the family's bundle version strings, e.g. TS250P003, M112R14-02,
 * GL222R061, IN210P003: letters, digits, R (release) or P (patch), digits,
 * and an optional -NN customer build. Comparison is by these fields; it
 * says nothing about whether an update is allowed (the flash store decides).
 */
#include <ctype.h>
#include <string.h>

#include "bundle/bundle.h"

struct version_parts {
	char family[BUNDLE_VERSION_MAX];
	unsigned long major;
	char kind;		/* 'R' or 'P' */
	unsigned long build;
	unsigned long customer;
};

static bool digits(const char **p, unsigned long *out)
{
	unsigned long v = 0;
	const char *s = *p;

	if (!isdigit((unsigned char)*s))
		return false;
	while (isdigit((unsigned char)*s)) {
		if (v > 100000000UL)
			return false;
		v = v * 10 + (unsigned long)(*s - '0');
		s++;
	}
	*p = s;
	*out = v;
	return true;
}

static bool version_split(const char *v, struct version_parts *vp)
{
	const char *s = v;
	size_t n = 0;

	memset(vp, 0, sizeof(*vp));
	if (strlen(v) >= BUNDLE_VERSION_MAX)
		return false;
	while (isupper((unsigned char)*s))
		vp->family[n++] = *s++;
	if (n == 0 || !digits(&s, &vp->major))
		return false;
	if (*s != 'R' && *s != 'P')
		return false;
	vp->kind = *s++;
	if (!digits(&s, &vp->build))
		return false;
	if (*s == '-') {
		s++;
		if (!digits(&s, &vp->customer))
			return false;
	}
	return *s == '\0';
}

bool bundle_version_valid(const char *v)
{
	struct version_parts vp;

	return version_split(v, &vp);
}

/*
 * <0, 0, >0 like strcmp. Versions of different families, or strings that
 * are not family versions, compare as plain strings so the order is total.
 */
int bundle_version_compare(const char *a, const char *b)
{
	struct version_parts pa, pb;
	int c;

	if (!version_split(a, &pa) || !version_split(b, &pb))
		return strcmp(a, b);
	c = strcmp(pa.family, pb.family);
	if (c)
		return c;
	if (pa.major != pb.major)
		return pa.major < pb.major ? -1 : 1;
	if (pa.build != pb.build)
		return pa.build < pb.build ? -1 : 1;
	/* A release and a patch with the same numbers: the patch is later. */
	if (pa.kind != pb.kind)
		return pa.kind == 'R' ? -1 : 1;
	if (pa.customer != pb.customer)
		return pa.customer < pb.customer ? -1 : 1;
	return 0;
}
