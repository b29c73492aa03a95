/** Requests to the switch besides attach, through common's ControlClient. */
import { ContainetError, ControlClient, type PortInfo } from '@containet/common';

async function withClient<T>(socket: string, fn: (c: ControlClient) => Promise<T>, timeoutMs = 2000): Promise<T> {
  const c = await ControlClient.connect(socket, { timeoutMs });
  try {
    return await fn(c);
  } finally {
    c.close();
  }
}

/** Detach the port of node `node`; false when the switch has no such port. */
export async function detachPort(socket: string, node: string): Promise<boolean> {
  return withClient(socket, async (c) => {
    try {
      await c.request({ op: 'detach', port: node });
      return true;
    } catch (err) {
      if (err instanceof ContainetError && err.code === 'CN_NO_SUCH_PORT') return false;
      throw err;
    }
  });
}

export async function listPorts(socket: string): Promise<PortInfo[]> {
  return withClient(socket, async (c) => (await c.request({ op: 'ports' })).ports);
}

/** Hello and status: the switch answers. */
export async function switchStatus(socket: string): Promise<{ ports: number; pid: number }> {
  return withClient(socket, async (c) => {
    const { status } = await c.request({ op: 'status' });
    return { ports: status.ports, pid: status.pid };
  });
}
