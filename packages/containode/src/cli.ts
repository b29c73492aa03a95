/**
 * The commander adapter: argv in, a command module's handler(opts, args)
 * called, its output or status out (commands/types.ts). `containode
 * ps|exec|stop|kill|inspect|cleanup ...` are management commands; anything
 * else runs a container (a program called like a command is run with
 * `containode -- ps`). Each management module is imported when it runs.
 */
import { Command, Option } from 'commander';
import * as run from './commands/run.js';
import type { CommandResult, ContainodeCommand } from './commands/types.js';
import { addLimitOptions } from './limits/options.js';

type AnyCommand = ContainodeCommand<never>;

const MANAGEMENT: Readonly<Record<string, () => Promise<AnyCommand>>> = {
  ps: () => import('./commands/ps.js') as Promise<AnyCommand>,
  exec: () => import('./commands/exec.js') as Promise<AnyCommand>,
  stop: () => import('./commands/stop.js') as Promise<AnyCommand>,
  kill: () => import('./commands/kill.js') as Promise<AnyCommand>,
  inspect: () => import('./commands/inspect.js') as Promise<AnyCommand>,
  cleanup: () => import('./commands/cleanup.js') as Promise<AnyCommand>,
};

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

export function runProgram(onStatus: (code: number) => void): Command {
  const cmd = new Command('containode')
    .description(run.help)
    .usage('[options] [--] PROGRAM [ARGS...]')
    .argument('[program...]', 'program and its arguments')
    .addOption(new Option('-s, --socket <path>', 'containet control socket: give the container a tap eth0 plugged into that switch'))
    .option('-4, --ipv4 <addr[/mask]>', 'IPv4 address of eth0 (classful mask when none; needs -s)')
    .option('-6, --ipv6 <addr/prefix>', 'IPv6 address of eth0 (repeatable; needs -s)', collect)
    .option('-g, --gateway <addr>', 'default route via this gateway (IPv4 or IPv6; repeatable)', collect)
    .option('-r, --root <dir>', 'root filesystem (read-only lower layer of an overlay) to pivot into')
    .option('-t, --top <dir>', 'where changes to the root are stored (default: ROOT-ID)')
    .option('-i, --identity <id>', 'identity, unique among running containers; also the hostname (default: random, 11 characters)')
    .option('-N, --no-net', 'no new network namespace: use the host network')
    .option('-I, --no-ipc', 'no new IPC namespace: use the host IPC namespace')
    .option('-e, --env <KEY=VALUE>', 'environment variable (repeatable); defaults: PATH, HOME, TERM, HOSTNAME', collect)
    .option('-w, --workdir <dir>', 'working directory inside the container (default /)')
    .option('--rm', 'delete the top directory when the container exits')
    .option('--image <name>', 'run from an image in mocker\'s store (also -r image:NAME): its root is the shared lower layer, its config the defaults')
    .option('--store <dir>', 'image store (default $CONTAINET_IMAGES or /var/lib/containet/images, as mocker)')
    .option('--entrypoint <program>', 'replace the image\'s Entrypoint ("" for none); PROGRAM ARGS then replace its Cmd')
    .option('-u, --user <user[:group]>', 'run as this user: UID[:GID] or names from the root\'s /etc/passwd and /etc/group (default: the image\'s User, else root)')
    .option('-p, --publish <[hostip:]hostport:port[/proto]>', 'relay a host port to the container\'s IPv4 address (tcp or udp; repeatable; needs -s and -4)', collect)
    .option('--mtu <bytes>', 'MTU of eth0, 68..65535 (e.g. 1450 behind a VXLAN uplink)')
    .option('--security-opt <opt>', 'seccomp=unconfined|builtin|PROFILE.json (Docker\'s JSON format), no-new-privileges[=true|false], systempaths=unconfined (repeatable)', collect)
    .option('--sysctl <KEY=VALUE>', 'a kernel setting of the container\'s own namespaces: net.* (own network), kernel.shm*, kernel.msg*, kernel.sem, fs.mqueue.* (own IPC) (repeatable)', collect)
    .option('--debug', 'print stack traces of errors')
    .addHelpText('after', run.examples)
    .passThroughOptions()
    .exitOverride()
    .action(async (program: string[], opts: run.RawOptions) => {
      onStatus(await run.handler(opts, program));
    });
  // Issue 5: --memory --cpus --pids-limit --cgroupns -U --uidmap --gidmap
  // --privileged --cap-add --cap-drop --net-hook (packages/containode/src/limits).
  return addLimitOptions(cmd);
}

/** Print a handler's text, or pass on its status. */
function result(r: CommandResult): number {
  if (typeof r === 'number') return r;
  process.stdout.write(r);
  return 0;
}

/** The options and arguments of one management command, mapped onto its module's handler. */
function managementProgram(name: string, mod: AnyCommand, onStatus: (code: number) => void): Command {
  const prog = new Command('containode').enablePositionalOptions().exitOverride();
  const cmd = prog.command(name).description(mod.help);
  const call = (opts: object, args: string[]) => (mod.handler as (o: object, a: string[]) => Promise<CommandResult>)(opts, args).then((r) => onStatus(result(r)));
  switch (name) {
    case 'ps':
      cmd.option('-a, --all', 'also stopped containers').option('--json', 'print JSON').action((opts: object) => call(opts, []));
      break;
    case 'exec':
      cmd
        .usage('[options] ID PROGRAM [ARGS...]')
        .argument('<id>', 'container identity (or a unique prefix)')
        .argument('<program...>', 'program and its arguments')
        .option('-t, --tty', 'give the program a terminal (a pty of the container)')
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
      cmd.argument('<id>', 'container identity').action((id: string) => call({}, [id]));
      break;
    case 'cleanup':
      cmd
        .argument('[socket...]', 'containet control sockets to check (default /tmp/containet.sock)')
        .option('-n, --dry-run', 'only say what would be removed')
        .option('--json', 'print the report as JSON')
        .option('--min-age <seconds>', 'leave empty cgroups younger than this (one being set up has no task yet)', '60')
        .action((sockets: string[], opts: object) => call(opts, sockets));
      break;
  }
  return prog;
}

export async function main(argv: string[] = process.argv): Promise<number> {
  const first = argv[2];
  let status = 0;
  const load = first !== undefined && Object.hasOwn(MANAGEMENT, first) ? MANAGEMENT[first] : undefined;
  if (load) {
    await managementProgram(first!, await load(), (code) => (status = code)).parseAsync(argv);
    return status;
  }
  await runProgram((code) => (status = code)).parseAsync(argv);
  return status;
}
