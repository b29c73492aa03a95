/**
 * A CLI's commander definitions as a CliDescription. commander's objects
 * are read through the few public members used here (a structural type), so
 * common needs no dependency on commander.
 */
import type { CliCommand, CliOperand, CliOption, ValueKind } from './model.js';

export interface CommanderOptionLike {
  flags: string;
  description: string;
  short?: string;
  long?: string;
  required: boolean;
  optional: boolean;
  variadic: boolean;
  negate: boolean;
  argChoices?: string[];
  defaultValue?: unknown;
  envVar?: string;
}

export interface CommanderArgumentLike {
  description: string;
  required: boolean;
  variadic: boolean;
  argChoices?: string[];
  name(): string;
}

export interface CommanderLike {
  name(): string;
  description(): string;
  aliases(): string[];
  readonly registeredArguments: readonly CommanderArgumentLike[];
  readonly commands: readonly CommanderLike[];
  createHelp(): { visibleOptions(cmd: CommanderLike): CommanderOptionLike[]; visibleCommands(cmd: CommanderLike): CommanderLike[] };
}

/**
 * What operands and option values name, for live completion: keys are an
 * operand's or option's name (`id`, `image`), or `COMMAND NAME` for one
 * command only (`push target`, `lab exec node`); null for a value that
 * names nothing completion can list.
 */
export interface KindMap {
  operands?: Readonly<Record<string, KindOrChoices>>;
  options?: Readonly<Record<string, KindOrChoices>>;
}

/** A kind; the words it takes (an action such as add|del that the handler checks); null for nothing to list. */
export type KindOrChoices = ValueKind | readonly string[] | null;

function lookup(map: Readonly<Record<string, KindOrChoices>> | undefined, command: string, name: string): KindOrChoices | undefined {
  if (!map) return undefined;
  const own = map[`${command} ${name}`];
  return own !== undefined ? own : map[name];
}

/** Files and directories by the value's own name (`<dir>`, `<file>`, `<path>`). */
function kindOfValueName(value: string): ValueKind | undefined {
  if (/(^|[^a-z])dir(ectory)?$/i.test(value)) return 'directory';
  if (/^(file|path|[\w.-]*\.json)$/i.test(value)) return 'file';
  return undefined;
}

export function describeOption(o: CommanderOptionLike, command: string, kinds: KindMap = {}): CliOption {
  // `<value>` or `[value]` after the names; the value may hold brackets itself (`<addr[/mask]>`)
  const value = (/\s<(.+)>\s*$/.exec(o.flags) ?? /\s\[(.+)\]\s*$/.exec(o.flags))?.[1];
  const name = (o.long ?? o.short ?? '').replace(/^--?/, '');
  const found = lookup(kinds.options, command, name);
  const choices = Array.isArray(found) ? (found as readonly string[]) : o.argChoices;
  const given = Array.isArray(found) ? undefined : (found as ValueKind | null | undefined);
  // null in the map: a value that names nothing on this host (a path inside the container)
  const kind = value === undefined || given === null ? undefined : (given ?? kindOfValueName(value));
  const shown = o.defaultValue;
  return {
    ...(o.short ? { short: o.short } : {}),
    ...(o.long ? { long: o.long } : {}),
    ...(value !== undefined ? { value: value.replace(/\.\.\.$/, '') } : {}),
    ...(o.optional ? { optionalValue: true } : {}),
    help: o.description,
    ...(o.variadic || /\brepeatable\b/.test(o.description) ? { repeatable: true } : {}),
    ...(value !== undefined && choices ? { choices: [...choices] } : {}),
    ...(kind ? { kind } : {}),
    ...(value !== undefined && (typeof shown === 'string' || typeof shown === 'number') ? { defaultValue: String(shown) } : {}),
    ...(o.envVar ? { env: o.envVar } : {}),
  };
}

export function describeOperand(a: CommanderArgumentLike, command: string, kinds: KindMap = {}): CliOperand {
  const found = lookup(kinds.operands, command, a.name());
  const choices = Array.isArray(found) ? (found as readonly string[]) : a.argChoices;
  const kind = Array.isArray(found) ? undefined : (found as ValueKind | null | undefined);
  return {
    name: a.name(),
    help: a.description,
    required: a.required,
    variadic: a.variadic,
    ...(choices ? { choices: [...choices] } : {}),
    ...(kind ? { kind } : {}),
  };
}

/** The options commander shows in --help (so the implicit -h/--help too). */
export function describeOptions(cmd: CommanderLike, command: string, kinds: KindMap = {}): CliOption[] {
  return cmd.createHelp().visibleOptions(cmd).map((o) => describeOption(o, command, kinds));
}

/** `parent`: the names of the commands it is under (`['lab']` for `lab exec`); kinds are keyed by the whole path. */
export function describeCommand(cmd: CommanderLike, kinds: KindMap = {}, help?: string, parent: readonly string[] = []): CliCommand {
  const name = cmd.name();
  const path = [...parent, name];
  const key = path.join(' ');
  return {
    name,
    aliases: cmd.aliases(),
    help: help ?? cmd.description(),
    options: describeOptions(cmd, key, kinds),
    operands: cmd.registeredArguments.map((a) => describeOperand(a, key, kinds)),
    ...(cmd.commands.length ? { commands: describeCommands(cmd, kinds, path) } : {}),
  };
}

/** The visible subcommands of a program (commander's implicit `help` command left out). */
export function describeCommands(prog: CommanderLike, kinds: KindMap = {}, parent: readonly string[] = []): CliCommand[] {
  return prog
    .createHelp()
    .visibleCommands(prog)
    .filter((c) => prog.commands.includes(c))
    .map((c) => describeCommand(c, kinds, undefined, parent));
}
