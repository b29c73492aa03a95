/**
 * Tear a lab down from its record: containers (their namespaces, taps,
 * cgroups and records go with `containode rm -f`), the host's taps, the
 * switches (each removes its host port on the way out), then the run and
 * lab directories. Every step is tried even when one fails; what could not
 * be removed is reported. The same path undoes a failed deploy.
 */
import { rmSync } from 'node:fs';
import { ContainetError } from '@containet/common';
import { deletePort } from './port-attach.js';
import { lastError, run, suiteProgram } from './programs.js';
import { saveRecord, type LabRecord } from './record.js';
import { stopSwitch } from './switches.js';

/** The containode containers that exist (running or not) among `names`. */
async function existingContainers(names: string[]): Promise<string[]> {
  if (!names.length) return [];
  const [file, args] = suiteProgram('containode', ['ps', '-a', '--json']);
  const r = await run(file, args);
  if (r.code !== 0) throw new ContainetError('CN_LAB_DESTROY', `containode ps: ${lastError(r)}`);
  const ids = new Set((JSON.parse(r.stdout) as Array<{ id: string }>).map((c) => c.id));
  return names.filter((n) => ids.has(n));
}

/** Remove everything of the lab; returns the problems (empty when all is gone). */
export async function destroyLab(rec: LabRecord): Promise<string[]> {
  const problems: string[] = [];
  rec.state = 'destroying';
  try {
    saveRecord(rec);
  } catch {
    // the run directory may be half gone already: carry on
  }
  // Every node the plan has, not only those recorded: a deploy killed
  // between `containode run` and its record leaves none unaccounted for.
  const names = [...new Set([...rec.containers, ...rec.plan.nodes.map((n) => n.container)])];
  try {
    const present = await existingContainers(names);
    // A few at a time: one containode per batch.
    for (let i = 0; i < present.length; i += 25) {
      const batch = present.slice(i, i + 25);
      const [file, args] = suiteProgram('containode', ['rm', '-f', ...batch]);
      const r = await run(file, args, { timeoutMs: 120_000 });
      if (r.code !== 0) problems.push(`containers ${batch.join(' ')}: ${lastError(r)}`);
    }
  } catch (err) {
    problems.push((err as Error).message);
  }
  for (const ifname of new Set([...rec.hostTaps, ...rec.plan.hostTaps.map((t) => t.ifname)])) {
    // A planned tap never made is absent, which deletePort takes as done.
    try {
      await deletePort('/proc/self/ns/net', ifname);
    } catch (err) {
      problems.push((err as Error).message);
    }
  }
  await Promise.all(
    rec.switches.map((sw) =>
      stopSwitch(sw).catch((err: Error) => {
        problems.push(`switch ${sw.id} (pid ${sw.pid}): ${err.message}`);
      }),
    ),
  );
  if (!problems.length) {
    rmSync(rec.plan.dir, { recursive: true, force: true });
    rmSync(rec.plan.runDir, { recursive: true, force: true });
  } else {
    rec.state = 'failed';
    try {
      saveRecord(rec);
    } catch {
      // nothing more to keep it in
    }
  }
  return problems;
}
