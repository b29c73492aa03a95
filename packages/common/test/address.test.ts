import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { formatMac, parseIpv4Cidr, parseIpv6Cidr, parseMac, randomIdentity, randomMac, validateIdentity } from '@containet/common';

test('IPv4 with prefix, netmask and classful defaults', () => {
  assert.is(parseIpv4Cidr('10.0.0.2/24').cidr, '10.0.0.2/24');
  assert.is(parseIpv4Cidr('10.0.0.2/255.255.0.0').cidr, '10.0.0.2/16');
  assert.is(parseIpv4Cidr('10.1.2.3').prefix, 8);
  assert.is(parseIpv4Cidr('172.16.0.1').prefix, 16);
  assert.is(parseIpv4Cidr('192.168.1.1').prefix, 24);
});

test('bad IPv4 input is a usage error naming the input', () => {
  for (const bad of ['10.0.0.300/24', '10.0.0/24', '10.0.0.2/33', '10.0.0.2/x', '224.0.0.1', 'abc', '10.0.0.2/255.0.255.0', '10.0.0.2/0']) {
    assert.throws(() => parseIpv4Cidr(bad), (e: { code: string; message: string; exitCode: number }) => e.code === 'CN_USAGE' && e.message.includes(bad.split('/')[0]!) && e.exitCode === 2, bad);
  }
});

test('IPv6 parsing', () => {
  assert.is(parseIpv6Cidr('fd00::2/64').cidr, 'fd00::2/64');
  assert.throws(() => parseIpv6Cidr('fd00::zz/64'));
  assert.throws(() => parseIpv6Cidr('fd00::2/129'));
});

test('MACs round-trip; random ones are unicast and locally administered', () => {
  assert.is(formatMac(parseMac('02:AB:cd:00:11:ff')), '02:ab:cd:00:11:ff');
  for (let i = 0; i < 100; i++) {
    const first = parseMac(randomMac())[0]!;
    assert.is(first & 1, 0);
    assert.is(first & 2, 2);
  }
  assert.throws(() => parseMac('02:ab:cd:00:11'));
});

test('identities are 11 base62 characters and validated', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 1000; i++) {
    const id = randomIdentity();
    assert.match(id, /^[0-9A-Za-z]{11}$/);
    seen.add(id);
  }
  assert.is(seen.size, 1000);
  assert.is(validateIdentity('web-1'), 'web-1');
  for (const bad of ['', '../x', '-x', 'a/b', 'x'.repeat(64), 'a b']) assert.throws(() => validateIdentity(bad), bad);
});

test.run();
