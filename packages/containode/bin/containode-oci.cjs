#!/usr/bin/env node
// Committed launcher: containode-oci's single-file bundle when it is
// current, else the ES modules it was made from (see
// packages/common/src/launcher.cts). Callers run one command at a time, so
// start-up is most of what a command costs.
require('@containet/common/launcher').launch(`${__dirname}/../dist/bundle`, 'containode-oci', () => import('../dist/src/oci/main.js'));
