/**
 * What the examples, the demo and the network benchmark share: the suite's
 * commands, a teardown stack that also runs on Ctrl-C, a switch, containers,
 * and a shell inside a container driven over its stdin.
 *
 * Everything started here is a child of this process and is ended by its pid;
 * every file and namespace made here is removed by the teardown stack.
 */
import { spawn, execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';

export const REPO = fileURLToPath(new URL('../..', import.meta.url));

/**
 * argv for one of the suite's commands: the launcher in this checkout, run by
 * this node, so a checkout works without `scripts/setup.sh` having linked the
 * commands into /usr/local/bin.
 */
export function suiteCommand(name, args = []) {
  // The short-lived CLIs (mocker, containode-oci) have CommonJS launchers.
  const launcher = [`${name}.js`, `${name}.cjs`].map((f) => join(REPO, 'packages', name, 'bin', f)).find((f) => existsSync(f));
  if (!launcher) throw new Error(`packages/${name}/bin/${name}.js is missing: run this from a containet checkout`);
  if (!existsSync(join(REPO, 'packages', name, 'dist', 'src'))) {
    throw new Error(`${name} is not built: run \`pnpm build\` (or \`bash scripts/setup.sh\`) first`);
  }
  return [process.execPath, [launcher, ...args]];
}

export function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

/** A deadline to race against: it never keeps the process alive by itself. */
function deadline(ms) {
  return new Promise((r) => setTimeout(r, ms).unref()).then(() => null);
}

/** A short random tag that keeps concurrent runs apart (names, identities). */
export function runTag() {
  return `${process.pid.toString(36)}${randomBytes(2).toString('hex')}`;
}

/** Run a program to completion: { code, stdout, stderr }; rejects only if it could not start. */
export function runProgram(file, args, { timeoutMs = 60_000, input } = {}) {
  return new Promise((resolve, reject) => {
    const child = execFile(file, args, { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err && typeof err.code === 'string') return reject(err);
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout: String(stdout), stderr: String(stderr) });
    });
    if (input !== undefined) child.stdin.end(input);
  });
}

/** Run a program that must succeed; returns its stdout. */
export async function must(file, ...args) {
  const r = await runProgram(file, args);
  if (r.code !== 0) throw new Error(`${file} ${args.join(' ')} failed (exit ${r.code}): ${r.stderr.trim()}`);
  return r.stdout;
}

