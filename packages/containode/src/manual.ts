/**
 * containode's command line described for `containode completion
 * bash|zsh|man` (@containet/common/cli-docs), from the same commander
 * definitions cli.ts parses with: the run form, `run`, and every
 * management command. The exit statuses are the README's table (a test
 * compares them).
 */
import { type CliDescription, type KindMap, COMPLETION_HELP, describeCommand, describeOptions } from '@containet/common/cli-docs';
import { MANAGEMENT, VERSION, managementProgram, runProgram } from './cli.js';

const KINDS: KindMap = {
  operands: { id: 'container', program: 'program', socket: 'file' },
  options: { image: 'image', store: 'directory', socket: 'file', workdir: null, top: 'directory', restart: ['no', 'on-failure', 'always'] },
};

export const EXIT_STATUS = [
  { name: '0', text: 'success (`run`: the program exited 0)' },
  { name: '1..125', text: '`run`, `exec`: the program\'s own status' },
  { name: '1', text: 'an error containode reports in one line (no such container, a container still running for `rm`, no root, a switch that refuses, ...)' },
  { name: '2', text: 'a bad command line (unknown option, missing operand, invalid value, a refused verb or `-it`)' },
  { name: '70', text: 'an internal error (a bug: run with `--debug` for the stack)' },
  { name: '126', text: '`run`, `exec`: the program is not executable' },
  { name: '127', text: '`run`, `exec`: the program does not exist' },
  { name: '128+N', text: '`run`, `exec`: the program was killed by signal N' },
];

export async function describeContainode(): Promise<CliDescription> {
  const noop = () => {};
  const run = runProgram(noop);
  const commands = [describeCommand(runProgram(noop, 'run'), KINDS)];
  commands[0] = { ...commands[0]!, name: 'run' };
  for (const name of Object.keys(MANAGEMENT)) {
    const help = name === 'completion' ? COMPLETION_HELP : (await MANAGEMENT[name]!()).help;
    commands.push(describeCommand(managementProgram(name, noop, help).commands[0]!, KINDS));
  }
  return {
    name: 'containode',
    section: 1,
    version: VERSION,
    summary: 'run programs in Linux containers, optionally plugged into a containet switch',
    description: [
      run.description(),
      'In the bare form (`containode [OPTIONS] PROGRAM`) a first word that is a container-management verb of Docker or runc (rm, logs, top, cp, ...) is refused, so that a Docker habit never runs a host program on the host\'s files; `containode run -- rm FILE` runs it. -i is the identity (--name is the same) and -t the top directory, so Docker\'s -it is refused with the reason; a terminal is --tty.',
      'Every command but --version, --help and completion needs root.',
    ],
    synopsis: ['[options] [--] PROGRAM [ARGS...]', 'run [options] [--] PROGRAM [ARGS...]', 'COMMAND [options] [ARGS...]'],
    options: [...describeOptions(run, '', KINDS), { short: '-V', long: '--version', help: 'print the version and exit' }],
    operands: run.registeredArguments.map((a) => ({ name: a.name(), help: a.description, required: a.required, variadic: a.variadic, kind: 'program' as const })),
    commands,
    commandWord: 'first',
    optionsAnywhere: false,
    exitStatus: EXIT_STATUS,
    environment: [
      { name: 'CONTAINET_STATE', text: 'the state directory (default /run/containet): container records under containers/ID' },
      { name: 'CONTAINET_IMAGES', text: 'mocker\'s image store for --image (default /var/lib/containet/images)' },
      { name: 'CONTAINET_DEBUG', text: '1: print stack traces of errors, as --debug' },
    ],
    files: [
      { name: '/run/containet/containers/ID/', text: 'the record of container ID (state.json), the log of a detached container, its top directory unless -t names another' },
      { name: '/var/lib/containet/images', text: 'mocker\'s image store (an OCI image layout)' },
    ],
    seeAlso: ['containet(1)', 'mocker(1)', 'containode-oci(8)', 'namespaces(7)', 'cgroups(7)'],
    live: {
      containers: { dir: '${CONTAINET_STATE:-/run/containet}/containers' },
      images: { store: '${CONTAINET_IMAGES:-/var/lib/containet/images}', option: '--store' },
      ports: { command: 'containet ports --json', socketOptions: ['-s', '--socket'] },
    },
  };
}
