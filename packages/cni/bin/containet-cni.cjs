#!/bin/sh
true //; unset NODE_EXTRA_CA_CERTS; exec node "$0" "$@"
// ^ Read by sh (builtins only, nothing forked), line 2 starts Node on this
// file without NODE_EXTRA_CA_CERTS, which Node would parse at every start:
// the plugin never speaks TLS. Read by Node, line 2 is `true` and a comment.
//
// Container engines run the plugin once per container and operation, so
// start-up is most of what it costs: its single-file bundle when it is
// current, else the ES modules it was made from (see
// packages/common/src/launcher.cts). The launcher is required by its path
// under this package's node_modules, not as '@containet/common/launcher':
// resolving a package's "exports" map costs 2-10 ms of every start
// (measured on the 2-core VM), a third of what the plugin may add.
require('../node_modules/@containet/common/dist/src/launcher.cjs').launch(`${__dirname}/../dist/bundle`, 'containet-cni', () => import('../dist/src/main.js'));
