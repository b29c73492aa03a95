/** `NAME completion bash|zsh|man`: one command, in every CLI, printing what cli-docs makes. */
import { UsageError } from '../errors.js';
import { bashCompletion } from './completion-bash.js';
import { zshCompletion } from './completion-zsh.js';
import { manPage } from './man.js';
import type { CliDescription } from './model.js';

export const CLI_DOCUMENT_FORMATS = ['bash', 'zsh', 'man'] as const;

export const COMPLETION_HELP = 'Print a shell completion script (bash or zsh) or the man page (man, roff), made from these command definitions.';

/** The completion script or man page for `format`; a usage error for anything else. */
export function cliDocument(cli: CliDescription, format: string | undefined): string {
  switch (format) {
    case 'bash':
      return bashCompletion(cli);
    case 'zsh':
      return zshCompletion(cli);
    case 'man':
      return manPage(cli);
    default:
      throw new UsageError(`no completion for ${format === undefined ? '(none)' : format}: give bash, zsh or man`, `${cli.name} completion bash|zsh|man`);
  }
}
