/**
 * A bash completion script from a CliDescription (bash(1), "Programmable
 * Completion"). It needs nothing from the bash-completion package, so it
 * also works when sourced by hand. The line is split on blanks from
 * COMP_LINE rather than taken from COMP_WORDS, which bash also splits at
 * COMP_WORDBREAKS (`=` and `:`), so `--socket=PATH` and image names such
 * as `alpine:3.20` stay one word; replies are trimmed back to what bash
 * replaces (the part after the last `=` or `:`).
 */
import { LIVE_KINDS, kindsUsed, liveValuesBody } from './live-values.js';
import { commandPaths, optionNames, type CliDescription, type CliOperand, type CliOption } from './model.js';

/** A shell function name for a program name. */
export function functionName(name: string): string {
  return `_${name.replace(/[^A-Za-z0-9_]/g, '_')}`;
}

/** What completes an option's value or an operand: a kind, `choices:A B`, or `value` (nothing to offer). */
function completionOf(x: { kind?: string; choices?: readonly string[] }): string {
  if (x.choices && x.choices.length) return `choices:${x.choices.join(' ')}`;
  return x.kind ?? 'value';
}

function quoteCase(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** Cases of `"$cmd $option"`; cmd `*` for options taken after any command. */
function valueCases(cmd: string, options: readonly CliOption[]): string[] {
  const out: string[] = [];
  for (const o of options) {
    if (o.value === undefined) continue;
    const names = optionNames([o]);
    const pattern = (n: string) => (cmd === '*' ? `*${quoteCase(` ${n}`)}` : quoteCase(`${cmd} ${n}`));
    out.push(`    ${names.map(pattern).join('|')}) echo ${quoteCase(completionOf(o))} ;;`);
  }
  return out;
}

function operandCase(cmd: string, operands: readonly CliOperand[]): string {
  if (operands.length === 0) return `    ${quoteCase(cmd)}) return 0 ;;`;
  const lines = operands.map((a, i) => `${a.variadic ? '*' : i}) echo ${quoteCase(completionOf(a))} ;;`);
  const last = operands[operands.length - 1]!;
  return `    ${quoteCase(cmd)}) case $2 in ${lines.join(' ')}${last.variadic ? '' : ` *) return 0 ;;`} esac ;;`;
}

