/**
 * Pods that containet's CNI plugin attached get their ports back when the
 * switch starts. The plugin runs once per container, so nobody else would
 * hand a restarted switch their taps; the taps are persistent and stay in
 * the pods' namespaces, and the plugin's records (common/cni-records.ts)
 * say where. When there are records for this switch's socket, the daemon
 * runs `containet-cni reattach --socket SOCK --json` in the background once
 * it listens: the plugin's netns helper re-opens each tap in its namespace
 * and attaches it (and its shaping) through the control socket like any
 * client. A separate process keeps the namespace work and its waits out of
 * the daemon, and the plugin's code out of containet (programs meet only
 * in common). The outcome is logged, one line per pod that failed; nothing
 * here stops or delays the switch.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cniRecordsOfSocket, cniStateDir } from '@containet/common';

/** How long the reattach may take before it is given up on (a helper stuck in a namespace). */
const REATTACH_TIMEOUT_MS = 120_000;

/**
 * Where the plugin is: the checkout this containet runs from, then where
 * scripts/setup.sh installs it for runtimes, then PATH.
 */
export function cniPluginCandidates(path = process.env['PATH'] ?? ''): string[] {
  return [
    fileURLToPath(new URL('../../../cni/bin/containet-cni.cjs', import.meta.url)),
    '/opt/cni/bin/containet',
    '/usr/lib/cni/containet',
    ...path.split(delimiter).filter(Boolean).map((dir) => join(dir, 'containet-cni')),
  ];
}

function findPlugin(candidates: string[]): string | undefined {
  return candidates.find((file) => {
    try {
      accessSync(file, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

interface ReattachOutcome {
  attached: string[];
  present: string[];
  failed: Array<{ node: string; error: string }>;
}

export interface CniReattach {
  /** Stop a reattach still running (the switch is shutting down). Safe to call twice. */
  stop(): void;
  /** Settles when the reattach process has ended (tests wait on it). */
  readonly done: Promise<void>;
}

/**
 * Start re-attaching the pods recorded for `socket`; undefined when there
 * are none (nothing is run). Never throws: every failure is logged.
 */
export function reattachCniPods(socket: string, log: (line: string) => void, candidates = cniPluginCandidates()): CniReattach | undefined {
  const path = resolve(socket);
  let count: number;
  try {
    count = cniRecordsOfSocket(path).length;
  } catch (err) {
    log(`cni: cannot read the pod records in ${cniStateDir()}: ${(err as Error).message}`);
    return undefined;
  }
  if (count === 0) return undefined;
  const plugin = findPlugin(candidates);
  if (!plugin) {
    log(`cni: ${count} pod port(s) recorded in ${cniStateDir()} for this switch, but containet-cni was not found (looked at ${candidates.join(', ')}); run \`containet-cni reattach --socket ${path}\``);
    return undefined;
  }
  log(`cni: re-attaching ${count} recorded pod port(s) (${plugin} reattach)`);
  let child: ChildProcess;
  try {
    child = spawn(plugin, ['reattach', '--socket', path, '--json'], { stdio: ['ignore', 'pipe', 'pipe'], timeout: REATTACH_TIMEOUT_MS });
  } catch (err) {
    log(`cni: cannot run ${plugin}: ${(err as Error).message}`);
    return undefined;
  }
  let stopped = false;
  const out: Buffer[] = [];
  let err = '';
  child.stdout!.on('data', (d: Buffer) => out.push(d));
  child.stderr!.on('data', (d: Buffer) => (err += String(d)));
  const done = new Promise<void>((settle) => {
    child.once('error', (e) => {
      log(`cni: cannot run ${plugin}: ${e.message}`);
      settle();
    });
    child.once('close', (code, signal) => {
      settle();
      if (stopped) return;
      let outcome: ReattachOutcome | undefined;
      try {
        outcome = JSON.parse(Buffer.concat(out).toString('utf8')) as ReattachOutcome;
      } catch {}
      if (!outcome || !Array.isArray(outcome.attached) || !Array.isArray(outcome.failed)) {
        const why = err.trim().split('\n').pop() || `exited ${code ?? signal}`;
        log(`cni: re-attaching pods failed: ${why}`);
        return;
      }
      log(`cni: re-attached ${outcome.attached.length} pod port(s)${outcome.present.length ? `, ${outcome.present.length} already present` : ''}${outcome.failed.length ? `, ${outcome.failed.length} failed` : ''}`);
      for (const f of outcome.failed) log(`cni: cannot re-attach ${f.node}: ${f.error}`);
    });
  });
  return {
    done,
    stop() {
      if (stopped) return;
      stopped = true;
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    },
  };
}
