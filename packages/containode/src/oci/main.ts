/**
 * containode-oci's command line (runc's contract). Callers (containerd,
 * conmon, conformance suites) run one short command at a time, so start-up
 * time is most of the cost: nothing happens at load time, each command's
 * module is imported when it runs, and only named imports are taken from
 * @containet/common so that the bundle (scripts/bundle.mjs) leaves the rest out.
 */
import { writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { ContainetError, UsageError, reportError } from '@containet/common';

const PROG = 'containode-oci';

const USAGE = `usage: ${PROG} [global options] COMMAND [options] [arguments]

An OCI runtime (runtime-spec 1.0): runs containers from bundles (a directory
with config.json and a root filesystem) with containode's container code.

Commands:
  create --bundle DIR [--pid-file F] [--console-socket S] [--no-pivot] ID
                         set the container up; its program waits for start
  start ID               run the program of a created container
  state ID               print the OCI state as JSON
  kill [--all] ID [SIG]  send SIG (number, TERM or SIGTERM; default SIGTERM)
  delete [--force] ID    remove a stopped container (--force kills it first)
  run [--detach] [--keep] --bundle DIR ID
                         create + start; in the foreground, wait and delete
  list [--format table|json] [--quiet]
  exec [-t] [--console-socket S] [--cwd D] [-e K=V] [-u UID[:GID]] [-d]
       [--process FILE] ID [COMMAND ARGS...]
  spec [--bundle DIR]    write a default config.json
  ps [--format table|json] ID [PS_OPTIONS]
                         the container's processes (ps -ef lines, or pids)
  pause ID ; resume ID   freeze or thaw all its processes (needs a cgroup)
  features               print what this runtime implements (JSON)

Global options:
  --root DIR             state directory (default /run/containode-oci)
  --log FILE             append log messages to FILE
  --log-format text|json format of the log (default text)
  --debug                log debug messages; stack traces on errors
  --systemd-cgroup       not supported (error)

Annotations containet.socket, containet.ipv4, containet.ipv6,
containet.gateway and containet.mac attach eth0 to a containet switch.

Examples:
  mkdir -p b/rootfs && ${PROG} spec --bundle b     # then fill b/rootfs
  ${PROG} create --bundle b c1 && ${PROG} start c1
  ${PROG} state c1; ${PROG} kill c1 KILL; ${PROG} delete c1
`;

type Logger = import('./log.js').Logger;

async function main(argv: string[], setLogger: (l: Logger) => void): Promise<number> {
  const args = await import('./args.js');
  const global = args.parseOptions(argv, args.GLOBAL_OPTIONS, PROG);
  const g = global.options;
  const [command, ...rest] = global.operands;
  if (args.flag(g, 'version')) {
    const { OCI_VERSION } = await import('../container/state.js');
    const { RUNTIME_VERSION } = await import('./store.js');
    writeSync(1, `${PROG} version ${RUNTIME_VERSION}\nspec: ${OCI_VERSION}\n`);
    return 0;
  }
  if (!command || args.flag(g, 'help') || command === 'help') {
    writeSync(1, USAGE);
    return command || args.flag(g, 'help') ? 0 : 2;
  }
  const format = args.str(g, 'log-format') ?? 'text';
  if (format !== 'text' && format !== 'json') throw new UsageError(`invalid --log-format ${format}`, 'use text or json');
  const { Logger } = await import('./log.js');
  const log = new Logger(args.str(g, 'log'), format, args.flag(g, 'debug'));
  setLogger(log);
  if (args.flag(g, 'systemd-cgroup')) {
    throw new ContainetError('CN_OCI_UNSUPPORTED', '--systemd-cgroup is not supported: cgroups are managed through the cgroup filesystem', {
      hint: 'drop --systemd-cgroup (and give linux.cgroupsPath as a path)',
    });
  }
  const { DEFAULT_ROOT } = await import('./store.js');
  const globals = { root: args.str(g, 'root') ?? DEFAULT_ROOT, log };
  const help = rest.includes('--help') || rest.includes('-h');
  if (help) {
    writeSync(1, USAGE);
    return 0;
  }

  switch (command) {
    case 'create':
    case 'run': {
      const p = args.parseOptions(
        rest,
        [
          { name: 'bundle', short: 'b', value: true },
          { name: 'pid-file', value: true },
          { name: 'console-socket', value: true },
          { name: 'no-pivot' },
          { name: 'no-new-keyring' },
          { name: 'preserve-fds', value: true },
          { name: 'detach', short: 'd' },
          { name: 'keep' },
          { name: 'no-subreaper' },
        ].filter((d) => command === 'run' || !['detach', 'keep', 'no-subreaper'].includes(d.name)),
        command,
      );
      const [id] = args.operands(p, ['container-id'], command);
      const preserve = args.str(p.options, 'preserve-fds');
      if (preserve !== undefined && preserve !== '0') {
        throw new ContainetError('CN_OCI_UNSUPPORTED', `--preserve-fds ${preserve} is not supported: only stdio reaches the container`);
      }
      if (args.flag(p.options, 'no-new-keyring')) log.debug('--no-new-keyring: no session keyring is created in any case');
      const o = {
        id: id!,
        bundle: args.str(p.options, 'bundle') ?? '.',
        pidFile: args.str(p.options, 'pid-file'),
        consoleSocket: args.str(p.options, 'console-socket'),
        noPivot: args.flag(p.options, 'no-pivot'),
      };
      if (command === 'create') {
        const { createContainer } = await import('./create.js');
        await createContainer(globals, o);
        return 0;
      }
      const { runContainer } = await import('./run.js');
      return runContainer(globals, { ...o, detach: args.flag(p.options, 'detach'), keep: args.flag(p.options, 'keep') });
    }
    case 'start': {
      const [id] = args.operands(args.parseOptions(rest, [], command), ['container-id'], command);
      const { startContainer } = await import('./lifecycle.js');
      await startContainer(globals, id!);
      return 0;
    }
    case 'state': {
      const [id] = args.operands(args.parseOptions(rest, [], command), ['container-id'], command);
      const { stateOf, writeOut } = await import('./lifecycle.js');
      writeOut(stateOf(globals, id!));
      return 0;
    }
    case 'kill': {
      const p = args.parseOptions(rest, [{ name: 'all', short: 'a' }], command, false);
      const [id, sig] = args.operands(p, ['container-id'], command, 1);
      const { parseSignal } = await import('./signals.js');
      const signal = parseSignal(sig ?? 'SIGTERM');
      const { killContainer } = await import('./lifecycle.js');
      await killContainer(globals, id!, signal, args.flag(p.options, 'all'));
      return 0;
    }
    case 'delete': {
      const p = args.parseOptions(rest, [{ name: 'force', short: 'f' }], command, false);
      const [id] = args.operands(p, ['container-id'], command);
      const { deleteContainer } = await import('./lifecycle.js');
      await deleteContainer(globals, id!, args.flag(p.options, 'force'));
      return 0;
    }
    case 'list':
    case 'ls': {
      const p = args.parseOptions(rest, [{ name: 'format', short: 'f', value: true }, { name: 'quiet', short: 'q' }], command, false);
      args.operands(p, [], command);
      const fmt = args.str(p.options, 'format') ?? 'table';
      if (fmt !== 'table' && fmt !== 'json') throw new UsageError(`list: invalid --format ${fmt}`, 'use table or json');
      const { listContainers, writeOut } = await import('./lifecycle.js');
      writeOut(listContainers(globals, fmt, args.flag(p.options, 'quiet')));
      return 0;
    }
    case 'exec': {
      const p = args.parseOptions(
        rest,
        [
          { name: 'console-socket', value: true },
          { name: 'cwd', value: true },
          { name: 'env', short: 'e', value: true, repeat: true },
          { name: 'tty', short: 't' },
          { name: 'user', short: 'u', value: true },
          { name: 'additional-gids', short: 'g', value: true, repeat: true },
          { name: 'process', short: 'p', value: true },
          { name: 'detach', short: 'd' },
          { name: 'pid-file', value: true },
          { name: 'no-new-privs' },
          { name: 'cap', short: 'c', value: true, repeat: true },
          { name: 'preserve-fds', value: true },
        ],
        command,
      );
      const [id, ...cmd] = args.operands(p, ['container-id'], command, Infinity);
      const { execInContainer } = await import('./exec.js');
      return execInContainer(globals, {
        id: id!,
        args: cmd,
        processFile: args.str(p.options, 'process'),
        tty: args.flag(p.options, 'tty'),
        consoleSocket: args.str(p.options, 'console-socket'),
        cwd: args.str(p.options, 'cwd'),
        env: args.list(p.options, 'env'),
        user: args.str(p.options, 'user'),
        additionalGids: args.list(p.options, 'additional-gids'),
        detach: args.flag(p.options, 'detach'),
        pidFile: args.str(p.options, 'pid-file'),
        noNewPrivs: args.flag(p.options, 'no-new-privs'),
        caps: args.list(p.options, 'cap'),
      });
    }
    case 'spec': {
      const p = args.parseOptions(rest, [{ name: 'bundle', short: 'b', value: true }, { name: 'rootless' }], command, false);
      args.operands(p, [], command);
      if (args.flag(p.options, 'rootless')) {
        throw new ContainetError('CN_OCI_UNSUPPORTED', 'spec --rootless is not supported', { hint: 'write the user namespace mappings into config.json yourself' });
      }
      const { defaultConfig } = await import('./default-spec.js');
      const path = join(args.str(p.options, 'bundle') ?? '.', 'config.json');
      try {
        writeFileSync(path, `${JSON.stringify(defaultConfig(), null, '\t')}\n`, { flag: 'wx' });
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EEXIST') throw new ContainetError('CN_OCI_EXISTS', `${path} exists; remove it first`);
        throw new ContainetError('CN_OCI_BUNDLE', `cannot write ${path}: ${code ?? (err as Error).message}`);
      }
      return 0;
    }
    case 'features': {
      args.operands(args.parseOptions(rest, [], command, false), [], command);
      const { features } = await import('./features.js');
      writeSync(1, `${JSON.stringify(features(), null, 2)}\n`);
      return 0;
    }
    case 'ps': {
      const p = args.parseOptions(rest, [{ name: 'format', short: 'f', value: true }], command);
      const [id, ...psArgs] = args.operands(p, ['container-id'], command, Infinity);
      const fmt = args.str(p.options, 'format') ?? 'table';
      if (fmt !== 'table' && fmt !== 'json') throw new UsageError(`ps: invalid --format ${fmt}`, 'use table or json');
      const { psContainer } = await import('./ps.js');
      writeSync(1, psContainer(globals, id!, fmt, psArgs));
      return 0;
    }
    case 'pause':
    case 'resume': {
      const [id] = args.operands(args.parseOptions(rest, [], command), ['container-id'], command);
      const { pauseContainer } = await import('./lifecycle.js');
      await pauseContainer(globals, id!, command === 'pause');
      return 0;
    }
    case 'events':
    case 'update':
    case 'checkpoint':
    case 'restore':
      throw new ContainetError('CN_OCI_UNSUPPORTED', `${command} is not supported by ${PROG}`, { hint: 'supported: create start state kill delete run list ps pause resume exec spec features' });
    default:
      throw new UsageError(`unknown command ${command}`, `see \`${PROG} --help\``);
  }
}

let logger: Logger | undefined;

main(process.argv.slice(2), (l) => {
  logger = l;
}).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    // runc's callers read the reason from the log file: put it there too.
    if (logger) logger.error((err as Error)?.message ?? String(err));
    process.exitCode = reportError(PROG, err);
  },
);
