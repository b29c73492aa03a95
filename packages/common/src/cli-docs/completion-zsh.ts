/**
 * A zsh completion script from a CliDescription (zshcompsys(1): `#compdef`,
 * `_arguments` specs with descriptions, `_describe` for commands). It works
 * from a directory on $fpath (autoloaded as _NAME) and when sourced after
 * compinit.
 */
import { functionName } from './completion-bash.js';
import { LIVE_KINDS, kindsUsed, liveValuesBody } from './live-values.js';
import type { CliCommand, CliDescription, CliOperand, CliOption } from './model.js';

/** A word in single quotes. */
function sq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The first sentence of a help text, for a one-line description. */
export function firstSentence(help: string): string {
  const line = help.split('\n')[0]!.trim();
  const m = /^(.*?[^.\s][.;])(\s|$)/.exec(line);
  return (m ? m[1]! : line).replace(/[.;]$/, '');
}

/** An _arguments description in [...]: `]` and `\` escaped. */
function bracket(text: string): string {
  return firstSentence(text).replace(/\\/g, '\\\\').replace(/([[\]])/g, '\\$1');
}

/** An _arguments message or value name: `:` escaped. */
function message(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/:/g, '\\:');
}

function action(fn: string, x: { kind?: string; choices?: readonly string[] }): string {
  if (x.choices && x.choices.length) return `(${x.choices.map((c) => c.replace(/([\\ ()])/g, '\\$1')).join(' ')})`;
  switch (x.kind) {
    case 'file':
      return '_files';
    case 'directory':
      return '_files -/';
    case 'program':
      return '_command_names -e';
    case undefined:
      return ' ';
    default:
      return `${fn}_${x.kind}`;
  }
}

function optionSpecs(fn: string, options: readonly CliOption[]): string[] {
  const out: string[] = [];
  for (const o of options) {
    const names = [o.short, o.long].filter((n): n is string => n !== undefined);
    const excl = o.repeatable ? '*' : names.length > 1 ? `(${names.join(' ')})` : '';
    for (const n of names) {
      let suffix = '';
      let value = '';
      if (o.value !== undefined) {
        const long = n.startsWith('--');
        suffix = o.optionalValue ? (long ? '=-' : '-') : long ? '=' : '+';
        value = `${o.optionalValue ? '::' : ':'}${message(o.value)}:${action(fn, o)}`;
      }
      out.push(sq(`${excl}${n}${suffix}[${bracket(o.help)}]${value}`));
    }
  }
  return out;
}

function operandSpecs(fn: string, operands: readonly CliOperand[]): string[] {
  return operands.map((a, i) => {
    const msg = message(a.help ? `${a.name}: ${firstSentence(a.help)}` : a.name);
    if (a.variadic && a.kind === 'program' && a.choices === undefined) return sq(`*::${msg}:_normal`);
    if (a.variadic) return sq(`*${a.required ? ':' : '::'}${msg}:${action(fn, a)}`);
    return sq(`${i + 1}${a.required ? ':' : '::'}${msg}:${action(fn, a)}`);
  });
}

/** `-A '-*'` (the program's own call): words after the command word are the command's, options too. */
function argumentsCall(specs: string[], flags = ''): string {
  return `_arguments -s -S${flags} \\\n        ${specs.join(' \\\n        ')}`;
}

/** A function name for a command path (`_containet_lab_deploy`). */
function pathFunction(fn: string, path: readonly string[]): string {
  return [fn, ...path.map((p) => p.replace(/[^A-Za-z0-9_]/g, '_'))].join('_');
}

/**
 * The function completing a command that has commands of its own (the
 * program itself, `containet lab`): its options, then a command word, then
 * that command's words under `*::` (words shifted to start at it).
 */
