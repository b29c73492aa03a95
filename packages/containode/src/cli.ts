/**
 * The commander adapter: argv in, a command module's handler(opts, args)
 * called, its output or status out (commands/types.ts).
 *
 * `containode run [OPTIONS] [--] PROG` is the explicit form; the original
 * `containode [OPTIONS] PROG` keeps working, except that a program named
 * like a container-management verb (`rm`, `logs`, `top`, ...) is refused
 * there: a Docker habit such as `containode rm -rf NAME` would otherwise
 * run the host's /bin/rm on the host's files. `containode run -- rm` runs
 * it. Each management module is imported when it runs.
 *
 * One convention for every command: `containode: what was wrong` plus a
 * hint and exit status 2 for a command line commander refuses, one line
 * and exit 1 without root, `--json` on listings.
 */
import { Argument, Command, CommanderError, Option } from 'commander';
import { ContainetError, UsageError } from '@containet/common';
import { CLI_DOCUMENT_FORMATS, COMPLETION_HELP } from '@containet/common/cli-docs';
import * as run from './commands/run.js';
import type { CommandResult, ContainodeCommand } from './commands/types.js';
import { addLimitOptions } from './limits/options.js';

type AnyCommand = ContainodeCommand<never>;

export const VERSION = '0.1.0';

export const MANAGEMENT: Readonly<Record<string, () => Promise<AnyCommand>>> = {
  ps: () => import('./commands/ps.js') as Promise<AnyCommand>,
  exec: () => import('./commands/exec.js') as Promise<AnyCommand>,
  stop: () => import('./commands/stop.js') as Promise<AnyCommand>,
  kill: () => import('./commands/kill.js') as Promise<AnyCommand>,
  inspect: () => import('./commands/inspect.js') as Promise<AnyCommand>,
  cleanup: () => import('./commands/cleanup.js') as Promise<AnyCommand>,
  logs: () => import('./commands/logs.js') as Promise<AnyCommand>,
  wait: () => import('./commands/wait.js') as Promise<AnyCommand>,
  rm: () => import('./commands/rm.js') as Promise<AnyCommand>,
  completion: () => import('./commands/completion.js') as Promise<AnyCommand>,
};

/** Commands that need no root: they touch no namespace, tap, cgroup or record. */
const WITHOUT_ROOT = new Set(['completion']);

/**
 * Words a Docker, Podman or runc user may type as a command that containode
 * does not have: as the first word they are refused, never run as a host
 * program (docker(1) and runc(8) command lists).
 */
export const REFUSED_VERBS: ReadonlySet<string> = new Set([
  'rm', 'rmi', 'logs', 'start', 'restart', 'top', 'stats', 'images', 'image', 'pull', 'push', 'build', 'attach', 'cp',
  'create', 'port', 'wait', 'rename', 'commit', 'diff', 'events', 'history', 'info', 'login', 'logout', 'network',
  'volume', 'system', 'update', 'version', 'pause', 'unpause', 'delete', 'list', 'container', 'save', 'load', 'tag',
  'search', 'export', 'import', 'context', 'builder', 'buildx', 'compose', 'plugin', 'swarm', 'node', 'service',
  'secret', 'config', 'stack', 'trust', 'manifest', 'checkpoint', 'restore', 'state', 'spec', 'features', 'help',
]);

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/**
 * An option that describes the one eth0 and may be given once: a second
 * -s or -4 is refused instead of silently replacing the first (several
 * interfaces are --net's).
 */
function once(flag: string): (value: string, previous: string | undefined) => string {
  return (value, previous) => {
    if (previous !== undefined) {
      throw new UsageError(`${flag} given twice (${previous} and ${value}): ${flag} describes the one eth0`, 'for more interfaces give --net SOCK[,if=NAME][,ip=ADDR/LEN]... once per interface');
    }
    return value;
  };
}

/**
 * --net's values are kept as `netIf`: commander would otherwise pair
 * `--net` with `-N, --no-net` (the same attribute, `net`), and -N would
 * erase the list.
 */
class NetInterfaceOption extends Option {
  override attributeName(): string {
    return 'netIf';
  }
}

