/**
 * A topology file read as YAML with every value's place in the file kept, so
 * that a refusal names the line and column (`lab.clab.yml:12:7`) as well as
 * the field. Only the shapes a topology uses are exposed: maps with string
 * keys, lists and scalars; anchors and merge keys are resolved by the parser.
 */
import { readFileSync } from 'node:fs';
import { LineCounter, isMap, isScalar, isSeq, parseDocument, type Node as YamlNode } from 'yaml';
import { ContainetError } from '@containet/common';

/** What every refusal of a topology says after the place: what is supported. */
export class TopologyError extends ContainetError {
  constructor(message: string, hint?: string) {
    super('CN_LAB_TOPOLOGY', message, { hint, exitCode: 2 });
  }
}

/** A value of the file with its path (`topology.nodes.r1.kind`) and place. */
export class SourceValue {
  constructor(
    readonly node: YamlNode | null,
    readonly path: string,
    readonly place: string,
    private readonly file: SourceFile,
  ) {}

  /** Refuse this value: `FILE:LINE:COL: PATH: MESSAGE`. */
  error(message: string, hint?: string): TopologyError {
    return new TopologyError(`${this.place}: ${this.path}: ${message}`, hint);
  }

  isMap(): boolean {
    return isMap(this.node);
  }

  isList(): boolean {
    return isSeq(this.node);
  }

  /** The entries of a map in file order, each with its key's place. */
  entries(what = 'a map'): Array<[string, SourceValue]> {
    if (!isMap(this.node)) throw this.error(`expected ${what}, found ${this.describe()}`);
    return this.node.items.map((pair) => {
      const key = pair.key as YamlNode | null;
      if (!isScalar(key) || (typeof key.value !== 'string' && typeof key.value !== 'number')) {
        throw this.file.at(key, this.path).error('keys must be plain names');
      }
      const name = String(key.value);
      const value = (pair.value ?? null) as YamlNode | null;
      // An empty value (`r1:`) has no place of its own: point at its key.
      return [name, this.file.at(value ?? key, this.path ? `${this.path}.${name}` : name, value === null)];
    });
  }

  items(what = 'a list'): SourceValue[] {
    if (!isSeq(this.node)) throw this.error(`expected ${what}, found ${this.describe()}`);
    return this.node.items.map((item, i) => this.file.at(item as YamlNode, `${this.path}[${i}]`));
  }

  /** Null for an empty value (`key:` with nothing after it). */
  get isEmpty(): boolean {
    return this.node === null || (isScalar(this.node) && this.node.value === null);
  }

  string(what = 'a string'): string {
    if (isScalar(this.node) && (typeof this.node.value === 'string' || typeof this.node.value === 'number' || typeof this.node.value === 'boolean')) {
      return String(this.node.value);
    }
    throw this.error(`expected ${what}, found ${this.describe()}`);
  }

  number(what = 'a number'): number {
    if (isScalar(this.node)) {
      const v = this.node.value;
      const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
      if (Number.isFinite(n)) return n;
    }
    throw this.error(`expected ${what}, found ${this.describe()}`);
  }

  /** A string list (a single string is a list of one, as containerlab reads `exec`). */
  strings(what = 'a list of strings'): string[] {
    if (isSeq(this.node)) return this.items(what).map((v) => v.string(what));
    if (isScalar(this.node) && typeof this.node.value === 'string') return [this.node.value];
    throw this.error(`expected ${what}, found ${this.describe()}`);
  }

  /** A map of string values (env, labels, sysctls): numbers and booleans as written. */
  stringMap(what = 'a map of names to values'): Map<string, string> {
    const out = new Map<string, string>();
    for (const [k, v] of this.entries(what)) out.set(k, v.isEmpty ? '' : v.string(`a value for ${k}`));
    return out;
  }

  describe(): string {
    if (this.isEmpty) return 'nothing';
    if (isMap(this.node)) return 'a map';
    if (isSeq(this.node)) return 'a list';
    if (isScalar(this.node)) return `${typeof this.node.value} ${JSON.stringify(this.node.value)}`;
    return 'an unsupported value';
  }
}

/** The parsed file: its root value and the means to place any node. */
export class SourceFile {
  readonly root: SourceValue;
  readonly #lines = new LineCounter();
  readonly #name: string;

  constructor(text: string, name: string) {
    this.#name = name;
    const doc = parseDocument(text, { lineCounter: this.#lines, prettyErrors: false, uniqueKeys: true, merge: true });
    const problem = doc.errors[0];
    if (problem) {
      const { line, col } = this.#lines.linePos(problem.pos[0]);
      const what = problem.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
      throw new TopologyError(`${name}:${line}:${col}: not valid YAML: ${what}`, 'fix the file; `yamllint FILE` shows every problem');
    }
    this.root = this.at(doc.contents as YamlNode | null, '');
  }

  static read(path: string, name = path): SourceFile {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new ContainetError(code === 'ENOENT' ? 'CN_LAB_NO_FILE' : 'CN_LAB_FILE', `cannot read topology ${path}: ${code ?? (err as Error).message}`, {
        hint: 'give the topology file with -t FILE (containerlab format, e.g. lab.clab.yml)',
        exitCode: 2,
        cause: err,
      });
    }
    return new SourceFile(text, name);
  }

  at(node: YamlNode | null, path: string, empty = false): SourceValue {
    const offset = node?.range?.[0];
    const { line, col } = offset === undefined ? { line: 1, col: 1 } : this.#lines.linePos(offset);
    return new SourceValue(empty ? null : node, path, `${this.#name}:${line}:${col}`, this);
  }
}
