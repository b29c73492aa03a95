/**
 * The commander adapter: options and arguments in, a command handler called,
 * its output printed. Nothing else lives here.
 */
import { readFileSync } from 'node:fs';
import { Argument, Command, CommanderError, Option } from 'commander';
import { ContainetError, DEFAULT_SOCKET, UsageError } from '@containet/common';
import { CLI_DOCUMENT_FORMATS, COMPLETION_HELP } from '@containet/common/cli-docs';
import * as serve from './commands/serve.js';
import * as ports from './commands/ports.js';
import * as macs from './commands/macs.js';
import * as detach from './commands/detach.js';
import * as undetach from './commands/undetach.js';
import * as status from './commands/status.js';
import * as capture from './commands/capture.js';
import * as top from './commands/top.js';
import * as host from './commands/host.js';
import * as vxlan from './commands/vxlan.js';
import * as lab from './commands/lab.js';
import * as portCmd from './commands/port.js';

interface ClientCommand {
  commandNames: string[];
  help: string;
  handler: (opts: { socket?: string; json?: boolean }, args: string[]) => Promise<string>;
}

function socketOption(): Option {
  return new Option('-s, --socket <path>', 'control socket').default(DEFAULT_SOCKET);
}

function addServeOptions(cmd: Command): Command {
  return cmd
    .addOption(socketOption())
    .option('--mac-age <seconds>', 'forget MACs not seen for this long; 0 never (default 300)')
    .option('--mac-table-size <n>', 'MAC table entries; the oldest is evicted when full (default 8192)')
    .option('--group <group>', 'also let this group use the socket (mode 0660)')
    .option('--listen <host:port>', 'serve the dashboard (HTTP and WebSocket) here, e.g. 127.0.0.1:7480')
    .option('--token <token>', 'clients of the dashboard must give ?token=TOKEN (required off loopback)')
    .option('--admin-token <token>', 'lets dashboard clients that give it detach ports')
    .option('--host <addr/prefix>', "give the host a port on the switch with this address (the containers' gateway), e.g. 10.0.0.1/24")
    .option('--nat', "masquerade the --host subnet's traffic to the outside (iptables or nft rules, removed on exit)")
    .option('--vxlan <vni>', 'add a VXLAN uplink (RFC 7348) for this VNI to other hosts')
    .option('--vxlan-local <addr[:port]>', 'local VTEP address to bind (UDP port 4789 unless given)')
    .option('--vxlan-remote <addr[:port]>', 'a remote VTEP (repeatable)', (v: string, prev: string[] = []) => [...prev, v])
    .option('--vxlan-mtu <bytes>', "the underlay MTU (default 1500); the containers' MTU must be at most 50 less")
    .option('--allow-duplicate-addresses', 'let two ports carry the same IPv4 address or MAC (refused by default)')
    .option('--debug', 'print stack traces of errors');
}