export function hasCommand(name) {
  return (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin')
    .split(':')
    .some((dir) => dir && existsSync(join(dir, name)));
}

/**
 * A teardown stack for one run. Every resource is registered right after it
 * is made; close() releases them newest first, each even if another failed,
 * and is safe to call twice. With trapSignals(), SIGINT/SIGTERM/SIGHUP run
 * it before the process exits with 128+N, so Ctrl-C leaves nothing behind.
 */
export class Lab {
  #undo = [];
  #closing = null;
  #log;

  constructor({ log = (line) => process.stderr.write(`${line}\n`) } = {}) {
    this.#log = log;
  }

  defer(what, fn) {
    this.assertOpen(what);
    this.#undo.push({ what, fn });
  }

  /** Throws once teardown has begun, so nothing new is made that it would miss. */
  assertOpen(what) {
    if (this.#closing) throw new Error(`${this.interrupted ? `interrupted by ${this.interrupted}` : 'torn down'}: not starting ${what}`);
  }

  /** The signal that started teardown, if one did. */
  interrupted = null;

  trapSignals() {
    const onSignal = (signal) => {
      // A second Ctrl-C must not cut the teardown short: it stays handled.
      if (this.interrupted) return this.#log(`*** ${signal}: still tearing down`);
      const n = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 }[signal];
      this.interrupted = signal;
      this.#log(`\n*** ${signal}: tearing down`);
      this.close().finally(() => process.exit(128 + n));
    };
    for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(s, onSignal);
    // A reader that went away (`| head`) must not end the run before teardown.
    for (const stream of [process.stdout, process.stderr]) stream.on('error', () => {});
    process.once('uncaughtException', (err) => {
      this.#log(`${err.message}: tearing down`);
      this.close().finally(() => process.exit(1));
    });
    return this;
  }

  close() {
    this.#closing ??= (async () => {
      const failures = [];
      while (this.#undo.length) {
        const { what, fn } = this.#undo.pop();
        try {
          await fn();
        } catch (err) {
          failures.push(`${what}: ${err.message}`);
        }
      }
      for (const f of failures) this.#log(`teardown: ${f}`);
      return failures.length === 0;
    })();
    return this.#closing;
  }

  /**
   * Make a resource with `create` (async) and register `release(value)`.
   * If teardown began while `create` ran, the resource is released at once
   * and the call throws, so teardown never misses it.
   */
  async acquire(what, create, release) {
    this.assertOpen(what);
    const value = await create();
    try {
      this.defer(what, () => release(value));
    } catch (err) {
      await release(value);
      throw err;
    }
    return value;
  }

  /** A private temporary directory, removed at teardown. */
  tempDir(prefix) {
    return this.acquire(
      `temporary directory ${prefix}`,
      () => mkdtemp(join(tmpdir(), prefix)),
      (dir) => rm(dir, { recursive: true, force: true }),
    );
  }

  /**
   * Start a long-running child. At teardown its stdin is closed, then it gets
   * SIGTERM and, after `graceMs`, SIGKILL; teardown waits until it is gone.
   */
  start(file, args, { stdin = 'ignore', stdout = 'pipe', stderr = 'pipe', graceMs = 3000, label = file, group = false } = {}) {
    // group: the child leads a process group of its own, and teardown signals
    // the whole group (e.g. a shell and the command it is running).
    this.assertOpen(label);
    const child = spawn(file, args, { stdio: [stdin, stdout, stderr], detached: group });
    child.group = group;
    const exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => resolve({ code, signal }));
      child.once('error', (err) => resolve({ code: null, signal: null, error: err }));
    });
    child.exited = exited;
    child.label = label;
    // Output kept for error messages (bounded: the last 16 KiB of each).
    child.tail = { stdout: '', stderr: '' };
    for (const name of ['stdout', 'stderr']) {
      child[name]?.on('data', (b) => {
        child.tail[name] = (child.tail[name] + b.toString()).slice(-16384);
      });
    }
    this.defer(`stop ${label} (pid ${child.pid})`, () => stopChild(child, graceMs));
    return child;
  }
}

/**
 * End a child we started, by its pid (its process group's id when it leads
 * one), and wait for it: stdin closed first, then SIGTERM, then SIGKILL.
 */
export async function stopChild(child, graceMs = 3000) {
  if (child.pid === undefined) return child.exited;
  const signal = (sig) => {
    try {
      process.kill(child.group ? -child.pid : child.pid, sig);
    } catch {}
  };
  if (child.exitCode === null && child.signalCode === null) {
    child.stdin?.end();
    const quit = await Promise.race([child.exited, deadline(Math.min(500, graceMs))]);
    if (!quit) {
      signal('SIGTERM');
      const termed = await Promise.race([child.exited, deadline(graceMs)]);
      if (!termed) signal('SIGKILL');
    }
  }
  // What the leader left running in its group (a shell's last command).
  if (child.group) signal('SIGKILL');
  return child.exited;
}

/** Resolve when `probe` returns truthy; throw `what` after `timeoutMs`. */
export async function waitUntil(probe, what, timeoutMs = 10_000, everyMs = 50) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** Wait for a child to print `pattern` on one of its streams, or fail if it exits first. */
export function waitForOutput(child, pattern, timeoutMs = 10_000) {
  return new Promise((resolve, reject) => {
    const check = () => {
      const text = child.tail.stdout + child.tail.stderr;
      if (pattern.test(text)) finish(null);
    };
    const onExit = () => finish(new Error(`${child.label} exited before it was ready: ${lastLines(child)}`));
    const timer = setTimeout(() => finish(new Error(`${child.label} not ready after ${timeoutMs / 1000} s: ${lastLines(child)}`)), timeoutMs);
    const finish = (err) => {
      clearTimeout(timer);
      child.stdout?.off('data', check);
      child.stderr?.off('data', check);
      child.off('exit', onExit);
      if (err) reject(err);
      else resolve();
    };
    child.stdout?.on('data', check);
    child.stderr?.on('data', check);
    child.once('exit', onExit);
    check();
  });
}

