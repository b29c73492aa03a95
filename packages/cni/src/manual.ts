/**
 * containet-cni's man page (section 8, as the runtimes that run it), made
 * by @containet/common/cli-docs and printed by print-manual.ts. A CNI
 * plugin is run by container engines with CNI_COMMAND in its environment,
 * not typed, so it has no completion scripts; the page says so. The error
 * codes are the README's table (a test compares them).
 */
import type { CliDescription } from '@containet/common/cli-docs';
import * as reattach from './commands/reattach.js';
import { SUPPORTED_VERSIONS } from './versions.js';

export const ERROR_CODES = [
  { name: '1', text: 'unsupported `cniVersion`' },
  { name: '3', text: '`CNI_NETNS` does not exist' },
  { name: '4', text: 'a missing or invalid `CNI_*` variable (named in `msg`)' },
  { name: '6', text: 'stdin is not a JSON object' },
  { name: '7', text: 'a bad field (no `socket`, bad `mtu`/`mac`, an IPAM plugin not in `CNI_PATH`), or `socket` is not a containet switch (no answer to the control protocol\'s hello within 2 s, or not its framing)' },
  { name: '11', text: 'DEL or GC could not remove everything (`details` says what)' },
  { name: '50', text: 'no switch listens at `socket`' },
  { name: '100', text: 'the interface could not be made (`CNI_IFNAME` exists already, a route the namespace refuses, ...)' },
  { name: '101', text: 'the switch refused the port' },
  { name: '102', text: 'CHECK found the attachment differing from `prevResult`' },
  { name: '103', text: 'the IPAM plugin failed without an error result of its own' },
];

export function describeContainetCni(): CliDescription {
  return {
    name: 'containet-cni',
    section: 8,
    // the plugin has no version of its own: the spec versions it speaks
    version: `(CNI ${SUPPORTED_VERSIONS.join(', ')})`,
    summary: 'a CNI plugin that attaches containers to a containet switch',
    description: [
      `containet-cni is a CNI plugin (CNI spec ${SUPPORTED_VERSIONS.join(', ')}), installed as type "containet" in /opt/cni/bin and /usr/lib/cni. Container engines (podman, containerd, CRI-O) run it with CNI_COMMAND and the other CNI_* variables in its environment and the network configuration as JSON on stdin; it answers with a result or an error as JSON on stdout. It is not meant to be typed, so it has no shell completion.`,
      'ADD connects to the switch named by the configuration\'s socket, runs the IPAM plugin, creates a tap named CNI_IFNAME in CNI_NETNS and hands it to the switch as a persistent port; DEL undoes all of it and succeeds when it is gone already; CHECK compares the attachment with prevResult; STATUS asks whether the switch answers; GC removes attachments of containers the runtime no longer knows.',
    ],
    synopsis: ['< NETWORK.json   (run by a container engine, CNI_COMMAND=ADD|DEL|CHECK|STATUS|GC|VERSION)', 'reattach [--socket SOCK] [--json]'],
    options: [{ long: '--help', help: 'print the usage and exit' }],
    operands: [],
    commands: [
      {
        name: 'reattach',
        aliases: [],
        help: reattach.help.split('\n\n').slice(1).join(' ').replace(/\s+/g, ' '),
        options: [
          { short: '-s', long: '--socket', value: 'SOCK', help: 'only the pods recorded on the switch at SOCK (default: every recorded switch)', kind: 'file' },
          { long: '--json', help: 'print the outcome as JSON' },
        ],
        operands: [],
      },
    ],
    commandWord: 'first',
    optionsAnywhere: false,
    sections: [
      {
        title: 'Errors',
        paragraphs: ['An error is the spec\'s error JSON on stdout (cniVersion, code, msg, details) and a non-zero exit. Codes below 100 are the spec\'s; an IPAM plugin\'s own error comes back with its code and its message prefixed with its name:', ...ERROR_CODES.map((c) => `${c.name}: ${c.text}`)],
      },
    ],
    exitStatus: [
      { name: '0', text: 'success' },
      { name: '1', text: 'an error: the error JSON on stdout says which (ERRORS); reattach: a pod could not be re-attached' },
      { name: '2', text: 'a bad command line (an unknown command, or no CNI_COMMAND)' },
      { name: '70', text: 'an internal error (a bug: CONTAINET_DEBUG=1 shows the stack)' },
    ],
    environment: [
      { name: 'CNI_COMMAND', text: 'ADD, DEL, CHECK, STATUS, GC or VERSION' },
      { name: 'CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME', text: 'the container, the path of its network namespace, the interface to make there' },
      { name: 'CNI_ARGS', text: 'KEY=VALUE;...: MAC=... fixes the interface\'s MAC' },
      { name: 'CNI_PATH', text: 'where the IPAM plugin named by the configuration is looked for' },
      { name: 'CONTAINET_CNI_STATE', text: 'the records of attached pods (default /run/containet/cni)' },
    ],
    files: [
      { name: '/opt/cni/bin/containet, /usr/lib/cni/containet', text: 'the plugin, as runtimes find it (links made by setup)' },
      { name: '/run/containet/cni', text: 'a record per attachment: what DEL, CHECK, GC and reattach need' },
    ],
    seeAlso: ['containet(1)', 'containode(1)', 'podman-network(1)', 'containerd(8)'],
    live: {},
  };
}