/** The package's version, shown by --version. */
export function version(): string {
  return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

export function program(): Command {
  const prog = new Command('containet')
    .description('A userspace ethernet switch for containers: taps attach over a unix socket.')
    .version(version(), '-V, --version', 'print the version and exit')
    .enablePositionalOptions()
    .exitOverride()
    // Parse errors are ours to print (main): one line and a hint, exit 2.
    .configureOutput({ outputError: () => {} });
  const runServe = async (opts: serve.ServeOptions): Promise<void> => {
    process.exitCode = await serve.handler(opts);
  };
  // `containet [options]` runs the switch; a word that is no command never
  // does (commander would pass it to the root action as an operand).
  addServeOptions(prog)
    .usage('[options]            run the switch\n       containet COMMAND [options]  see Commands')
    .argument('[command]')
    .argument('[args...]')
    .action(async (word: string | undefined, args: string[], opts: serve.ServeOptions) => {
      if (word === undefined) return runServe(opts);
      if (word === 'help') {
        const sub = args[0] === undefined ? undefined : prog.commands.find((c) => c.name() === args[0]);
        if (args[0] !== undefined && !sub) throw new UsageError(`unknown command '${args[0]}'`, 'see containet --help');
        process.stdout.write((sub ?? prog).helpInformation());
        return;
      }
      throw new UsageError(`unknown command '${word}' (see containet --help)`);
    });
  addServeOptions(prog.command('serve').description(serve.help)).action(runServe);
  const clients: ClientCommand[] = [ports, macs, status];
  for (const mod of clients) {
    prog
      .command(mod.commandNames[0]!)
      .description(mod.help)
      .addOption(socketOption())
      .option('--json', 'print JSON')
      .option('--debug', 'print stack traces of errors')
      .action(async (opts: { socket?: string; json?: boolean }) => {
        process.stdout.write(await mod.handler(opts, []));
      });
  }
  prog
    .command('detach')
    .argument('<port>', 'port id or node identity')
    .description(detach.help)
    .addOption(socketOption())
    .option('--permanent', "also refuse the node's attaches from now on, across switch restarts (until containet undetach)")
    .option('--json', 'print JSON')
    .option('--debug', 'print stack traces of errors')
    .action(async (port: string, opts: detach.DetachOptions) => {
      process.stdout.write(await detach.handler(opts, [port]));
    });
  prog
    .command('undetach')
    .argument('<node>', 'node identity')
    .description(undetach.help)
    .addOption(socketOption())
    .option('--json', 'print JSON')
    .option('--debug', 'print stack traces of errors')
    .action(async (node: string, opts: { socket?: string; json?: boolean }) => {
      process.stdout.write(await undetach.handler(opts, [node]));
    });
  prog
    .command('host')
    .argument('<action>', 'add or del')
    .argument('[address]', 'add: ADDR/PREFIX for the host port')
    .description(host.help)
    .addOption(socketOption())
    .option('--nat', 'also masquerade the subnet to the outside')
    .option('--json', 'print JSON')
    .option('--debug', 'print stack traces of errors')
    .action(async (action: string, address: string | undefined, opts: host.HostOptions) => {
      process.stdout.write(await host.handler(opts, address === undefined ? [action] : [action, address]));
    });
  prog
    .command('vxlan')
    .argument('<action>', 'show, add, add-remote, del-remote or del')
    .argument('[arg]', 'VNI for add, ADDR[:PORT] for add-remote/del-remote')
    .description(vxlan.help)
    .addOption(socketOption())
    .option('--local <addr[:port]>', 'add: the local VTEP address')
    .option('--remote <addr[:port]>', 'add: a remote VTEP (repeatable)', (v: string, prev: string[] = []) => [...prev, v])
    .option('--mtu <bytes>', 'add: the underlay MTU (default 1500)')
    .option('--json', 'print JSON')
    .option('--debug', 'print stack traces of errors')
    .action(async (action: string, arg: string | undefined, opts: vxlan.VxlanOptions) => {
      process.stdout.write(await vxlan.handler(opts, arg === undefined ? [action] : [action, arg]));
    });
  prog
    .command('port')
    .argument('<action>', 'set')
    .argument('<port>', 'port id, NODE (its only port) or NODE:IFNAME')
    .description(portCmd.help)
    .addOption(socketOption())
    .option('--vlan <id>', 'access port of this VLAN (1..4094)')
    .option('--trunk <ids>', 'trunk carrying these VLANs tagged: ID,ID.. (or A-B)')
    .option('--native <id>', 'with --trunk: the VLAN its untagged frames belong to')
    .option('--direction <dir>', 'impairments of in (frames the switch receives from the port), out or both (default)')
    .option('--delay <time>', 'added delay, e.g. 20ms')
    .option('--jitter <time>', 'delay variation, e.g. 2ms')
    .option('--distribution <name>', 'jitter distribution: uniform (default), normal, pareto, paretonormal')
    .option('--loss <percent>', 'random loss, e.g. 1%')
    .option('--loss-burst <p,r[,1-h[,1-k]]>', 'Gilbert-Elliott loss in percent, as tc-netem loss gemodel')
    .option('--rate <rate>', 'rate limit on the wire, e.g. 100mbit')
    .option('--limit <bytes>', 'frame bytes a direction may queue (default: what the rate carries in the delay + 20 ms; 16mb without a rate)')
    .option('--duplicate <percent>', 'duplicate frames, e.g. 1%')
    .option('--reorder <percent>', 'send frames at once, ahead of delayed ones, e.g. 1% (needs --delay)')
    .option('--corrupt <percent>', 'flip a bit in frames, e.g. 0.1%')
    .option('--seed <n>', 'seed of the random draws, for reproducible runs')
    .option('--clear', 'remove the impairments of the direction(s)')
    .option('--json', 'print JSON')
    .option('--debug', 'print stack traces of errors')
    .action(async (action: string, port: string, opts: portCmd.PortSetOptions) => {
      process.stdout.write(await portCmd.handler(opts, [action, port]));
    });
  prog
    .command('capture')
    .argument('<port>', 'port id, node identity, or "all"')
    .argument('[filter...]', 'a pcap-filter(7) expression, e.g. icmp or tcp port 80')
    .description(capture.help)
    .addOption(socketOption())
    .requiredOption('-w, --write <file>', 'pcap file to write, - for stdout')
    .option('-c, --count <n>', 'stop after this many frames')
    .option('--snaplen <bytes>', 'bytes kept per frame (64..262144)')
    .option('--debug', 'print stack traces of errors')
    .action(async (port: string, filter: string[], opts: capture.CaptureOptions) => {
      const onReady = (id: number, p: number) => process.stderr.write(`containet: capturing ${p === 0 ? 'all ports' : `port ${p}`} (capture ${id})\n`);
      process.stderr.write(`containet: ${await capture.handler({ ...opts, onReady }, [port, ...filter])}`);
    });
  prog
    .command('top')
    .argument('[host:port]', 'read the dashboard served there (containet --listen) instead of the control socket')
    .description(top.help)
    .addOption(socketOption())
    .option('--token <token>', 'the dashboard token, if one is set')
    .option('--once', 'print one sample and exit')
    .option('--debug', 'print stack traces of errors')
    .action(async (where: string | undefined, opts: top.TopOptions) => {
      process.stdout.write(await top.handler(opts, where === undefined ? [] : [where]));
    });
  addLabCommand(prog);
  prog
    .command('completion')
    .addArgument(new Argument('<format>', 'bash or zsh (a completion script), man (the man page)').choices(CLI_DOCUMENT_FORMATS))
    .description(COMPLETION_HELP)
    .action(async (format: string) => {
      const [{ cliDocument }, { describeContainet }] = await Promise.all([import('@containet/common/cli-docs'), import('./manual.js')]);
      process.stdout.write(cliDocument(describeContainet(prog, version()), format));
    });
  return prog;
}

/** `containet lab ACTION -t FILE`: one subcommand per action, so each has its help and options. */
function addLabCommand(prog: Command): void {
  const cmd = prog.command('lab').description(lab.help).enablePositionalOptions();
  const topo = (c: Command): Command => c.requiredOption('-t, --topo <file>', 'the topology file (containerlab format)').option('--debug', 'print stack traces of errors');
  const runLab = async (action: string, opts: lab.LabOptions, args: string[] = []): Promise<void> => {
    process.stdout.write(await lab.handler({ ...opts, log: (l) => process.stderr.write(`containet: ${l}\n`) }, [action, ...args]));
  };
  topo(cmd.command('deploy').description('start the lab: switches, nodes, links, exec commands (all or nothing; Ctrl-C undoes it)'))
    .option('--reconfigure', 'destroy the lab first if it is deployed')
    .option('--json', 'print the deployed lab as JSON (as inspect --json)')
    .action(async (opts: lab.LabOptions) => {
      // Ctrl-C or TERM mid-deploy: the deploy stops at its next step and removes what it made.
      const abort = new AbortController();
      const stop = (): void => abort.abort();
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
      try {
        await runLab('deploy', { ...opts, signal: abort.signal });
      } finally {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
      }
    });
  topo(cmd.command('destroy').description("remove the lab: containers, taps, switches, records, the lab's directories"))
    .option('--cleanup', 'also when no record is left (after a killed deploy): remove what the file names')
    .option('--json', 'print JSON')
    .action((opts: lab.LabOptions) => runLab('destroy', opts));
  topo(cmd.command('inspect').description("the lab's nodes (state, management address, interfaces and their switch ports) and switches"))
    .option('--json', 'print JSON')
    .action((opts: lab.LabOptions) => runLab('inspect', opts));
  topo(cmd.command('exec').description('run a command in a node (containode exec); exits with its status'))
    .argument('<node>', 'node name')
    .argument('<command...>', 'the command and its arguments (after --)')
    .passThroughOptions()
    .action((node: string, command: string[], opts: lab.LabOptions) => runLab('exec', opts, [node, ...command]));
  topo(cmd.command('graph').description('draw the topology: an HTML page with an SVG picture, no external assets'))
    .option('-o, --output <file>', 'where to write it (- for stdout; default NAME.graph.html next to the topology file)')
    .option('--json', 'print JSON')
    .action((opts: lab.LabOptions) => runLab('graph', opts));
}

/**
 * commander's parse errors as ours: `containet: unknown option '--bogus'`
 * and a hint, exit 2 (its own print `error: ...` and exit 1). Help and
 * --version end with exit 0.
 */
export function parseError(err: CommanderError, command?: string): UsageError | undefined {
  if (err.exitCode === 0) return undefined;
  const what = err.message.replace(/^error: /, '').replace(/\.$/, '');
  return new UsageError(what, `see containet ${command ? `${command} ` : ''}--help`);
}

export async function main(argv: string[] = process.argv): Promise<void> {
  const prog = program();
  try {
    await prog.parseAsync(argv);
  } catch (err) {
    // The command a parse error is about, for its hint: the first word that names one.
    const command = argv.slice(2).find((w) => prog.commands.some((c) => c.name() === w));
    const e = err instanceof CommanderError ? parseError(err, command) : err;
    if (e === undefined) return;
    // With --json nothing but JSON goes to stdout; the error is one line on stderr.
    if (argv.includes('--json') && e instanceof ContainetError && e.hint) {
      throw new ContainetError(e.code, `${e.message} (hint: ${e.hint})`, { exitCode: e.exitCode, cause: e });
    }
    throw e;
  }
}
