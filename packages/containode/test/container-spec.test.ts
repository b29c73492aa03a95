/**
 * One spec path for both commands: containode's options and an OCI
 * config.json are each mapped by their command, then newContainerSpec adds
 * the same cgroup and eth0 lines to both.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { newContainerSpec } from '../src/container/container-spec.js';
import { buildSpec } from '../src/container/launch.js';
import { parseRunOptions } from '../src/container/options.js';
import { ContainerStore } from '../src/container/state.js';
import { loadBundle, toContainerSpec } from '../src/oci/config.js';
import { serializeSpec } from '../src/runtime/spec.js';

const cgroup = { procsFiles: ['/sys/fs/cgroup/pids/x/cgroup.procs', '/sys/fs/cgroup/unified/x/cgroup.procs'] };
const network = { taps: [{ ifname: 'eth0', mac: '02:00:00:00:00:01', addresses: ['10.9.0.2/24'] }], routes: [{ ifname: 'eth0', gateway: '10.9.0.1' }] };

/** The spawner lines newContainerSpec is responsible for. */
function engineLines(text: string): string[] {
  return text.split('\n').filter((l) => /^(cgroup_procs|tap|addr|route)\t/.test(l));
}

test('containode options and an OCI config go through the same newContainerSpec', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cnode-newspec-'));
  try {
    const opts = parseRunOptions({ socket: '/tmp/sw.sock', ipv4: '10.9.0.2/24', gateway: ['10.9.0.1'], identity: 'newspec' }, ['sh']);
    const fromFlags = newContainerSpec({ spec: buildSpec(opts, new ContainerStore(dir)), cgroup, network, confinement: { privileged: false } });

    mkdirSync(join(dir, 'rootfs'));
    writeFileSync(join(dir, 'config.json'), JSON.stringify({
      ociVersion: '1.0.2',
      root: { path: 'rootfs' },
      process: { user: { uid: 0, gid: 0 }, args: ['sh'], cwd: '/' },
      linux: { namespaces: [{ type: 'mount' }, { type: 'network' }, { type: 'pid' }] },
    }));
    const ociSpec = toContainerSpec(loadBundle(dir), { detached: true, warn: () => {} });
    const fromConfig = newContainerSpec({ spec: ociSpec, cgroup, network });

    const expected = [
      'cgroup_procs\t/sys/fs/cgroup/pids/x/cgroup.procs',
      'cgroup_procs\t/sys/fs/cgroup/unified/x/cgroup.procs',
      'tap\teth0\t02:00:00:00:00:01\t0',
      'addr\teth0\t10.9.0.2/24',
      'route\teth0\t10.9.0.1',
    ];
    assert.equal(engineLines(serializeSpec(fromFlags)), expected);
    assert.equal(engineLines(serializeSpec(fromConfig)), expected);
    assert.is(ociSpec.network, undefined, 'the input spec is left as it was');
    assert.throws(() => newContainerSpec({ spec: { namespaces: { mount: true }, process: { args: ['sh'], env: [] } }, network, confinement: { privileged: false } }), /network namespace/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
