#!/bin/sh
true //; unset NODE_EXTRA_CA_CERTS; exec node "$0" "$@"
// ^ Read by sh (builtins only, nothing forked), line 2 starts Node on this
// file without NODE_EXTRA_CA_CERTS, which Node would parse at every start
// (85 ms for Debian's CA bundle): the runtime never speaks TLS, and the
// container's environment comes from config.json. Read by Node, line 2 is
// `true` and a comment. An `env -S` shebang would do the same, but npm's
// and pnpm's bin shims cannot parse one.
//
// Then: containode-oci's single-file bundle when it is current, else the ES
// modules it was made from (see packages/common/src/launcher.cts). Callers
// run one command at a time, so start-up is most of what a command costs.
require('@containet/common/launcher').launch(`${__dirname}/../dist/bundle`, 'containode-oci', () => import('../dist/src/oci/main.js'));
