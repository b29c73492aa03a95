/** `create --bundle DIR [--pid-file F] [--console-socket S] [--no-pivot] ID` and the options run shares. */
import { ContainetError } from '@containet/common';
import * as args from '../args.js';
import type { CreateOptions } from '../create.js';
import type { CliOperand } from '@containet/common/cli-docs';
import type { OciCommandOptions } from './types.js';

export const commandNames = ['create'];

export const help = 'create --bundle DIR [--pid-file F] [--console-socket S] [--no-pivot] ID: set the container up; its program waits for start';

export const options: readonly args.OptionDef[] = [
  { name: 'bundle', short: 'b', value: true, valueName: 'DIR', help: 'the bundle: config.json and the root filesystem (default: the current directory)' },
  { name: 'pid-file', value: true, valueName: 'FILE', help: 'write the container\'s PID 1 (as seen from the host) to FILE' },
  { name: 'console-socket', value: true, valueName: 'SOCKET', help: 'send the pty master of a terminal container (process.terminal) over this unix socket' },
  { name: 'no-pivot', help: 'move the root with MS_MOVE and chroot instead of pivot_root (for a root on a ramfs)' },
  { name: 'no-new-keyring', help: 'accepted: no session keyring is created in any case' },
  { name: 'preserve-fds', value: true, valueName: 'N', help: 'only 0 is supported: only stdio reaches the container' },
];

export const operands: readonly CliOperand[] = [{ name: 'container-id', help: 'the container\'s identity (unique in --root)', required: true, variadic: false, kind: 'container' }];

/** What create and run take from their options and operands. */
export function createOptions(opts: OciCommandOptions, operands: string[], what: string): CreateOptions {
  const p = opts.options;
  const [id] = args.operands({ options: p, operands }, ['container-id'], what);
  const preserve = args.str(p, 'preserve-fds');
  if (preserve !== undefined && preserve !== '0') {
    throw new ContainetError('CN_OCI_UNSUPPORTED', `--preserve-fds ${preserve} is not supported: only stdio reaches the container`);
  }
  if (args.flag(p, 'no-new-keyring')) opts.global.log.debug('--no-new-keyring: no session keyring is created in any case');
  return {
    id: id!,
    bundle: args.str(p, 'bundle') ?? '.',
    pidFile: args.str(p, 'pid-file'),
    consoleSocket: args.str(p, 'console-socket'),
    noPivot: args.flag(p, 'no-pivot'),
  };
}

export async function handler(opts: OciCommandOptions, operands: string[]): Promise<number> {
  const { createContainer } = await import('../create.js');
  await createContainer(opts.global, createOptions(opts, operands, 'create'));
  return 0;
}
