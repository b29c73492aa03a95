/**
 * Shell code listing live values for completion, shared by the bash and
 * zsh scripts (both run it as POSIX-ish shell with `$words`/`words` set):
 * container identities are the entries of the record store's directory,
 * images the `org.opencontainers.image.ref.name` annotations of the store's
 * index.json (image-spec annotations.md; written on one line), ports and
 * nodes the `port` and `node` fields of `containet ports --json`.
 */
import { commandPaths, type CliDescription, type ValueKind } from './model.js';

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
      if [ "$1" = port ]; then printf '%s\\n' "$json" | grep -o '"port": *[0-9]*' | grep -o '[0-9]*$'; fi
      printf '%s\\n' "$json" | grep -o '"node": *"[^"]*"' | sed -e 's/.*: *"//' -e 's/"$//' ;;`);
  }
  return cases.length ? `  case $1 in\n${cases.join('\n')}\n  esac` : '  :';
}
