import { runMain } from '@containet/common';
import { main } from './cli.js';

runMain('mocker', () => main());
