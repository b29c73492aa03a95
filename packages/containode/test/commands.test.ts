/**
 * containode's command modules called directly, as the commander adapter
 * calls them: handler(opts, args) with options already mapped.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ps from '../src/commands/ps.js';
import * as kill from '../src/commands/kill.js';
import * as stop from '../src/commands/stop.js';
import * as inspect from '../src/commands/inspect.js';
import * as exec from '../src/commands/exec.js';
import * as cleanup from '../src/commands/cleanup.js';
import * as run from '../src/commands/run.js';

const state = mkdtempSync(join(tmpdir(), 'cnode-cmds-'));
process.env['CONTAINET_STATE'] = state;
test.after(() => rmSync(state, { recursive: true, force: true }));

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (e) {
    return (e as { code?: string }).code;
  }
  return undefined;
}

test('every module has commandNames, help and handler(opts, args)', () => {
  for (const mod of [ps, kill, stop, inspect, exec, cleanup, run]) {
    assert.ok(mod.commandNames.length > 0);
    assert.type(mod.help, 'string');
    assert.type(mod.handler, 'function');
  }
});

test('handlers: listings, usage errors and unknown containers without the CLI', async () => {
  assert.is(await ps.handler({ json: true }, []), '[]\n');
  assert.match(await ps.handler({}, []), /^ID\s+PID\s+STATUS/);
  assert.is(await codeOf(kill.handler({}, ['x', 'NOSIG'])), 'CN_USAGE');
  assert.is(await codeOf(kill.handler({}, [])), 'CN_USAGE');
  assert.is(await codeOf(kill.handler({}, ['nobody'])), 'CN_NO_SUCH_CONTAINER');
  assert.is(await codeOf(inspect.handler({}, ['nobody'])), 'CN_NO_SUCH_CONTAINER');
  assert.is(await codeOf(stop.handler({ time: '-1' }, ['nobody'])), 'CN_USAGE');
  assert.is(await codeOf(exec.handler({}, ['nobody'])), 'CN_USAGE', 'exec needs a program');
  assert.is(await codeOf(cleanup.handler({ minAge: 'soon' }, [])), 'CN_USAGE');
});

test.run();
