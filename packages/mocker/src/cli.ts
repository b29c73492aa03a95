/**
 * The commander adapter: argv in, a command handler called, its status
 * out. Exit statuses are listed in errors.ts and the README.
 */
import { readFileSync } from 'node:fs';
import { usageFromCommander } from '@containet/common';
import { CLI_DOCUMENT_FORMATS, COMPLETION_HELP } from '@containet/common/cli-docs';
import { Argument, Command, CommanderError, Option } from 'commander';
import * as help from './commands/help.js';

// Command modules load when their command runs: a pull need not load the
// tar and zstd code, nor an unpack the HTTP client.
const pullCmd = { ...help.pull, handler: async (...a: Parameters<typeof import('./commands/pull.js').handler>) => (await import('./commands/pull.js')).handler(...a) };
const imagesCmd = { ...help.images, handler: async (...a: Parameters<typeof import('./commands/images.js').handler>) => (await import('./commands/images.js')).handler(...a) };
const inspectCmd = { ...help.inspect, handler: async (...a: Parameters<typeof import('./commands/inspect.js').handler>) => (await import('./commands/inspect.js')).handler(...a) };
const rmCmd = { ...help.rm, handler: async (...a: Parameters<typeof import('./commands/rm.js').handler>) => (await import('./commands/rm.js')).handler(...a) };
const unpackCmd = {
  ...help.unpack,
  handler: async (...a: Parameters<typeof import('./commands/unpack.js').handler>) => (await import('./commands/unpack.js')).handler(...a),
  rootfsHandler: async (...a: Parameters<typeof import('./commands/unpack.js').rootfsHandler>) => (await import('./commands/unpack.js')).rootfsHandler(...a),
};
const saveCmd = { ...help.save, handler: async (...a: Parameters<typeof import('./commands/save.js').handler>) => (await import('./commands/save.js')).handler(...a) };
const loadCmd = { ...help.load, handler: async (...a: Parameters<typeof import('./commands/load.js').handler>) => (await import('./commands/load.js')).handler(...a) };
const pushCmd = { ...help.push, handler: async (...a: Parameters<typeof import('./commands/push.js').handler>) => (await import('./commands/push.js')).handler(...a) };
const loginCmd = {
  ...help.login,
  handler: async (...a: Parameters<typeof import('./commands/login.js').handler>) => (await import('./commands/login.js')).handler(...a),
  logoutHandler: async (...a: Parameters<typeof import('./commands/login.js').logoutHandler>) => (await import('./commands/login.js')).logoutHandler(...a),
};

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

