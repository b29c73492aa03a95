/**
 * `containode completion bash|zsh|man`: a completion script or the man
 * page, made (by @containet/common/cli-docs) from the same commander
 * definitions cli.ts parses with, so a new option or command is completed
 * and documented without anyone editing a script. Container identities are
 * completed from the record store (CONTAINET_STATE/containers), images from
 * mocker's store.
 */
import { UsageError } from '@containet/common';
import { COMPLETION_HELP, cliDocument } from '@containet/common/cli-docs';
import { describeContainode } from '../manual.js';

export const commandNames = ['completion'];

export const help = COMPLETION_HELP;

export async function handler(_opts: object, args: string[]): Promise<string> {
  const [format, extra] = args;
  if (extra !== undefined) throw new UsageError(`completion: unexpected argument ${extra}`);
  return cliDocument(await describeContainode(), format);
}
