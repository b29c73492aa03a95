import { runMain } from '@containet/common';
import { main } from './cli.js';

// `mocker images | head`: a closed pipe ends the output, not the program with a trace.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});
runMain('mocker', () => main());
