/*
 * registry_fixture: the registry fixture (test/fixtures/registry.sh) of the
 * suites that pull images (test_images, test_pause_image). A suite starts it
 * once, in a temporary directory of its own, before its daemon: plain HTTP,
 * TLS with the fixture's CA, htpasswd basic auth and a bad registry, all on
 * 127.0.0.1. What the script made is read from the KEY=VALUE lines it writes
 * to DIR/env (addresses, credentials, image ids and digests, each named
 * CK_FX_<KEY>) and kept here until the suite stops the fixture: one fixture
 * per process.
 */
#ifndef CK_CRITEST_REGISTRY_FIXTURE_H
#define CK_CRITEST_REGISTRY_FIXTURE_H

/* Starts the registries and reads their facts. 0, or -1 with the reason on
 * stderr (the script's own output goes there too). */
int crit_registry_start(void);
/* Stops everything start started and removes the directory. */
void crit_registry_stop(void);
/* The fixture's directory, where a suite may keep files of its own. */
const char *crit_registry_dir(void);
/* A fact of the fixture: crit_fx("PLAIN") is the plain registry's host:port
 * (CK_FX_PLAIN). A key the fixture did not write fails the test. */
const char *crit_fx(const char *key);

#endif
