/**
 * `features` (runtime-spec features.md, features-linux.md; `runc features`):
 * what this runtime implements, for callers such as containerd that ask
 * before they build a config. It describes the runtime, not the host: a
 * namespace listed here may still be missing from a given kernel.
 */
import { CAPABILITY_NAMES } from '../limits/capabilities.js';
import { seccompFeatures } from '../security/seccomp.js';
import { RUNTIME_VERSION } from './store.js';

/** The options the spawner's mount table recognises (native/src/bin/containode-spawn/mounts.c); others go to the file system as data. */
const MOUNT_OPTIONS = [
  'defaults', 'ro', 'rw', 'nosuid', 'suid', 'nodev', 'dev', 'noexec', 'exec', 'sync', 'async', 'dirsync',
  'remount', 'mand', 'nomand', 'atime', 'noatime', 'diratime', 'nodiratime', 'relatime', 'norelatime',
  'strictatime', 'nostrictatime', 'bind', 'rbind', 'private', 'rprivate', 'slave', 'rslave', 'shared',
  'rshared', 'unbindable', 'runbindable', 'tmpcopyup', 'notmpcopyup', 'copy-symlink',
];

export function features(): Record<string, unknown> {
  return {
    // Any 1.x config is read; fields this runtime does not know are reported, never silently ignored.
    ociVersionMin: '1.0.0',
    ociVersionMax: '1.1.0',
    hooks: ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop'],
    mountOptions: MOUNT_OPTIONS,
    linux: {
      namespaces: ['cgroup', 'ipc', 'mount', 'network', 'pid', 'user', 'uts'],
      capabilities: CAPABILITY_NAMES,
      cgroup: { v1: true, v2: true, systemd: false, systemdUser: false, rdma: false },
      seccomp: seccompFeatures(),
      apparmor: { enabled: false },
      selinux: { enabled: false },
      intelRdt: { enabled: false },
      mountExtensions: { idmap: { enabled: false } },
    },
    annotations: { 'io.github.containet.containode-oci.version': RUNTIME_VERSION },
  };
}
