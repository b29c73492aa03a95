/**
 * --security-opt as docker run takes it, and the seccomp filter each
 * choice means.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ContainetError } from '@containet/common';
import { parseSecurityOpts } from '../src/security/security-opt.js';
import { seccompFilterFor } from '../src/security/seccomp.js';

function usage(values: string[]): ContainetError {
  try {
    parseSecurityOpts(values);
  } catch (err) {
    assert.instance(err, ContainetError);
    const e = err as ContainetError;
    assert.is(e.code, 'CN_USAGE');
    assert.is(e.exitCode, 2);
    return e;
  }
  throw new assert.Assertion({ message: `${values.join(' ')} was accepted`, generated: false, operator: 'throws', expects: 'throw', actual: 'returned' });
}

test('no options: the default filter, no_new_privs left as it is', () => {
  assert.equal(parseSecurityOpts([]), { seccomp: { kind: 'default' } });
});

test('seccomp=unconfined, seccomp=builtin, seccomp=PATH and the older seccomp:VALUE; the last one wins', () => {
  assert.equal(parseSecurityOpts(['seccomp=unconfined']).seccomp, { kind: 'unconfined' });
  assert.equal(parseSecurityOpts(['seccomp:unconfined']).seccomp, { kind: 'unconfined' });
  assert.equal(parseSecurityOpts(['seccomp=/etc/p.json']).seccomp, { kind: 'profile', path: '/etc/p.json' });
  assert.equal(parseSecurityOpts(['seccomp=./a:b.json']).seccomp, { kind: 'profile', path: './a:b.json' });
  assert.equal(parseSecurityOpts(['seccomp=unconfined', 'seccomp=builtin']).seccomp, { kind: 'default' });
});

test('no-new-privileges, =true, =false, :true', () => {
  assert.is(parseSecurityOpts(['no-new-privileges']).noNewPrivileges, true);
  assert.is(parseSecurityOpts(['no-new-privileges=true']).noNewPrivileges, true);
  assert.is(parseSecurityOpts(['no-new-privileges:true']).noNewPrivileges, true);
  assert.is(parseSecurityOpts(['no-new-privileges=false']).noNewPrivileges, false);
  assert.match(usage(['no-new-privileges=yes']).message, /^--security-opt no-new-privileges=yes: "yes" is not true or false$/);
});

test('systempaths=unconfined; AppArmor profiles and SELinux labels refused with what to do, their off forms accepted', () => {
  assert.is(parseSecurityOpts(['systempaths=unconfined']).unconfinedSystemPaths, true);
  assert.equal(parseSecurityOpts(['apparmor=unconfined', 'label=disable', 'label:disable']), { seccomp: { kind: 'default' } });
  const aa = usage(['apparmor=docker-default']);
  assert.is(aa.message, '--security-opt apparmor=docker-default: AppArmor is not supported: no AppArmor profile can be applied');
  assert.match(aa.hint ?? '', /apparmor=unconfined/);
  assert.match(usage(['label=type:svirt_lxc_net_t']).message, /^--security-opt label=type:svirt_lxc_net_t: SELinux is not supported/);
  assert.match(usage(['label=level:s0:c100,c200']).message, /SELinux is not supported/);
  assert.match(usage(['systempaths=confined']).message, /the only value is unconfined/);
  const unknown = usage(['seccomp-profile=x']);
  assert.is(unknown.message, '--security-opt seccomp-profile=x: unknown security option');
  assert.match(unknown.hint ?? '', /seccomp=unconfined/);
  assert.match(usage(['seccomp']).message, /^--security-opt seccomp: needs a value$/);
  assert.match(usage(['seccomp=']).message, /needs a value/);
});

test('seccompFilterFor: default for the capabilities, none when unconfined, a profile read from its file; an unreadable or bad file names itself', () => {
  const dir = mkdtempSync(join(tmpdir(), 'secopt-'));
  try {
    assert.is(seccompFilterFor({ kind: 'unconfined' }, []), undefined);
    const def = seccompFilterFor({ kind: 'default' }, ['CAP_SYS_ADMIN'])!;
    assert.is(def.defaultAction, 'errno');
    assert.ok(def.rules.some((r) => r.names.includes('mount') && r.action === 'allow'));
    const path = join(dir, 'p.json');
    writeFileSync(path, JSON.stringify({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO', errnoRet: 28 }] }));
    assert.equal(seccompFilterFor({ kind: 'profile', path }, [])!.rules, [{ names: ['mkdir'], action: 'errno', errno: 28 }]);
    const missing = join(dir, 'nope.json');
    try {
      seccompFilterFor({ kind: 'profile', path: missing }, []);
      assert.unreachable();
    } catch (err) {
      assert.is((err as ContainetError).code, 'CN_SECCOMP_PROFILE');
      assert.is((err as ContainetError).exitCode, 2);
      assert.is((err as Error).message, `cannot read seccomp profile ${missing}: ENOENT`);
    }
    writeFileSync(path, '{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_EXPLODE"}]}');
    try {
      seccompFilterFor({ kind: 'profile', path }, []);
      assert.unreachable();
    } catch (err) {
      assert.is((err as Error).message, `${path}: syscalls[0].action: unknown action "SCMP_ACT_EXPLODE"`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
