#!/usr/bin/env -S -u NODE_EXTRA_CA_CERTS CONTAINET_EXTRA_CA_CERTS=${NODE_EXTRA_CA_CERTS} node
// Committed launcher: mocker's single-file bundle when it is current, else
// the ES modules it was made from (see packages/common/src/launcher.cts).
// The shebang hands NODE_EXTRA_CA_CERTS to mocker under another name, so
// Node does not parse that file at every start; mocker reads it on its
// first HTTPS request (src/registry/trust.ts).
require('@containet/common/launcher').launch(`${__dirname}/../dist/bundle`, 'mocker', () => import('../dist/src/main.js'));
