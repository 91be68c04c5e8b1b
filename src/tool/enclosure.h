/*
 * enclosure.h: the simulated enclosure (`tandem enclosure`): a state
 * directory with both controllers' flash and config, and the supervisor
 * that runs each controller's loader as the hardware's power would.
 */
#ifndef TANDEM_TOOL_ENCLOSURE_H
#define TANDEM_TOOL_ENCLOSURE_H

#include <stdint.h>
#include <stdio.h>

#include "common/common.h"

#define ENCLOSURE_MODEL		"2324sa"
#define ENCLOSURE_DEFAULT_DIR	"tandem-enclosure"
#define ENCLOSURE_RESTART_DELAY	1	/* seconds before a power-on */
/* The high-port layout: base + 1000 x controller + port (SFTP + 100). */
#define ENCLOSURE_HIGH_PORT_BASE 20000
/* --port-base: the largest base whose B ports stay below 65536. */
#define ENCLOSURE_PORT_BASE_MAX	64000

/* The versions of one release the simulator makes. */
struct enclosure_release {
	const char *bundle, *mc, *sc, *ec;
};
extern const struct enclosure_release enclosure_factory;
extern const struct enclosure_release enclosure_update;

/* Services a controller serves today; HTTP and the partner link join
 * them when they exist. */
enum enclosure_service {
	SVC_FTP, SVC_SSH, SVC_TELNET, SVC_SFTP, SVC_COUNT,
};

struct enclosure_layout {
	char address[2][16];			/* A, B */
	uint16_t port[2][SVC_COUNT];
	int standard;				/* the family's ports */
};

/* enclosure_init.c */
int enclosure_init(const char *dir, struct err *e);

/* enclosure_layout.c */
/*
 * addresses: NULL for A 127.0.0.2 and B 127.0.0.3, else the two given;
 * port_base: 0 for the family's ports when they can be bound (else the
 * high-port layout), or the base of a high-port layout to use.
 */
void enclosure_layout_pick(struct enclosure_layout *l,
			   const char *const addresses[2], unsigned port_base);
void enclosure_layout_print(const struct enclosure_layout *l, FILE *out);
const char *enclosure_service_name(enum enclosure_service s);

#endif