export function program(onStatus: (code: number) => void): Command {
  const root = new Command('mocker')
    .description('Pull, store and unpack container images (OCI image layout store)')
    .addOption(new Option('--store <dir>', 'image store (OCI layout)').env('CONTAINET_IMAGES').default('/var/lib/containet/images'))
    .version(version(), '-V, --version', 'print the version and exit')
    .option('--debug', 'print stack traces of errors')
    .exitOverride()
    // Parse errors are reported once, as every error is (see main).
    .configureOutput({ outputError: () => {} })
    .addHelpText('after', `
Exit status: 0 ok, 1 failure, 2 usage, 3 not found, 4 authentication,
5 verification (digest, unsupported format, unsafe layer), 6 network or rate limit.`);
  const g = (cmd: Command): { store?: string } => ({ store: (cmd.optsWithGlobals() as { store?: string }).store });
  const run = (fn: () => Promise<number>) => async () => onStatus(await fn());

  root.command('pull').description(pullCmd.help).argument('<name>', 'image reference: NAME[:TAG] or NAME@DIGEST (docker.io/library/ when NAME has no registry)')
    .option('--platform <os/arch[/variant]>', 'platform to pick from a multi-platform image (default: this machine)')
    .option('--insecure <host[:port]>', 'reach this registry over plain HTTP (repeatable; loopback registries always are)', collect)
    .option('-q, --quiet', 'print only the image name')
    .addHelpText('after', pullCmd.examples)
    .action(function (this: Command, name: string) {
      return run(() => pullCmd.handler({ ...this.opts(), ...g(this) }, [name]))();
    });
  root.command('images').description(imagesCmd.help).option('--json', 'JSON instead of a table')
    .action(function (this: Command) {
      return run(() => imagesCmd.handler({ ...this.opts(), ...g(this) }))();
    });
  root.command('inspect').description(inspectCmd.help).argument('<name...>', 'images of the store')
    .action(function (this: Command, names: string[]) {
      return run(() => inspectCmd.handler(g(this), names))();
    });
  root.command('rm').alias('rmi').description(rmCmd.help).argument('<name...>', 'images of the store')
    .option('-f, --force', 'remove it even while running containers use it (their mounted layer stays until they end)')
    .action(function (this: Command, names: string[]) {
      return run(() => rmCmd.handler({ ...this.opts(), ...g(this) }, names))();
    });
  root.command('unpack').description(unpackCmd.help).argument('<name>', 'an image of the store').argument('<dir>', 'a new or empty directory').option('-q, --quiet', 'print nothing')
    .action(function (this: Command, name: string, dir: string) {
      return run(() => unpackCmd.handler({ ...this.opts(), ...g(this) }, [name, dir]))();
    });
  root.command('rootfs').description(unpackCmd.rootfsHelp).argument('<name>', 'an image of the store')
    .action(function (this: Command, name: string) {
      return run(() => unpackCmd.rootfsHandler(g(this), [name]))();
    });
  root.command('save').description(saveCmd.help).argument('<name>', 'an image of the store')
    .option('-o, --output <file>', 'the tar file to write')
    .option('--format <format>', 'oci-archive or docker-archive', 'oci-archive')
    .option('-q, --quiet', 'print nothing')
    .addHelpText('after', saveCmd.examples)
    .action(function (this: Command, name: string) {
      return run(() => saveCmd.handler({ ...this.opts(), ...g(this) }, [name]))();
    });
  root.command('load').description(loadCmd.help)
    .option('-i, --input <file>', 'the tar file to read (oci-archive or docker-archive)')
    .option('--name <reference>', 'name for an image the archive does not name')
    .option('--platform <os/arch[/variant]>', 'platform to take from a multi-platform archive (default: this machine)')
    .option('-q, --quiet', 'print only the names loaded')
    .addHelpText('after', loadCmd.examples)
    .action(function (this: Command) {
      return run(() => loadCmd.handler({ ...this.opts(), ...g(this) }, []))();
    });
  root.command('push').description(pushCmd.help).argument('<name>', 'an image of the store').argument('<target>', 'the reference to push it to (REGISTRY/NAME[:TAG])')
    .option('--insecure <host[:port]>', 'reach this registry over plain HTTP (repeatable; loopback registries always are)', collect)
    .option('-q, --quiet', 'print only the name pushed')
    .addHelpText('after', pushCmd.examples)
    .action(function (this: Command, name: string, target: string) {
      return run(() => pushCmd.handler({ ...this.opts(), ...g(this) }, [name, target]))();
    });
  root.command('login').description(loginCmd.help).argument('[registry]', 'HOST[:PORT] (default Docker Hub)')
    .option('-u, --username <name>', 'user name')
    .option('-p, --password <password>', 'password (prefer --password-stdin: arguments are visible to other users)')
    .option('--password-stdin', 'read the password from standard input')
    .option('--insecure <host[:port]>', 'reach this registry over plain HTTP', collect)
    .action(function (this: Command, server: string | undefined) {
      return run(() => loginCmd.handler(this.opts(), server === undefined ? [] : [server]))();
    });
  root.command('logout').description(loginCmd.logoutHelp).argument('[registry]', 'HOST[:PORT] (default Docker Hub)')
    .action(function (this: Command, server: string | undefined) {
      return run(() => loginCmd.logoutHandler({}, server === undefined ? [] : [server]))();
    });
  root.command('completion').description(COMPLETION_HELP)
    .addArgument(new Argument('<format>', 'bash or zsh (a completion script), man (the man page)').choices(CLI_DOCUMENT_FORMATS))
    .action(async (format: string) => {
      const [{ cliDocument }, { describeMocker }] = await Promise.all([import('@containet/common/cli-docs'), import('./manual.js')]);
      process.stdout.write(cliDocument(describeMocker(root, version()), format));
      onStatus(0);
    });
  for (const c of root.commands) c.exitOverride().configureOutput({ outputError: () => {} });
  return root;
}

/** The package's version (package.json sits two levels above dist/src and the bundle). */
function version(): string {
  return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

export async function main(argv: string[] = process.argv): Promise<number> {
  let status = 0;
  const p = program((code) => (status = code));
  if (argv.length <= 2) {
    p.outputHelp();
    return 2;
  }
  try {
    await p.parseAsync(argv);
  } catch (err) {
    if (!(err instanceof CommanderError)) throw err;
    // The command a parse error is about, for its hint: the first word that names one.
    const command = argv.slice(2).find((w) => p.commands.some((c) => c.name() === w || c.aliases().includes(w)));
    const usage = usageFromCommander('mocker', err, command);
    if (usage) throw usage;
    return 0;
  }
  return status;
}
