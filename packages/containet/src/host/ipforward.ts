/**
 * net.ipv4.ip_forward of the daemon's network namespace: turned on only when
 * it was off, and put back on shutdown (or by the next start after a crash,
 * from the record in the state directory).
 */
import { readFile, writeFile } from 'node:fs/promises';

const SYSCTL = '/proc/sys/net/ipv4/ip_forward';

export async function ipForwardEnabled(): Promise<boolean> {
  return (await readFile(SYSCTL, 'utf8')).trim() === '1';
}

/** Enable forwarding. Return: true when this call changed it (it was off). */
export async function enableIpForward(): Promise<boolean> {
  if (await ipForwardEnabled()) return false;
  await writeFile(SYSCTL, '1\n');
  return true;
}

export async function disableIpForward(): Promise<void> {
  await writeFile(SYSCTL, '0\n');
}
