/** What every management command shares: reaching the daemon. */
import { ControlClient, DEFAULT_SOCKET } from '@containet/common';

export interface ClientOptions {
  /** Control socket path. */
  socket?: string;
  /** Print JSON instead of a table. */
  json?: boolean;
}

/** Connect, run `fn`, always close. */
export async function withClient<T>(opts: ClientOptions, fn: (client: ControlClient) => Promise<T>): Promise<T> {
  const client = await ControlClient.connect(opts.socket ?? DEFAULT_SOCKET);
  try {
    return await fn(client);
  } finally {
    client.close();
  }
}
