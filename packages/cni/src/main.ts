/**
 * containet-cni: the CNI plugin (CNI_COMMAND in the environment, the
 * configuration on stdin, a result or an error as JSON on stdout; SPEC.md
 * section 2), and `containet-cni reattach`, run by hand or at the switch's
 * start-up.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { reportError } from '@containet/common';
import { bundleIsCurrent } from '@containet/common/launcher';
import { add } from './commands/add.js';
import { check } from './commands/check.js';
import { del } from './commands/del.js';
import { gc } from './commands/gc.js';
import * as reattach from './commands/reattach.js';
import { status } from './commands/status.js';
import { errorVersion, parseNetConf, parseVersionOnly } from './config.js';
import { readEnvironment } from './environment.js';
import { warmUp } from './snapshot-warm-up.js';
import { CniError, CNI_ERR } from './errors.js';
import { LATEST_VERSION, SUPPORTED_VERSIONS } from './versions.js';

const PROG = 'containet-cni';

const HELP = `containet-cni: a CNI plugin that attaches containers to a containet switch.

As a CNI plugin (CNI spec ${SUPPORTED_VERSIONS.join(', ')}): run by a container
engine with CNI_COMMAND=ADD|DEL|CHECK|STATUS|GC|VERSION, CNI_CONTAINERID,
CNI_NETNS, CNI_IFNAME, CNI_PATH in the environment and the network
configuration on stdin, e.g.
  {"cniVersion": "1.0.0", "name": "cn", "type": "containet",
   "socket": "/run/containet.sock",
   "ipam": {"type": "host-local", "subnet": "10.88.0.0/24"}}

${reattach.help}`;

function write(obj: unknown): void {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
}

async function runCni(): Promise<number> {
  let input = '';
  let version = LATEST_VERSION;
  try {
    const env = readEnvironment();
    try {
      input = readFileSync(0, 'utf8');
    } catch (err) {
      throw new CniError(CNI_ERR.IO_FAILURE, 'cannot read the network configuration from stdin', (err as Error).message);
    }
    if (env.command === 'VERSION') {
      write({ cniVersion: parseVersionOnly(input) ?? LATEST_VERSION, supportedVersions: [...SUPPORTED_VERSIONS] });
      return 0;
    }
    const conf = parseNetConf(input);
    version = conf.cniVersion;
    switch (env.command) {
      case 'ADD':
        write(await add(env, conf));
        break;
      case 'DEL':
        await del(env, conf);
        break;
      case 'CHECK':
        await check(env, conf);
        break;
      case 'STATUS':
        await status(env, conf);
        break;
      case 'GC':
        await gc(env, conf);
        break;
    }
    return 0;
  } catch (err) {
    const v = errorVersion(input) ?? version;
    if (err instanceof CniError) {
      write(err.toResult(v));
      return 1;
    }
    // Not ours to classify: still the spec's error shape, code 999 as
    // libcni's own plugins use for unexpected failures.
    const e = err as Error;
    write({ cniVersion: v, code: 999, msg: e?.message ?? String(err), ...(e?.stack ? { details: e.stack.split('\n').slice(0, 3).join(' ') } : {}) });
    return 1;
  }
}

async function runReattach(args: string[]): Promise<number> {
  const opts = reattach.parseArgs(args);
  const out = await reattach.handler(opts);
  if (opts.json) write(out);
  else {
    for (const n of out.attached) process.stdout.write(`attached ${n}\n`);
    for (const f of out.failed) process.stderr.write(`${PROG}: ${f.node}: ${f.error}\n`);
  }
  return out.failed.length ? 1 : 0;
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  if (args[0] === 'reattach') return runReattach(args.slice(1));
  if (args[0] === '--help' || args[0] === 'help' || (args.length === 0 && !process.env['CNI_COMMAND'])) {
    process.stdout.write(`${HELP}\n`);
    return args.length === 0 ? 2 : 0;
  }
  if (args.length) {
    process.stderr.write(`${PROG}: unknown command ${JSON.stringify(args[0])}\n${PROG}: hint: run with CNI_COMMAND set, or \`${PROG} reattach\`\n`);
    return 2;
  }
  return runCni();
}

function run(): void {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.exitCode = reportError(PROG, err);
    },
  );
}

/**
 * node's exit status for a startup snapshot it cannot load (a blob of
 * another Node.js version: ExitCode::kStartupSnapshotFailure), on which
 * bin/containet-cni.cjs runs the plugin without the snapshot. A snapshot of
 * a bundle that is no longer current exits with it too.
 */
const SNAPSHOT_UNUSABLE = 14;

// scripts/bundle.mjs makes a V8 startup snapshot of the bundle (node
// --snapshot-blob B --build-snapshot BUNDLE): the modules, Node's built-ins
// among them (net, child_process, crypto), are then loaded and initialised
// before the process starts, which is most of what the plugin costs over
// `node -e 0`. While it is built, this names the function a run from it
// starts with and runs the steps of ADD and DEL once (snapshot-warm-up.ts).
// node:v8 is required only then (0.7 ms to load).
if (process.execArgv.includes('--build-snapshot')) {
  const inputs = fileURLToPath(new URL('../bundle/containet-cni.inputs.json', import.meta.url));
  const { startupSnapshot } = createRequire(import.meta.url)('node:v8') as typeof import('node:v8');
  startupSnapshot.setDeserializeMainFunction(() => {
    if (bundleIsCurrent(inputs)) run();
    else process.exitCode = SNAPSHOT_UNUSABLE;
  });
  // Node takes the snapshot when the event loop is empty, after this.
  void warmUp(inputs);
} else run();
