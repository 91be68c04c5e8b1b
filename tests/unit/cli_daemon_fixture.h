/*
 * cli_daemon_fixture.h: tandemd's own CLI backend (src/daemon/backend.c)
 * over a controller opened on a scratch state directory, for the golden
 * tests. Only the clock, the serials and the events' times are fixture
 * data, so that a golden does not change from run to run; every value
 * else is what tandemd would answer.
 */
#ifndef TANDEM_CLI_DAEMON_FIXTURE_H
#define TANDEM_CLI_DAEMON_FIXTURE_H

#include "daemon/controller.h"

/* Fixture data, not the product's. */
#define CLI_FIXTURE_NOW		1622627486	/* 2021-06-02 09:51:26 UTC */
#define CLI_FIXTURE_SERIAL	"FIXTURE-A-0001"
#define CLI_FIXTURE_MIDPLANE	"FIXTURE-MIDPLANE-01"
/* The bundle the fixture's controller runs. */
#define CLI_FIXTURE_BUNDLE	"TS250P003"
/* The nth newest event (from 1) is dated NOW - n * STEP. */
#define CLI_FIXTURE_EVENT_STEP	60

struct cli_daemon_fixture {
	char dir[64];
	struct controller controller;
};

/* controller_cli_backend with the fixture's clock and event times. */
extern const struct cli_backend *cli_daemon_fixture_ops(void);
/* Opens controller A on a copy of the state a started, loaded and
 * restarted controller left (cli_daemon_fixture.c). */
void cli_daemon_fixture_open(struct cli_daemon_fixture *f);
void cli_daemon_fixture_close(struct cli_daemon_fixture *f);
/* Loads a fixture bundle of that version (a "TSnnn..." string) on c
 * through its update engine, files made in dir; a new version then runs
 * on trial, restart pending. */
void cli_daemon_fixture_load(struct controller *c, const char *dir,
			     const char *version);

#endif
