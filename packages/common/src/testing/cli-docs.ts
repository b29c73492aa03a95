/**
 * Checks of a CLI's completion scripts and man page (`NAME completion
 * bash|zsh|man`) as a user meets them: the bash script loaded in bash and
 * asked through its completion function, the zsh script loaded after
 * compinit and asked through a real interactive zsh (zpty), the man page
 * rendered by man(1) and groff with warnings on. The expected names come
 * from the CLI's own definitions, which the caller reads.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bashCompletion, manPage, zshCompletion, type CliDescription } from '../cli-docs/index.js';
import { run } from './exec.js';

export interface CliDocFiles {
  dir: string;
  bash: string;
  zsh: string;
  man: string;
  remove(): void;
}

/** Run `argv completion bash|zsh|man` and keep the three outputs in a temporary directory. */
export async function generateCliDocs(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<CliDocFiles> {
  const dir = mkdtempSync(join(tmpdir(), 'cli-docs-'));
  const out = { dir, bash: join(dir, 'completion.bash'), zsh: join(dir, 'completion.zsh'), man: join(dir, 'page.man'), remove: () => rmSync(dir, { recursive: true, force: true }) };
  try {
    for (const format of ['bash', 'zsh', 'man'] as const) {
      const r = await run(argv[0]!, [...argv.slice(1), 'completion', format], { env });
      if (r.code !== 0 || r.stderr !== '') throw new Error(`${argv.join(' ')} completion ${format} exited ${r.code}: ${r.stderr}`);
      writeFileSync(out[format], r.stdout);
    }
  } catch (err) {
    out.remove();
    throw err;
  }
  return out;
}

/** The three files for a description, made in-process (a CLI under test that is not a program). */
export function writeCliDocs(cli: CliDescription): CliDocFiles {
  const dir = mkdtempSync(join(tmpdir(), 'cli-docs-'));
  const out = { dir, bash: join(dir, 'completion.bash'), zsh: join(dir, 'completion.zsh'), man: join(dir, 'page.man'), remove: () => rmSync(dir, { recursive: true, force: true }) };
  writeFileSync(out.bash, bashCompletion(cli));
  writeFileSync(out.zsh, zshCompletion(cli));
  writeFileSync(out.man, manPage(cli));
  return out;
}

/** The completion function's name for a program, as the scripts define it. */
export function completionFunction(name: string): string {
  return `_${name.replace(/[^A-Za-z0-9_]/g, '_')}`;
}

/** `complete -p NAME` after sourcing the script in a plain bash. */
export async function bashCompleteSpec(script: string, name: string): Promise<{ spec: string; stderr: string; code: number }> {
  const r = await run('bash', ['-c', 'source "$1" && complete -p "$2"', 'bash', script, name]);
  return { spec: r.stdout.trim(), stderr: r.stderr, code: r.code };
}

/**
 * What bash offers for `line` (the cursor at its end), through the script's
 * completion function with COMP_LINE and COMP_POINT set as bash sets them.
 */
export async function bashComplete(script: string, name: string, line: string, env: NodeJS.ProcessEnv = process.env): Promise<string[]> {
  const code = `source "$1" || exit 9
COMP_LINE=$2; COMP_POINT=\${#COMP_LINE}
read -ra COMP_WORDS <<<"$COMP_LINE"; [[ $COMP_LINE =~ [[:space:]]$ ]] && COMP_WORDS+=("")
COMP_CWORD=$((\${#COMP_WORDS[@]} - 1))
${completionFunction(name)} "$3" "\${COMP_WORDS[COMP_CWORD]}" "\${COMP_WORDS[COMP_CWORD-1]}"
printf '%s\\n' "\${COMPREPLY[@]}"`;
  const r = await run('bash', ['-c', code, 'bash', script, line, name], { env });
  if (r.code !== 0) throw new Error(`bash completion of '${line}' exited ${r.code}: ${r.stderr}`);
  return r.stdout.split('\n').filter((w) => w !== '');
}

/** Load the zsh script after compinit, as a user's .zshrc would; stderr must stay empty. */
export async function zshLoad(script: string, name: string): Promise<{ stderr: string; code: number }> {
  const fn = completionFunction(name);
  const r = await run('zsh', ['-f', '-c', `autoload -U compinit; compinit -u -D; source ${shellQuote(script)} && (( $+functions[${fn}] )) && [[ $_comps[${name}] == ${fn} ]]`]);
  return { stderr: r.stderr, code: r.code };
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * An interactive zsh in a pseudo-terminal (zsh/zpty) with the script
 * loaded types LINE and a Tab; compadd is wrapped to write each match it
 * is given to a file, and a comppostfuncs hook writes DONE when completion
 * has ended (zshcompwid(1)).
 */
const ZSH_DRIVER = `zmodload zsh/zpty || exit 3
local script=$1 out=$2 line=$3
zpty z zsh -f -i || exit 3
zpty -w z "autoload -U compinit; compinit -u -D; source \${(q)script}"
zpty -w z "compadd() { if [[ \\\${@[1,(i)(-|--)]} == *-(O|A|D)\\\\ * ]]; then builtin compadd \\"\\$@\\"; return; fi; local -a __hits; builtin compadd -A __hits \\"\\$@\\"; print -rl -- \\$__hits >> \${(q)out}; builtin compadd \\"\\$@\\"; }"
zpty -w z "comppostfuncs=(_cn_done); _cn_done() { print DONE >> \${(q)out}; }"
zpty -w -n z "$line"$'\\t'
local i
for (( i = 0; i < 600; i++ )); do
  [[ -f $out && $(<$out) == *DONE* ]] && break
  sleep 0.1
done
zpty -d z
[[ -f $out && $(<$out) == *DONE* ]] || exit 4
`;

/** What zsh offers for LINE<Tab> (matches of every group, unsorted). */
export async function zshComplete(script: string, line: string, env: NodeJS.ProcessEnv = process.env): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'zsh-complete-'));
  try {
    const driver = join(dir, 'driver.zsh');
    const out = join(dir, 'matches');
    writeFileSync(driver, ZSH_DRIVER);
    const r = await run('zsh', ['-f', driver, script, out, line], { env, timeoutMs: 90_000 });
    if (r.code !== 0) throw new Error(`zsh completion of '${line}' exited ${r.code}: ${r.stderr}`);
    return readFileSync(out, 'utf8').split('\n').filter((w) => w !== '' && w !== 'DONE');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface RenderedMan {
  /** The page as man shows it at 80 columns, without hyphenation, minus signs as ASCII. */
  text: string;
  /** What man and groff -ww said on stderr (empty for a clean page). */
  warnings: string;
  code: number;
}

/** Render with `MANWIDTH=80 man -l` and check with `groff -man -Tutf8 -ww -z`. */
export async function renderMan(file: string): Promise<RenderedMan> {
  // -rHY=0: no hyphenation (groff_man(7)), so option names stay whole
  const env = { ...process.env, MANWIDTH: '80', MANROFFOPT: '-rHY=0', MAN_KEEP_FORMATTING: '', LANG: 'C.UTF-8' };
  const man = await run('man', ['-l', file], { env });
  const groff = await run('groff', ['-man', '-Tutf8', '-ww', '-z', file]);
  return {
    text: man.stdout.replace(/[\u2010\u2011\u2212]/g, '-'),
    warnings: man.stderr + groff.stderr,
    code: man.code || groff.code,
  };
}

/**
 * The rows of the first `| exit status | meaning |` (or `| status | ... |`,
 * or a table whose header matches `header`) in a README after the line
 * containing `after`.
 */
export function readmeExitTable(markdown: string, after = '', header = /^\|\s*(exit )?status\s*\|\s*meaning\s*\|/): { name: string; text: string }[] {
  const lines = markdown.split('\n');
  let i = after ? lines.findIndex((l) => l.includes(after)) : 0;
  if (i < 0) return [];
  for (; i < lines.length; i++) if (header.test(lines[i]!)) break;
  const rows: { name: string; text: string }[] = [];
  for (i += 2; i < lines.length && lines[i]!.startsWith('|'); i++) {
    const cells = lines[i]!.split('|').slice(1, -1).map((c) => c.trim());
    rows.push({ name: cells[0]!, text: cells.slice(1).join('|') });
  }
  return rows;
}

/** The man page's text of one section (between its heading and the next). */
export function manSection(text: string, title: string): string {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l === title);
  if (start < 0) return '';
  const end = lines.findIndex((l, i) => i > start && /^[A-Z]/.test(l));
  return lines.slice(start + 1, end < 0 ? undefined : end).join('\n');
}

