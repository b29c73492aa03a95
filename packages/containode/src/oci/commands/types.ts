/**
 * The shape of a containode-oci command module, as containode's and
 * containet's commands/ (pnpm's): `commandNames`, `help` and
 * `handler(opts, args)`, plus the runc options it takes, which the adapter
 * (../main.ts) parses with runc's rules (../args.ts) before calling it.
 * Tests call handlers directly.
 */
import type { CliOperand } from '@containet/common/cli-docs';
import type { OptionDef, ParsedOptions } from '../args.js';
import type { Globals } from '../create.js';

export interface OciCommandOptions {
  /** The name it was called by (pause and resume share a module). */
  command: string;
  /** --root and the logger from the global options. */
  global: Globals;
  /** This command's options, parsed. */
  options: ParsedOptions;
}

export interface OciCommand {
  commandNames: readonly string[];
  help: string;
  options: readonly OptionDef[];
  /** Its operands, for the man page and completion. */
  operands?: readonly CliOperand[];
  /** Names in commandNames that are another name of the first (list, ls); the others are commands of their own. */
  aliases?: readonly string[];
  /** Options end at the first operand (the rest may be a program's arguments). Default true. */
  stopAtOperand?: boolean;
  /** The arguments reach the handler unparsed (a command that refuses whatever it is given). */
  unparsed?: boolean;
  /** Runs the command; resolves with the exit status. Output goes to fd 1 directly (the container may share our stdio). */
  handler: (opts: OciCommandOptions, args: string[]) => Promise<number>;
}