export function lastLines(child, n = 3) {
  const text = `${child.tail.stderr}\n${child.tail.stdout}`.trim();
  return text === '' ? '(no output)' : text.split('\n').slice(-n).join(' | ');
}

/**
 * Start a containet switch on `socket` and wait until it answers `status`.
 */
export async function startSwitch(lab, socket, extraArgs = []) {
  const [file, args] = suiteCommand('containet', ['-s', socket, ...extraArgs]);
  const child = lab.start(file, args, { label: 'containet' });
  lab.defer(`rm ${socket}`, () => rm(socket, { force: true }));
  const [sfile, sargs] = suiteCommand('containet', ['status', '-s', socket]);
  await waitUntil(
    async () => {
      if (child.exitCode !== null) throw new Error(`containet exited ${child.exitCode}: ${lastLines(child)}`);
      return existsSync(socket) && (await runProgram(sfile, sargs, { timeoutMs: 5000 })).code === 0;
    },
    `containet to listen on ${socket}`,
  );
  return child;
}

/**
 * Start a container with containode: `containode -i ID -s SOCKET -4 ADDR -- PROGRAM...`.
 * Without -r it sees the host's filesystem, so host programs (ping, iperf3) run in it.
 */
export function startContainer(lab, { socket, address, id, program, extra = [], stdin = 'pipe' }) {
  const argv = [];
  if (id) argv.push('-i', id);
  if (socket) argv.push('-s', socket);
  if (address) argv.push('-4', address);
  argv.push(...extra, '--', ...program);
  const [file, args] = suiteCommand('containode', argv);
  return lab.start(file, args, { stdin, label: `containode ${id ?? address ?? ''}`.trim() });
}

/**
 * A POSIX shell reading commands from its stdin (a pipe), as a person would
 * type them in a terminal. run() sends one command line, then an echo of a
 * unique marker with the exit status, and resolves with the output before it.
 */
export class Shell {
  #child;
  #queue = Promise.resolve();
  #buffer = '';
  #waiter = null;

  constructor(child) {
    this.#child = child;
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (text) => {
      this.#buffer += text;
      this.#waiter?.();
    });
    child.once('exit', () => this.#waiter?.());
  }

  get child() {
    return this.#child;
  }

  /** Run one command line; { code, output } with stderr merged into output. */
  run(command, timeoutMs = 30_000) {
    const next = this.#queue.then(() => this.#runNow(command, timeoutMs));
    this.#queue = next.catch(() => {});
    return next;
  }

  #runNow(command, timeoutMs) {
    const marker = `__containet_done_${randomBytes(6).toString('hex')}__`;
    const done = new RegExp(`${marker} (\\d+)\\n`);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => settle(new Error(`no answer after ${timeoutMs / 1000} s to: ${command}`)), timeoutMs);
      const settle = (err, value) => {
        clearTimeout(timer);
        this.#waiter = null;
        if (err) reject(err);
        else resolve(value);
      };
      this.#waiter = () => {
        const m = done.exec(this.#buffer);
        if (m) {
          const output = this.#buffer.slice(0, m.index);
          this.#buffer = this.#buffer.slice(m.index + m[0].length);
          settle(null, { code: Number(m[1]), output });
        } else if (this.#child.exitCode !== null || this.#child.signalCode !== null) {
          const how = this.#child.signalCode ? `killed by ${this.#child.signalCode}` : `exit ${this.#child.exitCode}`;
          settle(new Error(`${this.#child.label} ended (${how}) while running: ${command}: ${lastLines(this.#child)}`));
        }
      };
      // A group so the command's stderr joins its output and `exit` in it
      // can't end the shell; the marker is printed whatever the status.
      this.#child.stdin.write(`{ ${command}\n} 2>&1; echo "${marker} $?"\n`);
      this.#waiter();
    });
  }
}

/** Parse ping's summary: { sent, received, avgMs } (avgMs null without replies). */
export function parsePing(text) {
  const counts = /(\d+) packets transmitted, (\d+) (?:packets )?received/.exec(text);
  const rtt = /= [\d.]+\/([\d.]+)\/[\d.]+/.exec(text);
  return {
    sent: counts ? Number(counts[1]) : 0,
    received: counts ? Number(counts[2]) : 0,
    avgMs: rtt ? Number(rtt[1]) : null,
  };
}
