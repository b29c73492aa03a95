/**
 * Shell code listing live values for completion, shared by the bash and
 * zsh scripts (both run it as POSIX-ish shell with `$words`/`words` set):
 * container identities are the entries of the record store's directory,
 * images the `org.opencontainers.image.ref.name` annotations of the store's
 * index.json (image-spec annotations.md; written on one line), ports and
 * nodes the `port` and `node` fields of `containet ports --json`.
 */
import { commandPaths, type CliDescription, type ValueKind } from './model.js';

/**
 * Node (there whenever containet is) reads `containet ports --json`: for a
 * port its id, NODE:IFNAME and NODE (the ways commands name one), for a
 * node its identity. In single quotes in the scripts: it has none itself.
 */
const PORTS_SCRIPT =
  'let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => { for (const p of JSON.parse(s)) { if (process.argv[1] === "port") console.log(`${p.port}\\n${p.node}:${p.ifname}`); console.log(p.node); } });';

export const LIVE_KINDS: readonly ValueKind[] = ['container', 'image', 'port', 'node'];

/** Every kind an option or operand of the CLI names. */
export function kindsUsed(cli: CliDescription): Set<ValueKind> {
  const out = new Set<ValueKind>();
  const add = (k: ValueKind | undefined) => k && out.add(k);
  for (const o of cli.options) add(o.kind);
  for (const a of cli.operands) add(a.kind);
  for (const { command: c } of commandPaths(cli.commands)) {
    for (const o of c.options) add(o.kind);
    for (const a of c.operands) add(a.kind);
  }
  return out;
}

/**
 * The body of `FN_values KIND`: prints one value a line. `optval` is the
 * name of the function that prints the value of an option given on the
 * line being completed.
 */
export function liveValuesBody(cli: CliDescription, optval: string): string {
  const used = kindsUsed(cli);
  const cases: string[] = [];
  const { containers, images, ports } = cli.live;
  if (used.has('container') && containers) {
    const dir = containers.option ? `$(${optval} ${containers.option})` : '';
    cases.push(`    container)
      local dir=${dir ? `"${dir}"` : ''}
      dir=\${dir:-${containers.dir}}
      ls -1 "$dir" 2>/dev/null ;;`);
  }
  if (used.has('image') && images) {
    const store = images.option ? `$(${optval} ${images.option})` : '';
    cases.push(`    image)
      local store=${store ? `"${store}"` : ''}
      store=\${store:-${images.store}}
      grep -o '"org.opencontainers.image.ref.name":"[^"]*"' "$store/index.json" 2>/dev/null |
        sed -e 's/.*:"//' -e 's/"$//' -e 'p' -e 's,^docker\\.io/library/,,' | sort -u ;;`);
  }
  if ((used.has('port') || used.has('node')) && ports) {
    cases.push(`    port|node)
      local sock
      sock=$(${optval} ${ports.socketOptions.join(' ')})
      local json
      json=$(${ports.command} \${sock:+--socket=$sock} 2>/dev/null) || return 0
      printf '%s' "$json" | node -e '${PORTS_SCRIPT}' "$1" 2>/dev/null | sort -u ;;`);
  }
  return cases.length ? `  case $1 in\n${cases.join('\n')}\n  esac` : '  :';
}
