#!/bin/sh
true /*
# Read by sh up to its `exit`; to Node, `true` and a comment. Container
# engines run the plugin once per container and operation, so start-up is
# most of what it costs.
# - Node starts without NODE_EXTRA_CA_CERTS, which it would parse at every
#   start: the plugin never speaks TLS.
# - First from the bundle's V8 startup snapshot (scripts/bundle.mjs), when
#   there is one: the modules are initialised already. A blob made by
#   another Node.js, or of a bundle that is no longer current, ends with
#   status 14 before stdin is read, and the plugin runs again without it.
# - DEL: deleting a link waits for an RCU grace period in the kernel (15-30
#   ms), as long as Node takes to start, so the namespace helper deletes
#   the tap while Node starts; its output and status reach the plugin on
#   fd 3 (CONTAINET_CNI_DELETED_FD), which uses them in place of its own
#   run (packages/cni/src/netns-helper.ts).
# readlink (the one program forked first) finds the package from
# /opt/cni/bin's symbolic link; without it the plugin runs as Node finds it.
unset NODE_EXTRA_CA_CERTS
f=$0; [ -L "$f" ] && f=$(readlink -f -- "$f" 2>/dev/null || printf %s "$f")
d=${f%/*}
blob=$d/../dist/bundle/containet-cni.blob
plugin() {
  [ -r "$blob" ] && { node --snapshot-blob "$blob" "$f" "$@"; s=$?; [ $s -eq 14 ] || return $s; }
  node "$f" "$@"
}
helper=${CONTAINET_NATIVE_DIR:-$d/../../../native/build}/containet-cni-netns
if [ "$CNI_COMMAND" = DEL ] && [ -n "$CNI_NETNS" ] && [ -n "$CNI_IFNAME" ] && [ -x "$helper" ]; then
  exec 4<&0
  { "$helper" del "$CNI_NETNS" "$CNI_IFNAME" 2>&1; echo "exit $?"; } | { exec 3<&0 0<&4 4<&-; CONTAINET_CNI_DELETED_FD=3 plugin "$@"; }
  exit
fi
plugin "$@"
exit
*/
// Run by Node: the single-file bundle when it is current, else the ES
// modules it was made from (see packages/common/src/launcher.cts). The
// launcher is required by its path under this package's node_modules, not
// as '@containet/common/launcher': resolving a package's "exports" map
// costs 2-10 ms of every start (measured on the 2-core VM), a third of
// what the plugin may add.
require('../node_modules/@containet/common/dist/src/launcher.cjs').launch(`${__dirname}/../dist/bundle`, 'containet-cni', () => import('../dist/src/main.js'));
