/**
 * `node packages/cni/dist/src/print-manual.js`: containet-cni's man page,
 * for scripts/setup.sh. Not a command of the plugin itself: engines start
 * the plugin for every container from a startup snapshot of its bundle,
 * which stays without the page's code.
 */
import { manPage } from '@containet/common/cli-docs';
import { describeContainetCni } from './manual.js';

process.stdout.write(manPage(describeContainetCni()));
