/** The management commands: containode ps | exec | stop | kill | inspect. */
import { Command } from 'commander';
import * as ps from './ps.js';
import * as exec from './exec.js';
import * as kill from './kill.js';
import * as inspect from './inspect.js';

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

export function managementProgram(onStatus: (code: number) => void): Command {
  const prog = new Command('containode').enablePositionalOptions().exitOverride();
  prog
    .command('ps')
    .description(ps.help)
    .option('-a, --all', 'also stopped containers')
    .option('--json', 'print JSON')
    .action((opts: ps.PsOptions) => {
      process.stdout.write(ps.handler(opts));
    });
  prog
    .command('exec')
    .description(exec.help)
    .usage('[options] ID PROGRAM [ARGS...]')
    .argument('<id>', 'container identity (or a unique prefix)')
    .argument('<program...>', 'program and its arguments')
    .option('-t, --tty', 'give the program a terminal (a pty of the container)')
    .option('-e, --env <KEY=VALUE>', 'extra environment variable (repeatable)', collect)
    .option('-w, --workdir <dir>', 'working directory (default /)')
    .passThroughOptions()
    .action(async (id: string, program: string[], opts: { tty?: boolean; env?: string[]; workdir?: string }) => {
      onStatus(await exec.handler(id, program, opts));
    });
  prog
    .command('stop')
    .description(kill.stopHelp)
    .argument('<id>', 'container identity')
    .option('--time <seconds>', 'how long to wait after SIGTERM', '10')
    .action(async (id: string, opts: { time: string }) => {
      await kill.stop(id, opts.time);
    });
  prog
    .command('kill')
    .description(kill.help)
    .argument('<id>', 'container identity')
    .argument('[signal]', 'signal name or number', 'KILL')
    .action((id: string, signal: string) => {
      kill.handler(id, signal);
    });
  prog
    .command('inspect')
    .description(inspect.help)
    .argument('<id>', 'container identity')
    .action((id: string) => {
      process.stdout.write(inspect.handler(id));
    });
  return prog;
}
