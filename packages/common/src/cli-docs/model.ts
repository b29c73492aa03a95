/**
 * A command line described once, for the generators beside this file: the
 * bash and zsh completion scripts and the man page are all made from it, and
 * it is made from the definitions the CLI parses with (commander's, or
 * containode-oci's runc table), so a new command or option shows up in all
 * three without anyone editing them.
 */

/**
 * What an operand or an option's value names, so completion can offer live
 * values: container identities from the record store, images from mocker's
 * store, ports and nodes from the switch (`containet ports --json`).
 */
export type ValueKind = 'container' | 'image' | 'port' | 'node' | 'file' | 'directory' | 'program';

export interface CliOption {
  /** `-s` (one dash and one character), if it has one. */
  short?: string;
  /** `--socket`, if it has one (runc's single-dash long options are given as `--`). */
  long?: string;
  /** The value's name (`path` in `--socket <path>`); none for a flag. */
  value?: string;
  /** The value may be left out (`--opt [value]`). */
  optionalValue?: boolean;
  help: string;
  /** May be given more than once. */
  repeatable?: boolean;
  choices?: readonly string[];
  kind?: ValueKind;
  /** Shown in the man page. */
  defaultValue?: string;
  /** The environment variable that also sets it. */
  env?: string;
}

export interface CliOperand {
  name: string;
  help: string;
  required: boolean;
  /** Takes every remaining word (the last operand only). */
  variadic: boolean;
  choices?: readonly string[];
  kind?: ValueKind;
}

export interface CliCommand {
  name: string;
  aliases: readonly string[];
  help: string;
  options: readonly CliOption[];
  operands: readonly CliOperand[];
  /** Commands of its own (`containet lab deploy`): the command then takes one of them. */
  commands?: readonly CliCommand[];
}

/** Every command with its path of names (`['lab', 'deploy']`), parents before their commands. */
export function commandPaths(commands: readonly CliCommand[], parent: readonly string[] = []): { path: string[]; command: CliCommand }[] {
  return commands.flatMap((c) => [{ path: [...parent, c.name], command: c }, ...commandPaths(c.commands ?? [], [...parent, c.name])]);
}

/** Where completion finds live values; each field is a shell word (parameter expansions allowed). */
export interface LiveValues {
  /** The directory whose entries are the container identities. */
  containers?: { dir: string; /** an option on the line that names another directory */ option?: string };
  /** mocker's store (an OCI layout: the names are index.json's ref.name annotations). */
  images?: { store: string; option?: string };
  /** A command printing the switch's ports as JSON, and the options on the line that name its socket. */
  ports?: { command: string; socketOptions: readonly string[] };
}

export interface ManEntry {
  name: string;
  text: string;
}

export interface CliDescription {
  name: string;
  /** Manual section: 1 for user commands, 8 for administration (runc(8)). */
  section: 1 | 8;
  version: string;
  /** One line for the NAME section. */
  summary: string;
  /** Paragraphs of the DESCRIPTION section. */
  description: readonly string[];
  /** Synopsis lines, without the program's name (`[options] COMMAND [options]`). */
  synopsis: readonly string[];
  /** The program's own options (before any command). */
  options: readonly CliOption[];
  /** The program's own operands, when it runs something without a command (containode's PROGRAM). */
  operands: readonly CliOperand[];
  commands: readonly CliCommand[];
  /**
   * Where a command word is recognised: only as the first word (containode,
   * containet, whose options before a command belong to the run form), or
   * as the first operand after the program's options (mocker, runc).
   */
  commandWord: 'first' | 'after-options';
  /** The program's options are also taken after the command (commander without positional options). */
  optionsAnywhere: boolean;
  exitStatus: readonly ManEntry[];
  environment: readonly ManEntry[];
  files: readonly ManEntry[];
  seeAlso: readonly string[];
  live: LiveValues;
  /** Extra man page sections (title and paragraphs), after COMMANDS. */
  sections?: readonly { title: string; paragraphs: readonly string[] }[];
}

/** Every option name (`-s`, `--socket`) of an option list. */
export function optionNames(options: readonly CliOption[]): string[] {
  const out: string[] = [];
  for (const o of options) {
    if (o.short) out.push(o.short);
    if (o.long) out.push(o.long);
  }
  return out;
}
