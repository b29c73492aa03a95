/**
 * Start a container through native/build/containode-spawn and follow its
 * protocol (native/SPAWN.md): `pid` (SYNC 1), `go`, `ready` (SYNC 2),
 * `started`, `exit`. The spawner connects back to a socket we listen on,
 * so descriptors (tap, pty master) can come with its messages.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { constants as osConstants, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { ContainetError, SystemCallError, nativeHelper } from '@containet/common';
import { serializeSpec, type ContainerSpec } from './spec.js';

/** A failure the spawner or the container init reported as step + errno. */
export class SpawnError extends ContainetError {
  readonly step: string;
  readonly errno: number;
  readonly detail: string;

  constructor(errno: number, step: string, detail: string) {
    // Steps like "mount(overlay)" name the call and what it was for:
    // printed as mount(/path, overlay), like any syscall(arg) message.
    const qualified = step.match(/^([\w.]+)\((.*)\)$/);
    const what = qualified ? qualified[1]! : step;
    const args = [detail, qualified?.[2] ?? ''].filter((a) => a !== '').join(', ');
    const sys = new SystemCallError(errno, what, args === '' ? undefined : args);
    let code = 'CN_SPAWN';
    let exitCode = 1;
    let message = sys.message;
    let hint: string | undefined;
    if (step === 'exec' && errno === osConstants.errno.ENOENT) {
      code = 'CN_NOT_FOUND';
      exitCode = 127;
      message = `${detail}: program not found in the container`;
      hint = 'give a path that exists inside the container, or one in its PATH';
    } else if (step === 'exec' && (errno === osConstants.errno.EACCES || errno === osConstants.errno.ENOEXEC)) {
      code = 'CN_NOT_EXECUTABLE';
      exitCode = 126;
      message = `${detail}: not executable (${sys.message.replace(/^.*: /, '')})`;
    } else if (step === 'spec') {
      message = `invalid container spec: ${detail}`;
    }
    super(code, message, { exitCode, hint });
    this.name = 'SpawnError';
    this.step = step;
    this.errno = errno;
    this.detail = detail;
  }
}

export interface SpawnOptions {
  /** The container's stdin, stdout, stderr: inherited, or these fds. */
  stdio?: 'inherit' | [number | 'inherit' | 'ignore', number | 'inherit' | 'ignore', number | 'inherit' | 'ignore'];
  /**
   * A `warning` from the spawner (e.g. system calls of a seccomp profile
   * that libseccomp does not know, skipped). Default: one line on our
   * stderr, `PROGRAM: warning: TEXT`; containode-oci passes its --log.
   */
  onWarning?: (message: string) => void;
}

/** `containode: warning: ...`, named after the running command. */
function warnOnStderr(message: string): void {
  const prog = basename(process.argv[1] ?? 'containode').replace(/\.[cm]?js$/, '');
  process.stderr.write(`${prog}: warning: ${message}\n`);
}

/** The supervisor's `attach IFNAME JSON`: the switch's reply (or its own, in that shape). */
export interface AttachOutcome {
  ok: boolean;
  port?: number;
  error?: { code: string; message: string; hint?: string };
}

export interface TapHandle {
  fd: number;
  ifname: string;
  mac: string;
}

export interface SpawnedContainer {
  /** Host pid of the container's init. */
  readonly pid: number;
  /** The taps (`network.taps`), in the spec's order; the caller owns and closes their fds. */
  readonly taps: readonly TapHandle[];
  /** The first tap, if any. */
  readonly tap: TapHandle | undefined;
  /** Supervised mode with `switchAttach`: each switch's reply to its attach, by interface name. */
  readonly attachReplies: ReadonlyMap<string, AttachOutcome>;
  /** pty master fd (terminal without consoleSocket), once it came; the caller owns it. */
  readonly console: Promise<number>;
  /** Release the init (`go`); resolves at `ready`. Detached: the spawner has exited. */
  release(): Promise<void>;
  /** Attached: execve succeeded; rejects with SpawnError (e.g. CN_NOT_FOUND). */
  readonly started: Promise<void>;
  /** Attached: the exit status (128+N when killed by signal N). */
  readonly exited: Promise<number>;
  /** Deliver a signal to the init (through its parent, the spawner). */
  kill(signal: NodeJS.Signals | number): void;
  /** Kill the container and wait until the spawner is gone. Idempotent. */
  abort(): Promise<void>;
}

