/**
 * The commander adapter: argv in, a command handler called, its status
 * out. `containode ps|exec|stop|kill|inspect ...` are management commands;
 * anything else runs a container (a program called like a command is run
 * with `containode -- ps`).
 */
import { Command, Option } from 'commander';
import * as run from './commands/run.js';
import { addLimitOptions } from './limits/options.js';

const MANAGEMENT = new Set(['ps', 'exec', 'stop', 'kill', 'inspect']);

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

export async function main(argv: string[] = process.argv): Promise<number> {
  const first = argv[2];
  if (first === 'cleanup') return (await import('./commands/cleanup.js')).cleanupMain(argv); // issue 11
  if (first !== undefined && MANAGEMENT.has(first)) {
    const { managementProgram } = await import('./commands/manage.js');
    let status = 0;
    await managementProgram((code) => (status = code)).parseAsync(argv);
    return status;
  }
  let status = 0;
  await runProgram((code) => (status = code)).parseAsync(argv);
  return status;
}