/** The one message for a command run without root. */
export function requireRoot(): void {
  if (process.getuid?.() !== 0) {
    throw new ContainetError('CN_NEEDS_ROOT', 'needs root (namespaces, taps, cgroups): run it with sudo');
  }
}

/** Parse errors are ours to print (one `containode:` line and a hint), not commander's. */
function quiet(cmd: Command): Command {
  return cmd.exitOverride().configureOutput({ outputError: () => {} });
}

export function runProgram(onStatus: (code: number) => void, name = 'containode'): Command {
  const cmd = quiet(new Command(name))
    .description(run.help)
    .usage('[options] [--] PROGRAM [ARGS...]')
    .argument('[program...]', 'program and its arguments')
    .addOption(new Option('-s, --socket <path>', 'containet control socket: give the container a tap eth0 plugged into that switch (once; more interfaces: --net)').argParser(once('-s')))
    .addOption(new Option('-4, --ipv4 <addr[/mask]>', 'IPv4 address of eth0 (classful mask when none; needs -s; once)').argParser(once('-4')))
    .addOption(
      new NetInterfaceOption(
        '--net <sock[,key=value...]>',
        'one more interface, a tap on the switch at SOCK (repeatable): keys if=NAME (default the next free ethN), ip=ADDR/LEN and ip6=ADDR/LEN (repeatable), mac=MAC, mtu=N, vlan=ID or trunk=ID:ID...[,native=ID]',
      ).argParser(collect),
    )
    .option('-6, --ipv6 <addr/prefix>', 'IPv6 address of eth0 (repeatable; needs -s)', collect)
    .option('-g, --gateway <addr>', 'default route via this gateway (IPv4 or IPv6; repeatable)', collect)
    .option('-r, --root <dir>', 'root filesystem (read-only lower layer of an overlay) to pivot into')
    .option('-t, --top <dir>', 'where changes to the root are stored (default: ROOT-ID); a terminal is --tty')
    .option('-i, --identity <id>', 'identity, unique among running containers; also the hostname (default: random, 11 characters)')
    .option('--name <id>', 'the same as -i')
    .option('-d, --detach', 'run in the background, supervised by containode-spawn (output: containode logs ID); prints the identity')
    .option('--restart <policy>', 'with -d: no (default), on-failure[:MAX], always; containode stop ends it')
    .option('--tty', 'give the program a terminal (a pty of the container) driven from ours')
    .option('--interactive', 'keep stdin attached (it always is in the foreground; with --tty through the pty)')
    .option('-N, --no-net', 'no new network namespace: use the host network')
    .option('-I, --no-ipc', 'no new IPC namespace: use the host IPC namespace')
    .option('-e, --env <KEY=VALUE>', 'environment variable (repeatable); defaults: PATH, HOME, TERM, HOSTNAME', collect)
    .option('-w, --workdir <dir>', 'working directory inside the container (default /)')
    .option('--rm', 'delete the top directory when the container exits')
    .option('--image <name>', 'run from an image in mocker\'s store (also -r image:NAME): its root is the shared lower layer, its config the defaults')
    .option('--store <dir>', 'image store (default $CONTAINET_IMAGES or /var/lib/containet/images, as mocker)')
    .option('--entrypoint <program>', 'replace the image\'s Entrypoint ("" for none); PROGRAM ARGS then replace its Cmd')
    .option('-u, --user <user[:group]>', 'run as this user: UID[:GID] or names from the root\'s /etc/passwd and /etc/group (default: the image\'s User, else root)')
    .option('-v, --volume <host-path:container-path[:opts]>', 'bind a host file or directory into the container (repeatable); opts: ro or rw, and a propagation (rprivate default, private, rslave, slave, rshared, shared)', collect)
    .option('-p, --publish <[hostip:]hostport:port[/proto]>', 'relay a host port to the container\'s IPv4 address (tcp or udp; repeatable; needs -s and -4)', collect)
    .option('--mtu <bytes>', 'MTU of eth0, 68..65535 (e.g. 1450 behind a VXLAN uplink)')
    .option('--security-opt <opt>', 'seccomp=unconfined|builtin|PROFILE.json (Docker\'s JSON format), no-new-privileges[=true|false], systempaths=unconfined (repeatable)', collect)
    .option('--sysctl <KEY=VALUE>', 'a kernel setting of the container\'s own namespaces: net.* (own network), kernel.shm*, kernel.msg*, kernel.sem, fs.mqueue.* (own IPC) (repeatable)', collect)
    .option('--debug', 'print stack traces of errors')
    .addHelpText('after', run.examples)
    .passThroughOptions()
    .action(async (program: string[], opts: run.RawOptions & { name?: string }) => {
      if (opts.name !== undefined) {
        if (opts.identity !== undefined && opts.identity !== opts.name) throw new UsageError(`--name ${opts.name} and -i ${opts.identity} name the container twice`, 'give one of them');
        opts.identity = opts.name;
      }
      requireRoot();
      onStatus(await run.handler(opts, program));
    });
  // Limits: --memory --cpus --pids-limit --cgroupns -U --uidmap --gidmap
  // --privileged --cap-add --cap-drop --net-hook (packages/containode/src/limits).
  return addLimitOptions(cmd);
}

