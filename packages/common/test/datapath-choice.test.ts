/**
 * The switch chooses its datapath at run time: io_uring (provided-buffer
 * rings, Linux 5.19) where the kernel offers it and it is not disabled
 * (kernel.io_uring_disabled), else one read and one write per frame under
 * epoll; CONTAINET_DATAPATH=epoll forces the latter. cn_switch_status says
 * which one a switch took. Forwarding itself is exercised on the chosen path
 * by every containet e2e test.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { release } from 'node:os';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeStruct, native, structSize } from '@containet/common';

/** The io_uring flag of a new switch's status, in this process. */
function chosenHere(): number {
  const sw = Number(native().cn_switch_create(64, 0));
  assert.ok(sw >= 0, `cn_switch_create: ${sw}`);
  try {
    const buf = Buffer.alloc(structSize('cn_switch_status'));
    assert.is(Number(native().cn_switch_status(sw, buf)), 0);
    return decodeStruct('cn_switch_status', buf).io_uring;
  } finally {
    native().cn_switch_destroy(sw);
  }
}

/** Whether this kernel should give the io_uring path: 5.19 or later, io_uring not disabled. */
function kernelOffersUring(): boolean {
  const [major = 0, minor = 0] = release().split('.').map(Number);
  let disabled = 0;
  try {
    disabled = Number(readFileSync('/proc/sys/kernel/io_uring_disabled', 'utf8'));
  } catch {
    // Kernels before 6.6 have no such switch: io_uring is on.
  }
  return (major > 5 || (major === 5 && minor >= 19)) && disabled === 0;
}

test('a switch takes io_uring exactly when the kernel offers it (unless told epoll)', () => {
  const expected = process.env['CONTAINET_DATAPATH'] === 'epoll' ? 0 : kernelOffersUring() ? 1 : 0;
  assert.is(chosenHere(), expected);
});

test('CONTAINET_DATAPATH=epoll chooses the read/write path', () => {
  const common = import.meta.resolve('@containet/common');
  const script =
    `const c = await import(${JSON.stringify(common)});` +
    `const sw = Number(c.native().cn_switch_create(64, 0));` +
    `const b = Buffer.alloc(c.structSize('cn_switch_status'));` +
    `c.native().cn_switch_status(sw, b); c.native().cn_switch_destroy(sw);` +
    `process.stdout.write(String(c.decodeStruct('cn_switch_status', b).io_uring));`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
    env: { ...process.env, CONTAINET_DATAPATH: 'epoll' },
    encoding: 'utf8',
  });
  assert.is(out, '0');
});

test.run();
