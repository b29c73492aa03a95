/**
 * containet's command line described for `containet completion
 * bash|zsh|man` (@containet/common/cli-docs), from the commander program
 * cli.ts parses with. The exit statuses are the README's table (a test
 * compares them).
 */
import { DEFAULT_SOCKET } from '@containet/common';
import { type CliDescription, type CommanderLike, type KindMap, describeCommands, describeOptions } from '@containet/common/cli-docs';

const KINDS: KindMap = {
  // lab exec's <node> is a node of the lab's file, not of a switch; what follows it runs there
  operands: {
    port: 'port',
    node: 'node',
    'lab exec node': null,
    'lab exec command': 'program',
    // the actions the handlers take (they refuse any other word)
    'host action': ['add', 'del'],
    'vxlan action': ['show', 'add', 'add-remote', 'del-remote', 'del'],
    'port action': ['set'],
  },
  options: { socket: 'file', write: 'file', 'port direction': ['in', 'out', 'both'], 'port distribution': ['uniform', 'normal', 'pareto', 'paretonormal'] },
};

export const EXIT_STATUS = [
  { name: '0', text: 'done: a command\'s output printed, help or `--version`; `top` ended with `q` or Ctrl-C; `capture` stopped (Ctrl-C, `-c` frames, the port went away); the switch shut down on SIGINT/SIGTERM' },
  { name: '1', text: 'the switch or the system refused: no switch on the socket, not allowed on the socket, a request refused (`CN_DUPLICATE_ADDRESS`, `CN_DETACHED_PERMANENTLY`, `CN_NO_SUCH_PORT`, ...), the switch could not start (socket in use, a port or address taken), the switch went away under `top`' },
  { name: '2', text: 'usage: unknown command or option, missing or invalid argument or value, a capture filter libpcap does not compile; nothing was started or changed' },
  { name: '70', text: 'internal error (a bug; `--debug` shows where)' },
  { name: '130', text: 'interrupted: `lab deploy` stopped by Ctrl-C (SIGINT) or SIGTERM after removing what it had made' },
];

export function describeContainet(prog: CommanderLike, version: string): CliDescription {
  return {
    name: 'containet',
    section: 1,
    version,
    summary: 'a userspace ethernet switch for containers',
    description: [
      prog.description(),
      'Without a command, containet runs the switch (as `containet serve`): its forwarding loop runs in C on its own thread, driven by epoll over the taps containers hand over on the control socket (containode -s, containet-cni, containode-oci annotations). The other commands talk to a running switch over that socket.',
    ],
    synopsis: ['[options]', 'COMMAND [options] [ARGS...]'],
    options: describeOptions(prog, '', KINDS),
    // The root's [command] [args...] only route words to the commands.
    operands: [],
    commands: describeCommands(prog, KINDS),
    commandWord: 'first',
    optionsAnywhere: false,
    exitStatus: EXIT_STATUS,
    environment: [
      { name: 'CONTAINET_STATE', text: 'the state directory (default /run/containet): nodes detached with --permanent' },
      { name: 'CONTAINET_DEBUG', text: '1: print stack traces of errors, as --debug' },
    ],
    files: [{ name: DEFAULT_SOCKET, text: 'the default control socket (-s)' }],
    seeAlso: ['containode(1)', 'mocker(1)', 'containode-oci(8)', 'pcap-filter(7)', 'tcpdump(8)'],
    live: { ports: { command: 'containet ports --json', socketOptions: ['-s', '--socket'] } },
  };
}
