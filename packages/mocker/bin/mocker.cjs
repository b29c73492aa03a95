#!/usr/bin/env node
// Committed launcher: mocker's single-file bundle when it is current, else
// the ES modules it was made from (see packages/common/src/launcher.cts).
require('@containet/common/launcher').launch(`${__dirname}/../dist/bundle`, 'mocker', () => import('../dist/src/main.js'));