export function bashCompletion(cli: CliDescription): string {
  const fn = functionName(cli.name);
  const all = commandPaths(cli.commands).map(({ path, command }) => ({ key: path.join(' '), parent: path.slice(0, -1).join(' '), command }));
  const globalFlags = optionNames(cli.options);
  const flagCases = [
    `    '') echo ${quoteCase(globalFlags.join(' '))} ;;`,
    ...all.map(({ key, command: c }) => {
      const own = optionNames(c.options);
      const flags = cli.optionsAnywhere ? [...own, ...globalFlags.filter((f) => !own.includes(f))] : own;
      return `    ${quoteCase(key)}) echo ${quoteCase(flags.join(' '))} ;;`;
    }),
  ];
  const valueLines = [
    ...valueCases('', cli.options),
    ...all.flatMap(({ key, command: c }) => valueCases(key, c.options)),
    ...(cli.optionsAnywhere ? valueCases('*', cli.options) : []),
  ];
  const operandLines = [operandCase('', cli.operands), ...all.map(({ key, command: c }) => operandCase(key, c.operands))];
  const commandLines = all.map(({ key, parent, command: c }) => `    ${[c.name, ...c.aliases].map((n) => quoteCase(`${parent} ${n}`)).join('|')}) echo ${quoteCase(key)} ;;`);
  const parents = [{ key: '', commands: cli.commands }, ...all.filter((p) => p.command.commands?.length).map((p) => ({ key: p.key, commands: p.command.commands! }))];
  const subcommandLines = parents.filter((p) => p.commands.length).map((p) => `    ${quoteCase(p.key)}) echo ${quoteCase(p.commands.flatMap((c) => [c.name, ...c.aliases]).join(' '))} ;;`);
  const commandHere = cli.commandWord === 'first' ? '$i -eq 1' : '$n -eq 0';
  const commandAtCursor = cli.commandWord === 'first' ? '$cword -eq 1' : '$n -eq 0';
  const live = [...kindsUsed(cli)].filter((k) => LIVE_KINDS.includes(k));
  return `# bash completion for ${cli.name}, made by \`${cli.name} completion bash\` from its command definitions.
# Install: ${cli.name} completion bash > /usr/share/bash-completion/completions/${cli.name}

# The flags of a command ('' for ${cli.name} itself).
${fn}_flags() {
  case $1 in
${flagCases.join('\n')}
  esac
}

# How the value of option $2 of command $1 is completed; fails for a flag.
${fn}_value_kind() {
  case "$1 $2" in
${valueLines.join('\n') || '    __none__) ;;'}
    *) return 1 ;;
  esac
}

# How operand $2 (from 0) of command $1 is completed.
${fn}_operand_kind() {
  case $1 in
${operandLines.join('\n')}
  esac
}

# The command word $2 names after command $1 ('' for ${cli.name} itself; aliases too); fails for any other word.
${fn}_command() {
  case "$1 $2" in
${commandLines.join('\n') || '    __none__) ;;'}
    *) return 1 ;;
  esac
}

# The command words command $1 takes ('' for ${cli.name} itself).
${fn}_subcommands() {
  case $1 in
${subcommandLines.join('\n') || '    __none__) ;;'}
  esac
}

# The value of the last of the options "$@" on the line (--opt VALUE or --opt=VALUE).
${fn}_optval() {
  local i o v=
  for ((i = 1; i < \${#words[@]} - 1; i++)); do
    for o in "$@"; do
      if [[ \${words[i]} == "$o" ]]; then v=\${words[i + 1]}; elif [[ \${words[i]} == "$o"=* ]]; then v=\${words[i]#*=}; fi
    done
  done
  printf '%s' "$v"
}

# Live values of a kind, one a line.
${fn}_values() {
${liveValuesBody(cli, `${fn}_optval`)}
}

${fn}_reply() {
  local kind=$1 cur=$2
  case $kind in
    file) COMPREPLY=($(compgen -f -- "$cur")); compopt -o filenames 2>/dev/null ;;
    directory) COMPREPLY=($(compgen -d -- "$cur")); compopt -o filenames 2>/dev/null ;;
    program) COMPREPLY=($(compgen -c -- "$cur")) ;;
    choices:*) COMPREPLY=($(compgen -W "\${kind#choices:}" -- "$cur")) ;;${live.map((k) => `\n    ${k}) COMPREPLY=($(compgen -W "$(${fn}_values ${k})" -- "$cur")) ;;`).join('')}
  esac
}

${fn}() {
  local words line=\${COMP_LINE:0:COMP_POINT}
  if [[ -n \${COMP_LINE-} ]]; then
    read -ra words <<<"$line"
    if [[ \${#words[@]} -eq 0 || $line =~ [[:space:]]$ ]]; then words+=(""); fi
  else
    words=("\${COMP_WORDS[@]:0:COMP_CWORD+1}")
  fi
  local cword=$((\${#words[@]} - 1))
  local cur=\${words[cword]} cmd= i w n=0 rest= kind= valueof=
  COMPREPLY=()
  for ((i = 1; i < cword; i++)); do
    w=\${words[i]}
    # the program's own arguments: none of ours
    if [[ $rest == program ]]; then continue; fi
    if [[ -z $rest ]]; then
      case $w in
        --) rest=operands; continue ;;
        -?*)
          if [[ $w != *=* ]] && ${fn}_value_kind "$cmd" "$w" >/dev/null; then
            i=$((i + 1))
            if [[ $i -eq $cword ]]; then valueof=$w; fi
          fi
          continue ;;
      esac
      if [[ $n -eq 0 ]] && [[ -n $cmd || ${commandHere} ]] && ${fn}_command "$cmd" "$w" >/dev/null; then
        cmd=$(${fn}_command "$cmd" "$w")
        continue
      fi
    fi
    kind=$(${fn}_operand_kind "$cmd" $n)
    n=$((n + 1))
    if [[ $kind == program ]]; then rest=program; fi
  done
  if [[ -n $valueof ]]; then
    kind=$(${fn}_value_kind "$cmd" "$valueof") && ${fn}_reply "$kind" "$cur"
  elif [[ $rest == program ]]; then
    return 0
  elif [[ -z $rest && $cur == -*=* ]]; then
    kind=$(${fn}_value_kind "$cmd" "\${cur%%=*}")
    cur=\${cur#*=}
    if [[ -n $kind ]]; then ${fn}_reply "$kind" "$cur"; fi
  elif [[ -z $rest && $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$(${fn}_flags "$cmd")" -- "$cur"))
  elif [[ -z $rest && $n -eq 0 && ( -n $cmd || ${commandAtCursor} ) && -n $(${fn}_subcommands "$cmd") ]]; then
    COMPREPLY=($(compgen -W "$(${fn}_subcommands "$cmd")" -- "$cur"))
  else
    kind=$(${fn}_operand_kind "$cmd" $n) && ${fn}_reply "$kind" "$cur"
  fi
  # bash replaces only what follows the last = or : of the word (COMP_WORDBREAKS)
  if [[ $cur == *[:=]* ]]; then
    local pre=\${cur%"\${cur##*[:=]}"}
    COMPREPLY=("\${COMPREPLY[@]#"$pre"}")
  fi
  return 0
}
complete -o default -F ${fn} ${cli.name}
`;
}
