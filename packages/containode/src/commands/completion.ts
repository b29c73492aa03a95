/**
 * `containode completion bash`: a bash completion script made from the
 * same commander definitions cli.ts parses with, so a new option or command
 * is completed without anyone editing the script. Container identities are
 * the directories of the record store (CONTAINET_STATE/containers).
 */
import { UsageError } from '@containet/common';
import type { Command } from 'commander';
import { MANAGEMENT, managementProgram, runProgram } from '../cli.js';

export const commandNames = ['completion'];

export const help = 'Print a shell completion script (bash) made from these command definitions.';

/** Commands whose first operand is a container identity. */
const TAKES_ID = new Set(['exec', 'stop', 'kill', 'inspect', 'logs', 'wait', 'rm']);

function flags(cmd: Command): string[] {
  const out: string[] = [];
  for (const o of cmd.options) {
    if (o.short) out.push(o.short);
    if (o.long) out.push(o.long);
  }
  return [...out, '--help'];
}

/** Every command and its flags, from the definitions. */
export function commandFlags(): Map<string, string[]> {
  const noop = () => {};
  const out = new Map<string, string[]>();
  out.set('run', flags(runProgram(noop)));
  for (const name of Object.keys(MANAGEMENT)) {
    const prog = managementProgram(name, noop);
    out.set(name, flags(prog.commands[0]!));
  }
  return out;
}

export function bashScript(): string {
  const commands = commandFlags();
  const cases = [...commands.entries()]
    .filter(([name]) => name !== 'run')
    .map(([name, f]) => `    ${name}) opts="${f.join(' ')}" ;;`)
    .join('\n');
  const ids = [...TAKES_ID].filter((n) => commands.has(n)).join('|');
  return `# bash completion for containode (made by \`containode completion bash\`)
_containode() {
  local cur=\${COMP_WORDS[COMP_CWORD]} cmd=\${COMP_WORDS[1]} opts
  local commands="${[...commands.keys()].join(' ')}"
  local run_opts="${commands.get('run')!.join(' ')} --version"
  if [ "$COMP_CWORD" -eq 1 ]; then
    if [[ $cur == -* ]]; then COMPREPLY=( $(compgen -W "$run_opts" -- "$cur") ); else COMPREPLY=( $(compgen -W "$commands" -- "$cur") ); fi
    return
  fi
  case "$cmd" in
${cases}
    *) opts="$run_opts" ;;
  esac
  if [[ $cur == -* ]]; then
    COMPREPLY=( $(compgen -W "$opts" -- "$cur") )
    return
  fi
  case "$cmd" in
    ${ids || '__none'})
      if [ "$COMP_CWORD" -eq 2 ]; then
        local dir="\${CONTAINET_STATE:-/run/containet}/containers"
        COMPREPLY=( $(compgen -W "$(ls "$dir" 2>/dev/null)" -- "$cur") )
        return
      fi ;;
  esac
  COMPREPLY=()
}
complete -o default -F _containode containode
`;
}

export async function handler(_opts: object, args: string[]): Promise<string> {
  const [shell, extra] = args;
  if (extra !== undefined) throw new UsageError(`completion: unexpected argument ${extra}`);
  if (shell !== 'bash') throw new UsageError(`no completion for shell ${shell ?? '(none)'}`, 'containode completion bash');
  return bashScript();
}
