/**
 * containode-oci's command line described for `containode-oci completion
 * bash|zsh|man` (@containet/common/cli-docs), from the option tables the
 * commands parse with (args.ts, commands/). Section 8, as runc(8). The exit
 * statuses are the README's table (a test compares them).
 */
import type { CliCommand, CliDescription, CliOption, ValueKind } from '@containet/common/cli-docs';
import { GLOBAL_OPTIONS, type OptionDef } from './args.js';
import { COMMANDS } from './commands/index.js';
import { DEFAULT_ROOT, RUNTIME_VERSION } from './store.js';

const VALUE_KINDS: Readonly<Record<string, ValueKind>> = {
  root: 'directory',
  log: 'file',
  bundle: 'directory',
  'pid-file': 'file',
  'console-socket': 'file',
  process: 'file',
  criu: 'file',
};

const HELP_OPTION: CliOption = { short: '-h', long: '--help', help: 'print the usage and exit' };

export const EXIT_STATUS = [
  { name: '0', text: 'success' },
  { name: '1', text: 'an error containode-oci reports in one line (and in the --log file): no such container, a container in the wrong state, a config.json field it cannot honour, no root' },
  { name: '2', text: 'a bad command line (unknown command or option, a missing operand or value)' },
  { name: '70', text: 'an internal error (a bug: run with --debug for the stack)' },
  { name: 'N', text: '`run` in the foreground and `exec` without `-d`: the container\'s or the process\'s own exit status (128+N for signal N)' },
];

export function describeOption(o: OptionDef): CliOption {
  const kind = VALUE_KINDS[o.name];
  return {
    ...(o.short ? { short: `-${o.short}` } : {}),
    long: `--${o.name}`,
    ...(o.value ? { value: o.valueName ?? 'VALUE' } : {}),
    help: o.help,
    ...(o.repeat ? { repeatable: true } : {}),
    ...(o.choices ? { choices: o.choices } : {}),
    ...(o.value && kind ? { kind } : {}),
  };
}

/** `create --bundle DIR ... ID: set the container up` -> `set the container up`. */
function helpText(help: string): string {
  const at = help.indexOf(': ');
  return at < 0 ? help : help.slice(at + 2);
}

export async function describeContainodeOci(): Promise<CliDescription> {
  const commands: CliCommand[] = [];
  for (const [name, load] of Object.entries(COMMANDS)) {
    if (name.startsWith('__')) continue; // internal
    const mod = await load();
    if (mod.aliases?.includes(name)) continue;
    commands.push({
      name,
      aliases: (mod.aliases ?? []).filter((a) => mod.commandNames[0] === name && a !== name),
      help: helpText(mod.help),
      options: [...mod.options.map(describeOption), HELP_OPTION],
      operands: mod.operands ?? [],
    });
  }
  const globals = GLOBAL_OPTIONS.map(describeOption);
  return {
    name: 'containode-oci',
    section: 8,
    version: RUNTIME_VERSION,
    summary: 'an OCI runtime with runc\'s command line, on containode\'s container code',
    description: [
      'containode-oci runs containers from OCI bundles (a directory with config.json and a root filesystem; runtime-spec 1.0) with runc\'s command line, so containerd\'s runc shim, conmon and podman can drive it. `create` leaves only the container\'s init, waiting for `start`; fields of config.json it does not honour are named in a warning or an error, never ignored.',
      'The annotations containet.socket, containet.ipv4, containet.ipv6, containet.gateway and containet.mac attach eth0 to a containet switch; with containet.reattach "true" a small process keeps the port and re-attaches it when the switch restarts.',
      'Options may be given with one dash or two (`-root DIR`, `--root=DIR`), as runc\'s; the global options go before the command.',
    ],
    synopsis: ['[global options] COMMAND [options] [ARGS...]'],
    options: globals,
    operands: [],
    commands,
    commandWord: 'after-options',
    optionsAnywhere: false,
    exitStatus: EXIT_STATUS,
    environment: [{ name: 'CONTAINET_DEBUG', text: '1: print stack traces of errors, as --debug' }],
    files: [{ name: `${DEFAULT_ROOT}/ID/`, text: 'the state of container ID (the default --root)' }],
    seeAlso: ['runc(8)', 'containode(1)', 'containet(1)', 'containerd(8)'],
    live: { containers: { dir: DEFAULT_ROOT, option: '--root' } },
  };
}