interface Deferred<T> {
  promise: Promise<T>;
  resolve: (v: T) => void;
  reject: (e: Error) => void;
  settled: boolean;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (v: T) => void;
  let reject!: (e: Error) => void;
  const d = {} as Deferred<T>;
  d.promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  d.settled = false;
  d.resolve = (v) => {
    if (d.settled) return;
    d.settled = true;
    resolve(v);
  };
  d.reject = (e) => {
    if (d.settled) return;
    d.settled = true;
    reject(e);
  };
  // Rejections nobody waits for must not crash the process.
  d.promise.catch(() => {});
  return d;
}

/**
 * Compiled seccomp filters, under the runtime's state directory (common's
 * stateDir(), whose module the containode-oci bundle does not carry: the
 * same variable and default).
 */
function seccompCacheDir(): string {
  return join(process.env['CONTAINET_STATE'] ?? '/run/containet', 'seccomp-bpf');
}

/** Undo the wire escapes of SPAWN.md (backslash, tab, newline) in a field. */
function unescapeField(s: string): string {
  return s.replace(/\\(.)/g, (_, c: string) => (c === 't' ? '\t' : c === 'n' ? '\n' : c));
}

function listen(server: Server, address: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(address, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/**
 * Reads the control socket. Messages that may carry a descriptor (tap,
 * console) need recvmsg() on the raw fd, which costs the native library;
 * specs without them are read through libuv.
 */
class Channel {
  #sock: Socket;
  #buf = '';
  #pendingFds: number[] = [];
  #poller: import('@containet/common').FdPoller | undefined;
  #fd = -1;
  #ended = false;

  constructor(sock: Socket, withFds: boolean, onLine: (line: string, fd: number) => void, onEnd: () => void) {
    this.#sock = sock;
    sock.on('error', () => {});
    const emit = (text: string, fd: number) => {
      this.#buf += text;
      if (fd >= 0) this.#pendingFds.push(fd);
      let nl;
      while ((nl = this.#buf.indexOf('\n')) >= 0) {
        const l = this.#buf.slice(0, nl);
        this.#buf = this.#buf.slice(nl + 1);
        const carries = l.startsWith('tap\t') || l === 'console';
        onLine(l, carries ? (this.#pendingFds.shift() ?? -1) : -1);
      }
    };
    const end = () => {
      if (this.#ended) return;
      this.#ended = true;
      this.close();
      onEnd();
    };
    if (!withFds) {
      sock.setEncoding('utf8');
      sock.on('data', (s: string) => emit(s, -1));
      sock.on('close', end);
      sock.resume();
      return;
    }
    void import('@containet/common').then(({ FdPoller, socketFd, recvWithFd }) => {
      if (this.#ended) return;
      this.#fd = socketFd(sock);
      this.#poller = new FdPoller();
      this.#poller.add(this.#fd, () => {
        for (;;) {
          let r;
          try {
            r = recvWithFd(this.#fd);
          } catch {
            end();
            return;
          }
          if (!r) return;
          if (r.data.length === 0) {
            if (r.fd >= 0) this.#pendingFds.push(r.fd);
            end();
            return;
          }
          emit(r.data.toString('utf8'), r.fd);
        }
      });
    });
  }

  send(text: string): void {
    if (!this.#ended && !this.#sock.destroyed) this.#sock.write(text);
  }

  close(): void {
    if (this.#poller) {
      this.#poller.delete(this.#fd);
      this.#poller.close();
      this.#poller = undefined;
    }
    this.#sock.destroy();
  }
}

/**
 * Start the spawner for `spec`; resolves at SYNC 1 (the init exists, is in
 * its cgroups, its maps are written and its tap exists, and it waits for
 * release()). Rejects with SpawnError when anything before that failed;
 * nothing is left behind then.
 */
export async function spawnContainer(spec: ContainerSpec, opts: SpawnOptions = {}): Promise<SpawnedContainer> {
  const helper = nativeHelper('containode-spawn');
  const withFds = Boolean(spec.network?.taps.length) || Boolean(spec.process.terminal && !spec.process.consoleSocket);
  // A socket in a directory only we can enter (0700): an abstract address
  // would let any local user connect first and feed us a fake spawner.
  const dir = mkdtempSync(join(tmpdir(), 'cnspawn-'));
  const address = join(dir, 'ctl');
  const server = createServer({ pauseOnConnect: true });
  const removeSocket = () => rmSync(dir, { recursive: true, force: true });
  try {
    await listen(server, address);
  } catch (err) {
    removeSocket();
    throw err;
  }

  const child: ChildProcess = spawn(helper, [address], { stdio: opts.stdio ?? 'inherit' });
  const childExit = new Promise<number>((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? 128 + (signal ? osConstants.signals[signal] : 0)));
    child.once('error', () => resolve(-1));
  });
  let spawnErr: Error | undefined;
  child.once('error', (err) => {
    spawnErr = err;
  });

  const sock = await new Promise<Socket | null>((resolve) => {
    server.once('connection', (s: Socket) => resolve(s));
    void childExit.then(() => resolve(null));
  });
  server.close();
  removeSocket();
  if (!sock) {
    throw new ContainetError('CN_SPAWN', `containode-spawn exited before it connected${spawnErr ? `: ${spawnErr.message}` : ''}`);
  }

  const pidReady = deferred<number>();
  const ready = deferred<void>();
  const started = deferred<void>();
  const exited = deferred<number>();
  const consoleFd = deferred<number>();
  const taps: TapHandle[] = [];
  const attachReplies = new Map<string, AttachOutcome>();
  let failure: Error | undefined;

  const failAll = (err: Error) => {
    failure ??= err;
    for (const d of [pidReady, ready, started, exited, consoleFd]) d.reject(err);
  };
  const channel = new Channel(
    sock,
    withFds,
    (l, fd) => {
      const f = l.split('\t');
      switch (f[0]) {
        case 'tap':
          taps.push({ fd, ifname: f[1] ?? '', mac: f[2] ?? '' });
          break;
        case 'attach':
          try {
            attachReplies.set(f[1] ?? '', JSON.parse(f.slice(2).join('\t')) as AttachOutcome);
          } catch {
            attachReplies.set(f[1] ?? '', { ok: false, error: { code: 'CN_PROTO', message: 'the supervisor relayed an attach reply that is not JSON' } });
          }
          break;
        case 'pid':
          pidReady.resolve(Number(f[1]));
          break;
        case 'console':
          if (fd >= 0) consoleFd.resolve(fd);
          break;
        case 'ready':
          ready.resolve();
          break;
        case 'started':
          started.resolve();
          break;
        case 'warning':
          (opts.onWarning ?? warnOnStderr)(unescapeField(f.slice(1).join('\t')));
          break;
        case 'exit':
          started.resolve();
          exited.resolve(Number(f[1]));
          break;
        case 'error':
          failAll(new SpawnError(Number(f[1]), f[2] ?? 'spawn', unescapeField(f.slice(3).join('\t'))));
          break;
        default:
          break;
      }
    },
    () => {
      // The spawner closed its end: it exits. Whatever did not come, won't.
      void childExit.then((code) => {
        if (spec.detached && ready.settled && !failure) {
          started.resolve();
          return;
        }
        failAll(failure ?? new ContainetError('CN_SPAWN', `containode-spawn ended unexpectedly (status ${code})`));
      });
    },
  );
  channel.send(serializeSpec(spec.seccomp && spec.seccomp.cacheDir === undefined ? { ...spec, seccomp: { ...spec.seccomp, cacheDir: seccompCacheDir() } } : spec));

  let pid: number;
  try {
    pid = await pidReady.promise;
  } catch (err) {
    channel.close();
    await childExit;
    throw err;
  }

  let aborting: Promise<void> | undefined;
  const container: SpawnedContainer = {
    pid,
    taps,
    get tap() {
      return taps[0];
    },
    attachReplies,
    console: consoleFd.promise,
    async release() {
      channel.send('go\n');
      await ready.promise;
      if (spec.detached) {
        // The spawner exits right after `ready` and the init lives on alone
        // (SPAWN.md). Its exit takes the kernel a few milliseconds that a
        // caller need not wait for: let go of it now (the host's init or
        // our own exit reaps it).
        channel.close();
        child.unref();
      }
    },
    started: started.promise,
    exited: exited.promise,
    kill(signal) {
      const n = typeof signal === 'number' ? signal : osConstants.signals[signal];
      if (n) channel.send(`kill\t${n}\n`);
    },
    abort() {
      aborting ??= (async () => {
        channel.send('abort\n');
        await childExit;
        channel.close();
      })();
      return aborting;
    },
  };
  return container;
}
