/**
 * Running captures: which connection asked for each (a capture ends with
 * its connection) and what the datapath has written and dropped.
 */
import { ContainetError, closeFd, type CaptureInfo, type CaptureRequest } from '@containet/common';
import type { Connection } from './control-connection.js';
import type { Switch } from './switch.js';
import { captureSnaplen, portSelector } from './request-checks.js';
import { setCaptureFilter } from './capture-filter.js';

export class Captures {
  readonly #switch: Switch;
  #byId = new Map<number, { conn: Connection; port: number }>();

  constructor(sw: Switch) {
    this.#switch = sw;
    sw.on('capture-down', (ev: { capture: number }) => this.#byId.delete(ev.capture));
  }

  /**
   * Mirror a port (or all) into `fd`, the socket or pipe that came with the
   * request; the datapath owns it from then on (it is closed on failure).
   * With a filter only the frames it matches are captured (and counted).
   */
  start(req: CaptureRequest, fd: number, conn: Connection): { capture: number; port: number } {
    if (fd < 0) {
      throw new ContainetError('CN_NO_FD', 'capture request came without a file descriptor to write the pcap stream to', {
        hint: 'pass the write end of a socket pair or pipe with the request',
      });
    }
    try {
      const snaplen = captureSnaplen(req);
      const which = portSelector(req.port, true);
      const port = which === 0 ? 0 : this.#switch.resolvePort(which);
      let id: number;
      if (req.filter !== undefined && req.filter !== '') setCaptureFilter(fd, req.filter);
      try {
        id = this.#switch.datapath.addCapture(port, fd, snaplen);
      } catch (err) {
        if (req.filter) setCaptureFilter(fd, null);
        const code = (err as { code?: string }).code;
        if (code === 'EINVAL') throw new ContainetError('CN_BAD_CAPTURE_FD', 'the descriptor for a capture must be a socket or a pipe', { cause: err });
        if (code === 'ENOSPC') throw new ContainetError('CN_CAPTURES_FULL', 'too many captures are running on this switch', { cause: err });
        if (code === 'ENOENT') throw new ContainetError('CN_NO_SUCH_PORT', `port ${port} went away`, { cause: err });
        throw err;
      }
      fd = -1; // the datapath owns it
      this.#byId.set(id, { conn, port });
      return { capture: id, port };
    } finally {
      if (fd >= 0) closeFd(fd);
    }
  }

  /** Whether `conn` runs a capture. */
  holds(conn: Connection): boolean {
    for (const c of this.#byId.values()) if (c.conn === conn) return true;
    return false;
  }

  /** End the captures of a closed connection. */
  endFor(conn: Connection): void {
    for (const [id, c] of [...this.#byId]) {
      if (c.conn !== conn) continue;
      this.#byId.delete(id);
      this.#switch.datapath.removeCapture(id);
    }
  }

  list(): CaptureInfo[] {
    return [...this.#byId].map(([id, c]) => ({ capture: id, port: c.port, ...(this.#switch.datapath.captureStats(id) ?? { written: 0, dropped: 0 }) }));
  }
}
