#!/bin/sh
true //; export CONTAINET_EXTRA_CA_CERTS="${NODE_EXTRA_CA_CERTS-}"; unset NODE_EXTRA_CA_CERTS; exec node --use-openssl-ca "$0" "$@"
// ^ Read by sh (builtins only, nothing forked), line 2 starts Node on this
// file without NODE_EXTRA_CA_CERTS, which Node would parse at every start
// (85 ms for Debian's CA bundle); mocker gets the file under another name
// and reads it on its first HTTPS request (src/registry/trust.ts).
// --use-openssl-ca: registries are checked against the system's CA store,
// looked up lazily, instead of Node's 140 roots parsed at the first TLS
// context (30-45 ms); trust.ts says which store. Read by
// Node, line 2 is `true` and a comment. An `env -S` shebang would do the
// same, but npm's and pnpm's bin shims cannot parse one.
//
// Then: mocker's single-file bundle when it is current, else the ES modules
// it was made from (see packages/common/src/launcher.cts). The launcher is
// required by its path under this package's node_modules, not as
// '@containet/common/launcher': resolving a package's "exports" map cost
// 2-17 ms of every start (the CPU profile's resolvePackageTargetString).
require('../node_modules/@containet/common/dist/src/launcher.cjs').launch(`${__dirname}/../dist/bundle`, 'mocker', () => import('../dist/src/main.js'));
