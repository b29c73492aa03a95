#!/bin/sh
true //; unset NODE_EXTRA_CA_CERTS; exec node "$0" "$@"
// ^ Read by sh (builtins only, nothing forked), line 2 starts Node on this
// file without NODE_EXTRA_CA_CERTS, which Node would parse at every start:
// the plugin never speaks TLS. Read by Node, line 2 is `true` and a comment.
//
// Container engines run the plugin once per container and operation, so
// start-up is most of what it costs: its single-file bundle when it is
// current, else the ES modules it was made from (see
// packages/common/src/launcher.cts).
require('@containet/common/launcher').launch(`${__dirname}/../dist/bundle`, 'containet-cni', () => import('../dist/src/main.js'));