export interface CliDefinitions {
  name: string;
  /** The program's own flags (before a command). */
  flags: readonly string[];
  /** Each command (and alias) with its flags, as the CLI's parser defines them. */
  commands: Readonly<Record<string, readonly string[]>>;
  /** Every option and command with its help text: an empty one is a finding. */
  helps: readonly { what: string; help: string }[];
  /** Whether a command word may be completed right after the program's name. */
  commandAtStart?: boolean;
}

/**
 * Everything a user of the generated files would find missing or broken,
 * as a list of findings (empty when all is well).
 */
export async function checkCliDocs(docs: CliDocFiles, defs: CliDefinitions, exitTable: readonly { name: string; text: string }[]): Promise<string[]> {
  const problems: string[] = [];
  const { name } = defs;
  for (const h of defs.helps) if (!h.help.trim()) problems.push(`${h.what} has no help text`);
  // bash
  const spec = await bashCompleteSpec(docs.bash, name);
  if (spec.code !== 0 || spec.stderr || !spec.spec.includes(`-F ${completionFunction(name)} ${name}`)) problems.push(`bash: complete -p ${name}: ${spec.spec} ${spec.stderr}`);
  // keys are command paths: `lab deploy` is deploy under lab
  const commandNames = Object.keys(defs.commands).filter((k) => !k.includes(' '));
  const nested = Object.keys(defs.commands).filter((k) => k.includes(' ')).map((k) => ({ parent: k.slice(0, k.lastIndexOf(' ')), word: k.slice(k.lastIndexOf(' ') + 1) }));
  const want = (where: string, got: readonly string[], expected: readonly string[]) => {
    const missing = expected.filter((w) => !got.includes(w));
    if (missing.length) problems.push(`${where}: missing ${missing.join(' ')} (got ${got.join(' ')})`);
  };
  want(`bash '${name} <TAB>'`, await bashComplete(docs.bash, name, `${name} `), commandNames);
  want(`bash '${name} -<TAB>'`, await bashComplete(docs.bash, name, `${name} -`), defs.flags);
  for (const { parent, word } of nested) want(`bash '${name} ${parent} <TAB>'`, await bashComplete(docs.bash, name, `${name} ${parent} `), [word]);
  for (const [cmd, flags] of Object.entries(defs.commands)) {
    want(`bash '${name} ${cmd} -<TAB>'`, await bashComplete(docs.bash, name, `${name} ${cmd} -`), flags);
    want(`bash '${name} ${cmd} --<TAB>'`, await bashComplete(docs.bash, name, `${name} ${cmd} --`), flags.filter((f) => f.startsWith('--')));
  }
  // zsh
  const loaded = await zshLoad(docs.zsh, name);
  if (loaded.code !== 0 || loaded.stderr) problems.push(`zsh: the script does not load (exit ${loaded.code}): ${loaded.stderr}`);
  else {
    want(`zsh '${name} <TAB>'`, await zshComplete(docs.zsh, `${name} `), commandNames);
    for (const { parent, word } of nested) want(`zsh '${name} ${parent} <TAB>'`, await zshComplete(docs.zsh, `${name} ${parent} `), [word]);
    for (const [cmd, flags] of Object.entries(defs.commands)) {
      want(`zsh '${name} ${cmd} --<TAB>'`, await zshComplete(docs.zsh, `${name} ${cmd} --`), flags.filter((f) => f.startsWith('--')));
    }
  }
  // man
  const page = await renderMan(docs.man);
  if (page.code !== 0 || page.warnings) problems.push(`man: exit ${page.code}: ${page.warnings}`);
  const words = new Set(page.text.split(/[\s,[\]()]+/));
  for (const w of [...commandNames, ...nested.map((c) => c.word), ...defs.flags, ...Object.values(defs.commands).flat()]) {
    if (!words.has(w)) problems.push(`man: ${w} is not in the page`);
  }
  const commandsSection = manSection(page.text, 'COMMANDS');
  for (const cmd of Object.keys(defs.commands)) {
    if (!new RegExp(`^ {3}${cmd.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}( |$)`, 'm').test(commandsSection) && !new RegExp(`\\(also .*\\b${cmd}\\b`).test(commandsSection)) {
      problems.push(`man: no COMMANDS entry for ${cmd}`);
    }
  }
  const exit = manSection(page.text, 'EXIT STATUS');
  if (exitTable.length === 0) problems.push('the README has no exit status table');
  for (const row of exitTable) {
    if (!new RegExp(`^ {7}${row.name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s`, 'm').test(exit)) problems.push(`man: EXIT STATUS lacks ${row.name}`);
  }
  for (const s of ['NAME', 'SYNOPSIS', 'DESCRIPTION', 'EXIT STATUS', 'SEE ALSO']) if (!manSection(page.text, s)) problems.push(`man: no ${s} section`);
  return problems;
}
