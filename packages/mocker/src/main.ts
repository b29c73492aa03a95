/** mocker's command line, run by bin/mocker.cjs (from the bundle when current). */
import { runMain } from '@containet/common';
import { main } from './cli.js';

// `mocker images | head`: a closed pipe ends the output quietly, without a trace.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE') throw err;
  process.stdout.destroy();
});
runMain('mocker', () => main());
