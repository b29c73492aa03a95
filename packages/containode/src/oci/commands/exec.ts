/** `exec [options] ID [COMMAND ARGS...]` or `exec --process FILE ID`: another process in the container. */
import * as args from '../args.js';
import type { CliOperand } from '@containet/common/cli-docs';
import type { OciCommandOptions } from './types.js';

export const commandNames = ['exec'];

export const help = 'exec [-t] [--console-socket S] [--cwd D] [-e K=V] [-u UID[:GID]] [-d] [--process FILE] ID [COMMAND ARGS...]';

export const options: readonly args.OptionDef[] = [
  { name: 'console-socket', value: true, valueName: 'SOCKET', help: 'with -t: send the pty master over this unix socket' },
  { name: 'cwd', value: true, valueName: 'DIR', help: 'working directory inside the container' },
  { name: 'env', short: 'e', value: true, repeat: true, valueName: 'KEY=VALUE', help: 'an environment variable (repeatable)' },
  { name: 'tty', short: 't', help: 'give the process a terminal' },
  { name: 'user', short: 'u', value: true, valueName: 'UID[:GID]', help: 'run as this user' },
  { name: 'additional-gids', short: 'g', value: true, repeat: true, valueName: 'GID', help: 'an additional group (repeatable)' },
  { name: 'process', short: 'p', value: true, valueName: 'FILE', help: 'the process as JSON (runtime-spec process), instead of COMMAND and the options' },
  { name: 'detach', short: 'd', help: 'do not wait for the process' },
  { name: 'pid-file', value: true, valueName: 'FILE', help: 'write the process\'s PID to FILE' },
  { name: 'no-new-privs', help: 'set no_new_privs for the process' },
  { name: 'cap', short: 'c', value: true, repeat: true, valueName: 'CAP', help: 'an additional capability (repeatable)' },
  { name: 'preserve-fds', value: true, valueName: 'N', help: 'only 0 is supported: only stdio reaches the process' },
];

export const operands: readonly CliOperand[] = [{ name: 'container-id', help: 'the container\'s identity (unique in --root)', required: true, variadic: false, kind: 'container' }, { name: 'command', help: 'the program and its arguments (else --process)', required: false, variadic: true, kind: 'program' }];

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
