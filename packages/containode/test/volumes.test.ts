/** -v values as parseVolume reads them: options, normalised paths, the spawner's mount line. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseVolume, parseVolumes, volumeMounts } from '../src/container/volumes.js';

test('defaults: rw, rprivate, an rbind; the container path normalised', () => {
  const v = parseVolume('/srv/data/:/data//x/');
  assert.equal(v, { source: '/srv/data', destination: '/data/x', readonly: false, propagation: 'rprivate' });
  assert.equal(volumeMounts([v], false), [{ source: '/srv/data', destination: '/data/x', type: 'bind', options: ['rbind', 'rw', 'rprivate'] }]);
  // On the host's own files the spawner must not make a missing mount point.
  assert.equal(volumeMounts([v], true)[0]!.options, ['rbind', 'rw', 'rprivate', 'nocreate']);
});

test('ro and a propagation, in either order', () => {
  assert.equal(parseVolume('/a:/b:rslave,ro'), { source: '/a', destination: '/b', readonly: true, propagation: 'rslave' });
  assert.equal(parseVolume('/a:/b:ro,shared').propagation, 'shared');
});

test('refusals carry exit status 2', () => {
  for (const bad of ['a:/b', '/a:b', 'vol:/b', 'vol', '/a', '/a:/proc', '/a:/sys/x', '/a:/../proc/x', '/a:/b:z', '/a:/b:nocopy', '/a:/b:rw,ro', '/a:/b:slave,shared', '/a:/b:ro:x']) {
    assert.throws(() => parseVolume(bad), (e: { exitCode?: number }) => e.exitCode === 2, bad);
  }
  assert.throws(() => parseVolumes(['/a:/b', '/c:/b/']), /two volumes/);
});

test.run();
