/**
 * containode-oci's command line (runc's contract): the thin adapter. It
 * parses the global options, finds the command module (commands/, each
 * exporting commandNames, help, its options and handler(opts, args)),
 * parses its options with runc's rules (args.ts) and calls the handler.
 * Callers (containerd, conmon, conformance suites) run one short command at
 * a time, so start-up time is most of the cost: nothing happens at load
 * time, each command's module is imported when it runs, and only named
 * imports are taken from @containet/common so that the bundle
 * (scripts/bundle.mjs) leaves the rest out.
 */
import { writeSync } from 'node:fs';
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
  completion bash|zsh|man
                         print a shell completion script or the man page

Global options:
  --root DIR             state directory (default /run/containode-oci)
  --log FILE             append log messages to FILE
  --log-format text|json format of the log (default text)
  --debug                log debug messages; stack traces on errors
  --systemd-cgroup       not supported (error)

Annotations containet.socket, containet.ipv4, containet.ipv6,
containet.gateway and containet.mac attach eth0 to a containet switch;
containet.net.N (N a number) adds an interface as containode --net does,
e.g. "/run/b.sock,if=eth1,ip=10.0.1.2/24,vlan=10". With containet.reattach
"true" a small process keeps the ports and re-attaches them when a switch
restarts (else the ports go with the switch).

Examples:
  mkdir -p b/rootfs && ${PROG} spec --bundle b     # then fill b/rootfs
  ${PROG} create --bundle b c1 && ${PROG} start c1
  ${PROG} state c1; ${PROG} kill c1 KILL; ${PROG} delete c1
`;

type Logger = import('./log.js').Logger;

async function main(argv: string[], setLogger: (l: Logger) => void): Promise<number> {
  const args = await import('./args.js');
  const globals = args.parseOptions(argv, args.GLOBAL_OPTIONS, PROG);
  const g = globals.options;
  const [command, ...rest] = globals.operands;
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
  const global = { root: args.str(g, 'root') ?? DEFAULT_ROOT, log };
  if (rest.includes('--help') || rest.includes('-h')) {
    writeSync(1, USAGE);
    return 0;
  }
  const { COMMANDS } = await import('./commands/index.js');
  const load = Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined;
  if (!load) throw new UsageError(`unknown command ${command}`, `see \`${PROG} --help\``);
  const mod = await load();
  const p = mod.unparsed ? { options: {}, operands: rest } : args.parseOptions(rest, mod.options, command, mod.stopAtOperand ?? true);
  return mod.handler({ command, global, options: p.options }, p.operands);
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
