#!/usr/bin/env -S -u NODE_EXTRA_CA_CERTS node
// Committed launcher: containode-oci's single-file bundle when it is
// current, else the ES modules it was made from (see
// packages/common/src/launcher.cts). Callers run one command at a time, so
// start-up is most of what a command costs. The runtime never speaks TLS,
// so the shebang spares Node parsing NODE_EXTRA_CA_CERTS at every start
// (85 ms for Debian's CA bundle on the reference machine); the container's
// environment comes from config.json and is not affected.
require('@containet/common/launcher').launch(`${__dirname}/../dist/bundle`, 'containode-oci', () => import('../dist/src/oci/main.js'));
