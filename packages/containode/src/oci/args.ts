/**
 * runc's command line, parsed by hand: commander alone costs more start-up
 * time than the whole budget of a state/start/delete call. runc uses
 * urfave/cli, so `--root DIR`, `--root=DIR` and the single-dash `-root DIR`
 * all work, options stop at the first operand, and `--` ends them.
 */
import { UsageError } from '@containet/common';

export interface OptionDef {
  /** Long name without dashes. */
  name: string;
  /** One-letter alias. */
  short?: string;
  /** Takes a value (else a boolean flag). */
  value?: boolean;
  /** May be given several times (values collected in order). */
  repeat?: boolean;
  /** What it does, for the man page and zsh completion. */
  help: string;
  /** The value's name in the man page (`DIR`); default VALUE. */
  valueName?: string;
  /** The values it accepts, for completion. */
  choices?: readonly string[];
}

export type ParsedOptions = Record<string, string | string[] | boolean>;

export interface Parsed {
  options: ParsedOptions;
  operands: string[];
}

/**
 * Parse `argv` against `defs`; stops at the first operand when
 * `stopAtOperand`, so `exec ID sh -c x` keeps `-c` for the program.
 */
export function parseOptions(argv: readonly string[], defs: readonly OptionDef[], what: string, stopAtOperand = true): Parsed {
  const options: ParsedOptions = {};
  const operands: string[] = [];
  let i = 0;
  while (i < argv.length) {
    const arg = argv[i]!;
    i += 1;
    if (arg === '--') {
      operands.push(...argv.slice(i));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      operands.push(arg);
      if (stopAtOperand) {
        operands.push(...argv.slice(i));
        break;
      }
      continue;
    }
    const body = arg.replace(/^--?/, '');
    const eq = body.indexOf('=');
    const key = eq >= 0 ? body.slice(0, eq) : body;
    const def = defs.find((d) => d.name === key || d.short === key);
    if (!def) throw new UsageError(`${what}: unknown option ${arg}`, `see \`containode-oci ${what === 'containode-oci' ? '' : `${what} `}--help\``);
    let val: string | boolean = true;
    if (def.value) {
      if (eq >= 0) val = body.slice(eq + 1);
      else {
        if (i >= argv.length) throw new UsageError(`${what}: option ${arg} needs a value`);
        val = argv[i]!;
        i += 1;
      }
    } else if (eq >= 0) {
      const v = body.slice(eq + 1);
      if (v !== 'true' && v !== 'false') throw new UsageError(`${what}: option --${def.name} is a flag, not ${v}`);
      val = v === 'true';
    }
    if (def.repeat) {
      const prev = options[def.name];
      options[def.name] = [...(Array.isArray(prev) ? prev : []), String(val)];
    } else options[def.name] = val;
  }
  return { options, operands };
}

export function str(opts: ParsedOptions, name: string): string | undefined {
  const v = opts[name];
  return typeof v === 'string' ? v : undefined;
}

export function flag(opts: ParsedOptions, name: string): boolean {
  return opts[name] === true;
}

export function list(opts: ParsedOptions, name: string): string[] {
  const v = opts[name];
  return Array.isArray(v) ? v : [];
}

/** Exactly `n` operands named `names` (e.g. ['container-id']). */
export function operands(p: Parsed, names: string[], what: string, extra = 0): string[] {
  if (p.operands.length < names.length) {
    throw new UsageError(`${what}: missing ${names.slice(p.operands.length).map((n) => `<${n}>`).join(' ')}`, `usage: containode-oci ${what} [options] ${names.map((n) => `<${n}>`).join(' ')}`);
  }
  if (p.operands.length > names.length + extra) {
    throw new UsageError(`${what}: unexpected argument ${p.operands[names.length + extra]}`);
  }
  return p.operands;
}

/** Global options, before the command, as runc takes them. */
export const GLOBAL_OPTIONS: readonly OptionDef[] = [
  { name: 'root', value: true, valueName: 'DIR', help: 'state directory (default /run/containode-oci)' },
  { name: 'log', value: true, valueName: 'FILE', help: 'append log messages to FILE' },
  { name: 'log-format', value: true, valueName: 'FORMAT', choices: ['text', 'json'], help: 'format of the log: text (default) or json' },
  { name: 'debug', help: 'log debug messages; stack traces on errors' },
  { name: 'systemd-cgroup', help: 'not supported (an error): cgroups are managed through the cgroup filesystem' },
  { name: 'criu', value: true, valueName: 'PATH', help: 'accepted for runc\'s callers and ignored (checkpoint and restore are not supported)' },
  { name: 'rootless', value: true, valueName: 'true|false|auto', help: 'accepted for runc\'s callers and ignored' },
  { name: 'help', short: 'h', help: 'print the usage and exit' },
  { name: 'version', short: 'v', help: 'print the version and the OCI runtime-spec version, and exit' },
];
