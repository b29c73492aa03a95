/** The tc units of containet port set, and the values it refuses. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parsePercent, parseRate, parseSize, parseTime, parseVlanList } from '../src/link-units.js';
import { portSetRequest } from '../src/commands/port.js';
import { checkImpairment } from '../src/port-settings.js';

test('times, rates, sizes and percentages in tc units', () => {
  assert.is(parseTime('--delay', '20ms'), 20000);
  assert.is(parseTime('--delay', '1.5s'), 1.5e6);
  assert.is(parseTime('--delay', '250us'), 250);
  assert.is(parseTime('--delay', '7'), 7); // tc: a bare number is microseconds
  assert.is(parseRate('--rate', '100mbit'), 100e6);
  assert.is(parseRate('--rate', '1.5Gbit'), 1.5e9);
  assert.is(parseRate('--rate', '125kbps'), 1e6); // bytes per second
  assert.is(parseRate('--rate', '1mibit'), 1024 * 1024);
  assert.is(parseSize('--limit', '256kb'), 256 * 1024);
  assert.is(parsePercent('--loss', '0.5%'), 0.5);
  assert.is(parsePercent('--loss', '3'), 3);
  assert.equal(parseVlanList('--trunk', '10,20-22'), [10, 20, 21, 22]);
});

test('bad values name the flag and the value', () => {
  assert.throws(() => parseRate('--rate', '0'), /--rate 0: a rate must be more than 0/);
  assert.throws(() => parseTime('--delay', '-1ms'), /--delay -1ms: a time cannot be negative/);
  assert.throws(() => parsePercent('--loss', '100.5%'), /--loss 100\.5%/);
  assert.throws(() => parseTime('--jitter', '3fortnights'), /unknown time unit "fortnights"/);
  assert.throws(() => parseVlanList('--trunk', '5,6,5'), /VLAN 5 is listed twice/);
  assert.throws(() => parseVlanList('--trunk', '4095'), /outside 1\.\.4094/);
  assert.throws(() => portSetRequest('web', { vlan: '10', trunk: '20' }), /not both/);
  assert.throws(() => portSetRequest('web', { clear: true, delay: '1ms' }), /not both/);
  assert.throws(() => portSetRequest('web', {}), /needs something to set/);
});

test('a request as the daemon gets it: NODE:IFNAME, direction, impairments', () => {
  assert.equal(portSetRequest('db:eth1', { direction: 'in', delay: '10ms', jitter: '1ms', distribution: 'normal', lossBurst: '1%,30%' }), {
    port: 'db:eth1',
    direction: 'in',
    impair: { delayUs: 10000, jitterUs: 1000, distribution: 'normal', lossGilbert: { p: 1, r: 30 } },
  });
  assert.equal(portSetRequest('7', { trunk: '10,20', native: '1' }), { port: 7, vlan: { mode: 'trunk', allowed: [10, 20], native: 1 } });
});

test('the daemon drops what impairs nothing and fills Gilbert-Elliott defaults', () => {
  assert.is(checkImpairment({ lossPercent: 0, delayUs: 0 }), undefined);
  assert.equal(checkImpairment({ lossGilbert: { p: 1, r: 30 } }), { lossGilbert: { p: 1, r: 30, badLoss: 100, goodLoss: 0 } });
  assert.throws(() => checkImpairment({ rateBps: 0 }), /rate 0 bit\/s must be more than 0/);
  assert.throws(() => checkImpairment({ delayUs: -1 }), /delay -1us is negative/);
});

test.run();
