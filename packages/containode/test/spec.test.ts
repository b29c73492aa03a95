/** Unit tests: the spec wire format and containode's option checks. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { serializeSpec, parseRunOptions } from '@containet/containode';

test('serializeSpec writes one escaped directive per line, ending with end', () => {
  const text = serializeSpec({
    namespaces: { pid: true, net: '/var/run/netns/x y', user: true },
    uidMappings: [{ containerID: 0, hostID: 100000, size: 65536 }],
    gidMappings: [{ containerID: 0, hostID: 100000, size: 65536 }],
    setgroups: 'deny',
    hostname: 'h',
    rootfs: { path: '/r', readonly: true, overlay: { lower: ['/a', '/b'], upper: '/u', work: '/w' } },
    mounts: [{ source: 'tmpfs', destination: '/t', type: 'tmpfs', options: ['nosuid', 'size=1m'] }, { source: '', destination: '/e', type: '', options: [] }],
    devices: [{ path: '/dev/x', type: 'c', major: 1, minor: 3, fileMode: 0o640 }],
    network: { taps: [{ ifname: 'eth0', mac: '02:00:00:00:00:01', addresses: ['10.0.0.2/24'] }], routes: [{ ifname: 'eth0', gateway: '10.0.0.1' }] },
    process: {
      args: ['sh', '-c', 'echo "a\tb"\necho \\'],
      env: ['A=1'],
      capabilities: { bounding: ['CAP_CHOWN', 13] },
      rlimits: [{ type: 'RLIMIT_NOFILE', soft: 10, hard: 'unlimited' }],
      umask: 0o22,
    },
    cleanup: { unlink: ['/rec'], rmdir: ['/cg'] },
  });
  const lines = text.split('\n');
  assert.is(lines[0], 'version\t1');
  assert.ok(lines.includes('ns\tuser\tnew'));
  assert.ok(lines.includes('ns\tnet\tpath\t/var/run/netns/x y'));
  assert.ok(lines.indexOf('setgroups\tdeny') < lines.indexOf('gidmap\t0\t100000\t65536'), 'setgroups before gid_map');
  assert.ok(lines.includes('overlay\t/a:/b\t/u\t/w'));
  assert.ok(lines.includes('rootfs_readonly'));
  assert.ok(lines.includes('mount\ttmpfs\t/t\ttmpfs\tnosuid,size=1m'));
  assert.ok(lines.includes('mount\t-\t/e\t-\t-'), 'empty fields are -');
  assert.ok(lines.includes('device\t/dev/x\tc\t1\t3\t640\t0\t0'));
  assert.ok(lines.includes('tap\teth0\t02:00:00:00:00:01\t0'));
  assert.ok(lines.includes('route\teth0\t10.0.0.1'));
  assert.ok(lines.includes('cap\tbounding\tCAP_CHOWN,13'));
  assert.ok(lines.includes('cap\tambient\t'), 'every set is written when capabilities are given');
  assert.ok(lines.includes('rlimit\tRLIMIT_NOFILE\t10\tunlimited'));
  assert.ok(lines.includes('umask\t22'));
  assert.ok(lines.includes('arg\techo "a\\tb"\\necho \\\\'), 'tab, newline and backslash escaped');
  assert.ok(lines.indexOf('cleanup_unlink\t/rec') < lines.indexOf('cleanup_rmdir\t/cg'));
  assert.is(lines.at(-2), 'end');
  assert.is(lines.at(-1), '');
});

test('run options: addresses, gateways, defaults and their errors', () => {
  const o = parseRunOptions({ socket: '/tmp/s.sock', ipv4: '10.1.2.3', ipv6: ['fd00::2/64'], gateway: ['10.0.0.1'], identity: 'web', env: ['PATH=/x', 'A=b=c'] }, ['sh']);
  assert.equal(o.interfaces.map((i) => [i.ifname, i.addresses]), [['eth0', ['10.1.2.3/8', 'fd00::2/64']]], 'classful /8 for 10.x without a mask');
  assert.equal(o.routes, [{ ifname: 'eth0', gateway: '10.0.0.1' }]);
  assert.is(o.id, 'web');
  assert.ok(o.env.includes('PATH=/x') && !o.env.some((e) => e.startsWith('PATH=/usr')), '-e overrides a default');
  assert.ok(o.env.includes('HOSTNAME=web') && o.env.includes('HOME=/root') && o.env.includes('A=b=c'));
  assert.ok(o.newNet && o.newIpc);
  assert.match(parseRunOptions({}, ['true']).id, /^[0-9A-Za-z]{11}$/);
  const bad: [Record<string, unknown>, string[], RegExp][] = [
    [{}, [], /no program given/],
    [{ ipv4: '10.0.0.1' }, ['x'], /-4 needs -s/],
    [{ socket: '/s', ipv4: '10.0.0.300' }, ['x'], /invalid IPv4 address/],
    [{ socket: '/s', ipv4: '10.0.0.1/33' }, ['x'], /invalid IPv4 prefix/],
    [{ socket: '/s', ipv4: '10.0.0.1/24', gateway: ['fd00::1'] }, ['x'], /needs an IPv6 \(-6\) address/],
    [{ socket: '/s', net: false }, ['x'], /-N .* cannot be combined with -s/],
    [{ gateway: ['10.0.0.1'] }, ['x'], /-g needs -s/],
    [{ top: '/tmp/t' }, ['x'], /-t needs -r/],
    [{ root: '/nonexistent-root-dir' }, ['x'], /is not a directory/],
    [{ root: '/tmp', top: '/tmp/inside' }, ['x'], /must be outside the root/],
    [{ identity: '-bad' }, ['x'], /invalid identity/],
    [{ env: ['=x'] }, ['x'], /invalid -e/],
    [{ workdir: 'relative' }, ['x'], /absolute path/],
  ];
  for (const [raw, args, msg] of bad) {
    assert.throws(() => parseRunOptions(raw, args), (e: Error & { code?: string; exitCode?: number }) => msg.test(e.message) && e.code === 'CN_USAGE' && e.exitCode === 2, `${JSON.stringify(raw)} -> ${msg}`);
  }
});

test.run();
