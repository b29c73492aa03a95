/**
 * A man page in roff with the man(7) macros (.TH, .SH, .SS, .TP, .PP, .B,
 * .I, .BR) from a CliDescription: NAME, SYNOPSIS, DESCRIPTION, OPTIONS,
 * COMMANDS (each with its operands and options), EXIT STATUS, ENVIRONMENT,
 * FILES, SEE ALSO, as man-pages(7) orders them.
 */
import { commandPaths, type CliCommand, type CliDescription, type CliOperand, type CliOption, type ManEntry } from './model.js';

/**
 * Text for roff: backslashes as \e, a leading . or ' made literal with \&
 * (else a control line), hyphens kept as typed (\-) so options copy and
 * search correctly (groff_man(7), "Portability"), `code` in bold.
 */
export function roffText(text: string): string {
  return text
    .replace(/\\/g, '\\e')
    .replace(/-/g, '\\-')
    .replace(/`([^`]+)`/g, '\\fB$1\\fR')
    .split('\n')
    .map((l) => (/^[.']/.test(l) ? `\\&${l}` : l))
    .join('\n');
}

function bold(text: string): string {
  return `\\fB${roffText(text)}\\fR`;
}

function italic(text: string): string {
  return `\\fI${roffText(text)}\\fR`;
}

/** `-s, --socket <path>` as a .TP tag. */
function optionTag(o: CliOption): string {
  const names = [o.short, o.long].filter((n): n is string => n !== undefined).map(bold).join(', ');
  if (o.value === undefined) return names;
  const v = italic(o.value);
  return `${names} ${o.optionalValue ? `[${v}]` : v}`;
}

function optionText(o: CliOption): string {
  const extra: string[] = [];
  if (o.choices?.length) extra.push(`one of: ${o.choices.join(', ')}`);
  if (o.defaultValue !== undefined && !/\bdefault\b/.test(o.help)) extra.push(`default: ${o.defaultValue}`);
  if (o.env) extra.push(`environment: ${o.env}`);
  return roffText(o.help + (extra.length ? ` (${extra.join('; ')})` : ''));
}

function optionList(options: readonly CliOption[]): string[] {
  return options.flatMap((o) => ['.TP', optionTag(o), optionText(o)]);
}

function operandWord(a: CliOperand): string {
  const w = `${a.name.toUpperCase()}${a.variadic ? '...' : ''}`;
  return a.required ? w : `[${w}]`;
}

function operandList(operands: readonly CliOperand[]): string[] {
  return operands.filter((a) => a.help).flatMap((a) => ['.TP', italic(operandWord(a)), roffText(a.help + (a.choices?.length ? ` (one of: ${a.choices.join(', ')})` : ''))]);
}

function commandSection(cli: CliDescription, c: CliCommand, path: readonly string[]): string[] {
  const usage = [c.options.length ? '[options]' : '', ...c.operands.map(operandWord)].filter(Boolean).join(' ');
  const sub = c.commands?.length ? 'COMMAND ' : '';
  const out = ['.SS', `${bold(path.join(' '))} ${roffText(sub + usage)}`.trimEnd()];
  if (c.aliases.length) out.push(`(also ${c.aliases.map(bold).join(', ')})`, '.br');
  // The explicit form of the program's own synopsis (containode run): said once.
  const same = cli.description[0] === c.help;
  out.push(same ? 'The explicit form of the first line of SYNOPSIS (see DESCRIPTION).' : roffText(c.help));
  const operands = operandList(c.operands);
  const key = (o: CliOption) => `${o.short} ${o.long} ${o.value} ${o.help}`;
  const rootOptions = new Set(cli.options.map(key));
  const sharesRoot = c.options.length > 2 && c.options.every((o) => rootOptions.has(key(o)));
  const options = sharesRoot ? ['.PP', 'Its options are those of OPTIONS above.'] : optionList(c.options);
  if (operands.length || options.length) out.push('.RS', ...operands, ...options, '.RE');
  return out;
}

function entries(list: readonly ManEntry[], tag: (s: string) => string = bold): string[] {
  return list.flatMap((e) => ['.TP', tag(e.name), roffText(e.text)]);
}

export function manPage(cli: CliDescription): string {
  const title = cli.name.toUpperCase();
  const lines: string[] = [
    `.\\" Made by \`${cli.name} completion man\` from its command definitions; do not edit.`,
    `.TH ${roffText(title)} ${cli.section} "" "${roffText(`${cli.name} ${cli.version}`)}" "containet"`,
    '.SH NAME',
    `${roffText(cli.name)} \\- ${roffText(cli.summary)}`,
    '.SH SYNOPSIS',
  ];
  cli.synopsis.forEach((s, i) => {
    if (i > 0) lines.push('.br');
    lines.push(`${bold(cli.name)} ${roffText(s)}`);
  });
  lines.push('.SH DESCRIPTION');
  cli.description.forEach((p, i) => {
    if (i > 0) lines.push('.PP');
    lines.push(roffText(p));
  });
  if (cli.operands.length && operandList(cli.operands).length) lines.push('.SH OPERANDS', ...operandList(cli.operands));
  if (cli.options.length) lines.push('.SH OPTIONS', ...optionList(cli.options));
  if (cli.commands.length) lines.push('.SH COMMANDS', ...commandPaths(cli.commands).flatMap(({ path, command }) => commandSection(cli, command, path)));
  for (const s of cli.sections ?? []) {
    lines.push(`.SH ${roffText(s.title.toUpperCase())}`);
    s.paragraphs.forEach((p, i) => {
      if (i > 0) lines.push('.PP');
      lines.push(roffText(p));
    });
  }
  if (cli.exitStatus.length) lines.push('.SH "EXIT STATUS"', ...entries(cli.exitStatus));
  if (cli.environment.length) lines.push('.SH ENVIRONMENT', ...entries(cli.environment));
  if (cli.files.length) lines.push('.SH FILES', ...entries(cli.files, italic));
  if (cli.seeAlso.length) {
    lines.push('.SH "SEE ALSO"');
    cli.seeAlso.forEach((ref, i) => {
      const m = /^(.*)\((\w+)\)$/.exec(ref);
      const sep = i < cli.seeAlso.length - 1 ? ',' : '';
      lines.push(m ? `.BR ${roffText(m[1]!)} (${m[2]})${sep}` : `${roffText(ref)}${sep}`);
    });
  }
  return `${lines.join('\n')}\n`;
}
