/**
 * The shape of a containode command module, as containet's commands/
 * (pnpm's): `commandNames`, `help` and `handler(opts, args)`. A handler
 * resolves with text to print (exit 0) or with an exit status (it printed
 * what it had to, or the container's program did). cli.ts, the commander
 * adapter, maps argv to opts and args; tests call handlers directly.
 */
export type CommandResult = string | number;

export interface ContainodeCommand<O> {
  commandNames: readonly string[];
  help: string;
  handler: (opts: O, args: string[]) => Promise<CommandResult>;
}
