/*
 * enclosure_layout.c: where each controller listens. As on the hardware,
 * each has its own address (A 127.0.0.2, B 127.0.0.3: Linux routes all of
 * 127/8 to loopback) and the family's standard ports, so scripts written
 * for the arrays work unchanged; when those ports can't be bound (not root,
 * or taken), a high-port layout that is printed at start. The partner
 * link has a port on each controller's address too (B listens on its own;
 * A's is kept free for the day A listens as well).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tool/enclosure.h"

static const char *const names[SVC_COUNT] = {
	"ftp", "ssh", "telnet", "sftp", "link", "http", "https",
};
static const uint16_t standard[SVC_COUNT] = {
	21, 22, 23, 1022, ENCLOSURE_LINK_PORT, 80, 443,
};

const char *enclosure_service_name(enum enclosure_service s)
{
	return names[s];
}

static int can_bind(const char *address, uint16_t port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons(port) };
	int fd, one = 1, ok;

	if (inet_pton(AF_INET, address, &sa.sin_addr) != 1)
		return 0;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	ok = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return ok;
}

void enclosure_layout_pick(struct enclosure_layout *l,
			   const char *const addresses[2], unsigned port_base)
{
	int c, s, all = port_base == 0;

	memset(l, 0, sizeof(*l));
	snprintf(l->address[0], sizeof(l->address[0]), "%s",
		 addresses ? addresses[0] : "127.0.0.2");
	snprintf(l->address[1], sizeof(l->address[1]), "%s",
		 addresses ? addresses[1] : "127.0.0.3");
	for (c = 0; c < 2 && all; c++)
		for (s = 0; s < SVC_COUNT; s++)
			if (!can_bind(l->address[c], standard[s]))
				all = 0;
	l->standard = all;
	if (port_base == 0)
		port_base = ENCLOSURE_HIGH_PORT_BASE;
	for (c = 0; c < 2; c++)
		for (s = 0; s < SVC_COUNT; s++)
			l->port[c][s] = all ? standard[s] :
				(uint16_t)(port_base + 1000 * c +
					   standard[s] % 1000 +
					   (s == SVC_SFTP ? 100 : 0));
}

void enclosure_layout_print(const struct enclosure_layout *l, bool link,
			    FILE *out)
{
	int s;

	fprintf(out, "%-12s %-22s %-22s\n", "", "controller A",
		"controller B");
	for (s = 0; s < SVC_COUNT; s++) {
		char a[32], b[32];

		snprintf(a, sizeof(a), "%s:%u", l->address[0], l->port[0][s]);
		snprintf(b, sizeof(b), "%s:%u", l->address[1], l->port[1][s]);
		if (s == SVC_LINK)
			snprintf(a, sizeof(a), "%s", link ? "dials B" :
				 "(not in this tandemd)");
		if (s == SVC_LINK && !link)
			snprintf(b, sizeof(b), "(not in this tandemd)");
		fprintf(out, "%-12s %-22s %-22s\n", names[s], a, b);
	}
	if (!l->standard)
		fprintf(out, "(not the family's standard ports: asked for, or "
			"they could not be bound here)\n");
}