function dispatchFunction(fn: string, cli: CliDescription, path: readonly string[], options: readonly CliOption[], commands: readonly CliCommand[], fallback: string): string[] {
  const name = pathFunction(fn, path);
  const specs = [...optionSpecs(fn, options), sq('1: :->command'), sq('*:: :->args')];
  const list = commands.flatMap((c) => [c.name, ...c.aliases].map((n) => sq(`${message(n)}:${firstSentence(c.help)}`))).join(' ');
  const title = [cli.name, ...path].join(' ');
  const nested: string[] = [];
  const cases = commands.map((c) => {
    const names = [c.name, ...c.aliases].map(sq).join('|');
    if (c.commands?.length) {
      nested.push(...dispatchFunction(fn, cli, [...path, c.name], c.options, c.commands, ''));
      return `      ${names})
        ${pathFunction(fn, [...path, c.name])} && ret=0 ;;`;
    }
    const globals = cli.optionsAnywhere ? cli.options.filter((g) => !c.options.some((o) => (o.long && o.long === g.long) || (o.short && o.short === g.short))) : [];
    const cspecs = [...optionSpecs(fn, c.options), ...optionSpecs(fn, globals), ...operandSpecs(fn, c.operands)];
    return `      ${names})
        ${cspecs.length ? argumentsCall(cspecs) : ':'} && ret=0 ;;`;
  });
  const programAtRoot = path.length === 0 && cli.operands[0]?.kind === 'program';
  const commandAction = programAtRoot
    ? `_alternative ${sq(`commands:command:_describe -t commands '${title} command' commands`)} 'programs:program:_command_names -e' && ret=0`
    : `_describe -t commands ${sq(`${title} command`)} commands && ret=0`;
  const own = `${name}() {
  local curcontext="$curcontext" state state_descr line ret=1
  typeset -A opt_args
${path.length === 0 ? `  local -a ${fn}_line
  ${fn}_line=("\${(@)words[1,CURRENT]}")
` : ''}  ${argumentsCall(specs, " -A '-*'")} && ret=0
  case $state in
    command)
      local -a commands
      commands=(${list})
      ${commandAction} ;;
    args)
      curcontext="\${curcontext%:*:*}:${[cli.name, ...path].join('-')}-$words[1]:"
      case $words[1] in
${cases.join('\n')}
${fallback}
      esac ;;
  esac
  return ret
}`;
  return [...nested, own];
}

export function zshCompletion(cli: CliDescription): string {
  const fn = functionName(cli.name);
  const rootOperands = cli.operands;
  const programAtRoot = rootOperands[0]?.kind === 'program';
  const rootFallback = programAtRoot ? `      *) _normal && ret=0 ;;` : rootOperands.length ? `      *) ${argumentsCall(operandSpecs(fn, rootOperands))} && ret=0 ;;` : '';
  const main = cli.commands.length
    ? dispatchFunction(fn, cli, [], cli.options, cli.commands, rootFallback)
    : [`${fn}() {
  local -a ${fn}_line
  ${fn}_line=("\${(@)words[1,CURRENT]}")
  ${argumentsCall([...optionSpecs(fn, cli.options), ...operandSpecs(fn, rootOperands)])}
}`];
  const live = [...kindsUsed(cli)].filter((k) => LIVE_KINDS.includes(k));
  return `#compdef ${cli.name}
# zsh completion for ${cli.name}, made by \`${cli.name} completion zsh\` from its command definitions.
# Install: ${cli.name} completion zsh > /usr/share/zsh/vendor-completions/_${cli.name}

# The value of the last of the options "$@" on the line (--opt VALUE or --opt=VALUE).
${fn}_optval() {
  local i o v=
  # the whole line: _arguments shifts words to the command's own
  local -a w
  w=("\${(@)${fn}_line}")
  for ((i = 1; i < $#w; i++)); do
    for o in "$@"; do
      if [[ $w[i] == "$o" ]]; then v=$w[i+1]; elif [[ $w[i] == "$o"=* ]]; then v=\${w[i]#*=}; fi
    done
  done
  print -r -- "$v"
}

# Live values of a kind, one a line.
${fn}_values() {
${liveValuesBody(cli, `${fn}_optval`)}
}
${live.map((k) => `
# (a tag of our own: zsh's standard tags such as ports come with styles of their own)
${fn}_${k}() {
  local -a vals expl
  vals=(\${(f)"$(${fn}_values ${k})"})
  _wanted ${cli.name}-${k}s expl ${k} compadd -a vals
}`).join('\n')}

${main.join('\n\n')}

if [[ $funcstack[1] == ${fn} ]]; then
  ${fn} "$@"
else
  compdef ${fn} ${cli.name}
fi
`;
}