/** Print a handler's text, or pass on its status. */
function result(r: CommandResult): number {
  if (typeof r === 'number') return r;
  process.stdout.write(r);
  return 0;
}

/**
 * The options and arguments of one management command. The module is
 * loaded by the action (after the root check), so the definitions serve
 * `--help`, parse errors and the completion script alike.
 */
export function managementProgram(name: string, onStatus: (code: number) => void, help = ''): Command {
  const prog = quiet(new Command('containode')).enablePositionalOptions();
  const cmd = prog.command(name).description(help);
  const call = async (opts: object, args: string[]) => {
    if (!WITHOUT_ROOT.has(name)) requireRoot();
    const mod = await MANAGEMENT[name]!();
    onStatus(result(await (mod.handler as (o: object, a: string[]) => Promise<CommandResult>)(opts, args)));
  };
  switch (name) {
    case 'ps':
      cmd.option('-a, --all', 'also stopped containers').option('--json', 'print JSON').action((opts: object) => call(opts, []));
      break;
    case 'exec':
      cmd
        .usage('[options] ID [--] PROGRAM [ARGS...]')
        .argument('<id>', 'container identity (or a unique prefix)')
        .argument('<program...>', 'program and its arguments')
        .option('-t, --tty', 'give the program a terminal (a pty of the container)')
        .option('-i, --interactive', 'keep stdin attached (it always is; with -t through the pty): -it as Docker\'s')
        .option('-e, --env <KEY=VALUE>', 'extra environment variable (repeatable)', collect)
        .option('-w, --workdir <dir>', 'working directory (default /)')
        .passThroughOptions()
        .action((id: string, program: string[], opts: object) => call(opts, [id, ...program]));
      break;
    case 'stop':
      cmd.argument('<id>', 'container identity').option('--time <seconds>', 'how long to wait after SIGTERM', '10').action((id: string, opts: object) => call(opts, [id]));
      break;
    case 'kill':
      cmd.argument('<id>', 'container identity').argument('[signal]', 'signal name or number', 'KILL').action((id: string, signal: string) => call({}, [id, signal]));
      break;
    case 'inspect':
      cmd.argument('<id>', 'container identity').option('--json', 'print JSON (the only format; accepted for the one convention)').action((id: string, opts: object) => call(opts, [id]));
      break;
    case 'cleanup':
      cmd
        .argument('[socket...]', 'containet control sockets to check (default /tmp/containet.sock)')
        .option('-n, --dry-run', 'only say what would be removed')
        .option('--json', 'print the report as JSON')
        .option('--min-age <seconds>', 'leave empty cgroups younger than this (one being set up has no task yet)', '60')
        .action((sockets: string[], opts: object) => call(opts, sockets));
      break;
    case 'logs':
      cmd
        .argument('<id>', 'container identity')
        .option('-f, --follow', 'keep printing new output until the container has ended')
        .option('-n, --tail <lines>', 'only the last LINES lines (or all)')
        .option('-t, --timestamps', 'prefix each line with the time it was written (RFC 3339, UTC)')
        .action((id: string, opts: object) => call(opts, [id]));
      break;
    case 'wait':
      cmd.argument('<id...>', 'container identities').action((ids: string[]) => call({}, ids));
      break;
    case 'rm':
      cmd.argument('<id...>', 'container identities').option('-f, --force', 'stop a running container first (SIGKILL)').action((ids: string[], opts: object) => call(opts, ids));
      break;
    case 'completion':
      cmd.addArgument(new Argument('<format>', 'bash or zsh (a completion script), man (the man page)').choices(CLI_DOCUMENT_FORMATS)).action((format: string) => call({}, [format]));
      break;
  }
  return prog;
}

