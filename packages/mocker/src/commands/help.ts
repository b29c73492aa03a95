/** Help texts of the commands, loaded without the commands themselves. */
export const pull = {
  help: 'Pull an image (for this machine\'s platform) from Docker Hub or any OCI registry into the store',
  examples: `
Examples:
  mocker pull alpine
  mocker pull --platform linux/arm64 alpine:3.20
  mocker pull 127.0.0.1:5000/team/app@sha256:0123…
  mocker pull --insecure registry.lan:5000 registry.lan:5000/app:1`,
};
export const images = {
  help: 'List the images in the store: name, tag, digest, size (compressed), created',
};
export const inspect = {
  help: 'Show an image: its digest, platform, layers and run config (Cmd, Entrypoint, Env, WorkingDir, User)',
};
export const rm = {
  help: 'Remove images from the store, then the blobs and root filesystems nothing uses any more',
};
export const unpack = {
  help: 'Unpack an image\'s layers, in order and with whiteouts, into a new or empty directory',
  rootfsHelp: 'Print the path of the shared unpacked root filesystem of an image (unpacking it once if needed), for containode -r',
};
export const login = {
  help: 'Log in to a registry (default Docker Hub); the credentials are kept in ~/.docker/config.json as docker keeps them',
  logoutHelp: 'Remove the stored credentials of a registry',
};
export const save = {
  help: 'Write an image to a tar file: oci-archive (an OCI layout, digests kept) or docker-archive (docker save\'s format)',
  examples: `
Examples:
  mocker save alpine:3.20 -o alpine.tar
  mocker save --format docker-archive 127.0.0.1:5000/team/app:1 -o app.tar   # then: docker load -i app.tar`,
};
export const load = {
  help: 'Read images from an oci-archive or docker-archive tar file into the store',
  examples: `
Examples:
  mocker load -i alpine.tar
  mocker load -i unnamed-oci.tar --name registry.lan:5000/team/app:1`,
};
export const push = {
  help: 'Push an image of the store to a registry under a name (same credentials as pull)',
  examples: `
Examples:
  mocker push alpine:3.20 127.0.0.1:5000/mirror/alpine:3.20
  mocker push --insecure registry.lan:5000 app registry.lan:5000/team/app:1`,
};
