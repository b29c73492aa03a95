/**
 * mocker's command line described for `mocker completion bash|zsh|man`
 * (@containet/common/cli-docs), from the commander program cli.ts parses
 * with. The exit statuses are the README's table (a test compares them).
 */
import { type CliDescription, type CommanderLike, type KindMap, describeCommands, describeOptions } from '@containet/common/cli-docs';

const KINDS: KindMap = {
  // push's target and pull's name are references in a registry, not in the store
  operands: { name: 'image', 'pull name': null, dir: 'directory' },
  options: { store: 'directory', input: 'file', output: 'file', 'save format': ['oci-archive', 'docker-archive'] },
};

export const EXIT_STATUS = [
  { name: '0', text: 'success' },
  { name: '1', text: 'other failures (I/O, a damaged store)' },
  { name: '2', text: 'usage: bad option, reference or platform' },
  { name: '3', text: 'not found: manifest, blob, platform in an index, local image' },
  { name: '4', text: 'authentication or permission refused' },
  { name: '5', text: 'verification: digest or size mismatch, unsupported format (schema 1), unsafe layer' },
  { name: '6', text: 'network, registry unavailable, rate limit' },
  { name: '130', text: 'interrupted' },
];

export function describeMocker(prog: CommanderLike, version: string): CliDescription {
  return {
    name: 'mocker',
    section: 1,
    version,
    summary: 'pull, store and unpack container images',
    description: [
      `${prog.description()}. Images come from Docker Hub or any OCI registry (Docker Registry HTTP API v2), are verified by digest and kept in one OCI image layout that skopeo and umoci read too; containode --image runs them.`,
    ],
    synopsis: ['[--store DIR] COMMAND [options] [ARGS...]'],
    options: describeOptions(prog, '', KINDS),
    operands: [],
    commands: describeCommands(prog, KINDS),
    commandWord: 'after-options',
    optionsAnywhere: true,
    exitStatus: EXIT_STATUS,
    environment: [
      { name: 'CONTAINET_IMAGES', text: 'the image store (default /var/lib/containet/images), as --store' },
      { name: 'CONTAINET_DEBUG', text: '1: print stack traces of errors, as --debug' },
      { name: 'HTTPS_PROXY, HTTP_PROXY, NO_PROXY', text: 'reach registries through a proxy' },
    ],
    files: [
      { name: '/var/lib/containet/images', text: 'the image store: an OCI image layout (oci-layout, index.json, blobs/sha256/)' },
      { name: '~/.docker/config.json', text: 'registry credentials, as docker keeps them (mocker login)' },
    ],
    seeAlso: ['containode(1)', 'containet(1)', 'skopeo(1)', 'umoci(1)'],
    live: { images: { store: '${CONTAINET_IMAGES:-/var/lib/containet/images}', option: '--store' } },
  };
}
