#!/bin/sh
true //; unset NODE_EXTRA_CA_CERTS; f=$0; [ -L "$f" ] && f=$(readlink -f -- "$f"); b=${f%/*}/../dist/bundle/containet-cni.blob; [ -r "$b" ] && { node --snapshot-blob "$b" "$f" "$@"; s=$?; [ $s -eq 14 ] || exit $s; }; exec node "$f" "$@"
// ^ Read by sh, line 2 starts Node on this file without NODE_EXTRA_CA_CERTS,
// which Node would parse at every start: the plugin never speaks TLS. First
// from the bundle's V8 startup snapshot (scripts/bundle.mjs), when there is
// one: the modules are initialised already. A blob made by another Node.js,
// or of a bundle that is no longer current, ends with status 14 before
// stdin is read, and the plugin runs again without it. readlink (the one
// program forked) finds the package from /opt/cni/bin's symbolic link. Read
// by Node, line 2 is `true` and a comment.
//
// Container engines run the plugin once per container and operation, so
// start-up is most of what it costs: its single-file bundle when it is
// current, else the ES modules it was made from (see
// packages/common/src/launcher.cts). The launcher is required by its path
// under this package's node_modules, not as '@containet/common/launcher':
// resolving a package's "exports" map costs 2-10 ms of every start
// (measured on the 2-core VM), a third of what the plugin may add.
require('../node_modules/@containet/common/dist/src/launcher.cjs').launch(`${__dirname}/../dist/bundle`, 'containet-cni', () => import('../dist/src/main.js'));
