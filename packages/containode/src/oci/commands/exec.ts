/** `exec [options] ID [COMMAND ARGS...]` or `exec --process FILE ID`: another process in the container. */
import * as args from '../args.js';
import type { OciCommandOptions } from './types.js';

export const commandNames = ['exec'];

export const help = 'exec [-t] [--console-socket S] [--cwd D] [-e K=V] [-u UID[:GID]] [-d] [--process FILE] ID [COMMAND ARGS...]';

export const options: readonly args.OptionDef[] = [
  { name: 'console-socket', value: true },
  { name: 'cwd', value: true },
  { name: 'env', short: 'e', value: true, repeat: true },
  { name: 'tty', short: 't' },
  { name: 'user', short: 'u', value: true },
  { name: 'additional-gids', short: 'g', value: true, repeat: true },
  { name: 'process', short: 'p', value: true },
  { name: 'detach', short: 'd' },
  { name: 'pid-file', value: true },
  { name: 'no-new-privs' },
  { name: 'cap', short: 'c', value: true, repeat: true },
  { name: 'preserve-fds', value: true },
];

export async function handler(opts: OciCommandOptions, operands: string[]): Promise<number> {
  const p = opts.options;
  const [id, ...cmd] = args.operands({ options: p, operands }, ['container-id'], 'exec', Infinity);
  const { execInContainer } = await import('../exec.js');
  return execInContainer(opts.global, {
    id: id!,
    args: cmd,
    processFile: args.str(p, 'process'),
    tty: args.flag(p, 'tty'),
    consoleSocket: args.str(p, 'console-socket'),
    cwd: args.str(p, 'cwd'),
    env: args.list(p, 'env'),
    user: args.str(p, 'user'),
    additionalGids: args.list(p, 'additional-gids'),
    detach: args.flag(p, 'detach'),
    pidFile: args.str(p, 'pid-file'),
    noNewPrivs: args.flag(p, 'no-new-privs'),
    caps: args.list(p, 'cap'),
  });
}