/** The options of the run form that take a value (`-e X`), to find where the program starts. */
function valueOptions(cmd: Command): Set<string> {
  const out = new Set<string>();
  for (const o of cmd.options) {
    if (!o.required && !o.optional) continue;
    if (o.short) out.add(o.short);
    if (o.long) out.add(o.long);
  }
  return out;
}

/**
 * Docker's `-it` (and `-ti`, `-itd`, ...) in the run form: refused with
 * the reason, since -i takes the identity here (commander would name the
 * container "t") and -t the top directory.
 */
function checkRunWords(cmd: Command, args: string[], explicit: boolean): void {
  const takesValue = valueOptions(cmd);
  for (let i = 0; i < args.length; i++) {
    const word = args[i]!;
    if (word === '--') return;
    if (/^-[itd]{2,3}$/.test(word) && word.includes('i') && word.includes('t')) {
      throw new UsageError(
        `${word}: -i takes the container's identity here (-i NAME) and -t its top directory, so ${word} is not Docker's -i -t`,
        'for a terminal give --tty (stdin is attached already); for an identity -i NAME or --name NAME',
      );
    }
    if (word.startsWith('--')) {
      if (!word.includes('=') && takesValue.has(word)) i++;
      continue;
    }
    if (word.startsWith('-') && word.length > 1) {
      // -e X takes the next word; -eX carries its value
      if (word.length === 2 && takesValue.has(word)) i++;
      continue;
    }
    // The program: in the bare form a management verb is refused.
    if (!explicit && REFUSED_VERBS.has(word)) throw refusedVerb(word);
    return;
  }
}

function refusedVerb(word: string): UsageError {
  const hint =
    word === 'version' ? 'containode --version' : word === 'help' ? 'containode --help' : `to run a program named ${word} in a container: containode run [OPTIONS] -- ${word} ...`;
  return new UsageError(`${word} is not a containode command: it manages containers in Docker or runc, and containode runs nothing for it`, hint);
}

/** A commander parse error as the suite's one line and hint, exit status 2. */
function usageFromCommander(err: CommanderError, command: string | undefined): UsageError {
  const what = err.message.replace(/^error: /, '');
  return new UsageError(what, `see containode${command ? ` ${command}` : ''} --help`);
}

export async function main(argv: string[] = process.argv): Promise<number> {
  const args = argv.slice(2);
  const first = args[0];
  let status = 0;
  const onStatus = (code: number) => (status = code);
  if (first === '--version' || first === '-V') {
    process.stdout.write(`containode ${VERSION}\n`);
    return 0;
  }
  let command: string | undefined;
  let program: Command;
  let rest: string[];
  if (first !== undefined && Object.hasOwn(MANAGEMENT, first)) {
    command = first;
    const help = first === 'completion' ? COMPLETION_HELP : (await MANAGEMENT[first]!()).help;
    program = managementProgram(first, onStatus, help);
    rest = args;
  } else if (first === 'run') {
    command = 'run';
    program = runProgram(onStatus, 'containode run');
    rest = args.slice(1);
    checkRunWords(program, rest, true);
  } else {
    if (first !== undefined && REFUSED_VERBS.has(first)) throw refusedVerb(first);
    program = runProgram(onStatus);
    rest = args;
    checkRunWords(program, rest, false);
  }
  try {
    await program.parseAsync(rest, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help (and commander's own version) end well; anything else is a usage error.
      if (err.exitCode === 0) return 0;
      throw usageFromCommander(err, command);
    }
    throw err;
  }
  return status;
}
