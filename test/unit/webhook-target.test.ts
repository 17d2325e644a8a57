import { describe, expect, it } from 'vitest';
import {
  type AddressKind,
  checkWebhookUrl,
  classifyAddress,
  isIpLiteral,
  targetAllowed,
} from '../../lambdas/core/webhook-target.ts';

const LOCAL = { allowLoopback: true };
const AWS = { allowLoopback: false };

describe('classifyAddress', () => {
  it.each<[string, AddressKind]>([
    // IPv4
    ['93.184.216.34', 'public'],
    ['8.8.8.8', 'public'],
    ['1.1.1.1', 'public'],
    ['9.255.255.255', 'public'],
    ['11.0.0.0', 'public'],
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['10.0.0.1', 'private'],
    ['10.255.255.255', 'private'],
    ['100.64.0.1', 'private'],
    ['100.127.255.255', 'private'],
    ['100.63.255.255', 'public'],
    ['100.128.0.0', 'public'],
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['169.254.169.254', 'link-local'],
    ['169.254.0.1', 'link-local'],
    ['169.253.0.1', 'public'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['172.15.255.255', 'public'],
    ['172.32.0.0', 'public'],
    ['192.168.1.1', 'private'],
    ['192.169.0.1', 'public'],
    ['192.0.2.10', 'reserved'],
    ['198.18.0.1', 'reserved'],
    ['198.51.100.7', 'reserved'],
    ['203.0.113.9', 'reserved'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['240.0.0.1', 'reserved'],
    ['255.255.255.255', 'reserved'],
    // IPv6
    ['::', 'unspecified'],
    ['::1', 'loopback'],
    ['[::1]', 'loopback'],
    ['0:0:0:0:0:0:0:1', 'loopback'],
    ['2606:4700:4700::1111', 'public'],
    ['2001:4860:4860::8888', 'public'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['febf:ffff::1', 'link-local'],
    ['fec0::1', 'private'],
    ['fc00::1', 'private'],
    ['fd12:3456:789a::1', 'private'],
    ['ff02::1', 'multicast'],
    ['2001:db8::1', 'reserved'],
    ['2001:0:4136:e378:8000:63bf:3fff:fdd2', 'reserved'], // Teredo
    ['3fff::1', 'reserved'],
    ['100::1', 'reserved'],
    ['::10.0.0.1', 'reserved'], // deprecated IPv4-compatible
    // IPv6 that embeds IPv4
    ['::ffff:10.0.0.1', 'private'],
    ['::ffff:a00:1', 'private'],
    ['::FFFF:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::ffff:169.254.169.254', 'link-local'],
    ['::ffff:93.184.216.34', 'public'],
    ['::ffff:0:10.0.0.1', 'private'],
    ['64:ff9b::10.0.0.1', 'private'],
    ['64:ff9b::93.184.216.34', 'public'],
    ['64:ff9b:1::1', 'private'],
    ['2002:0a00:0001::1', 'private'], // 6to4 of 10.0.0.1
    ['2002:5db8:d822::1', 'public'], // 6to4 of 93.184.216.34
  ])('%s is %s', (ip, kind) => {
    expect(classifyAddress(ip)).toBe(kind);
  });

  it.each([
    '',
    'localhost',
    'example.com',
    '1.2.3',
    '1.2.3.4.5',
    '256.0.0.1',
    '010.0.0.1',
    '1::2::3',
    '12345::1',
    '1:2:3:4:5:6:7:8:9',
    '::ffff:1.2.3.999',
    'g::1',
  ])('%j is not an address, so it is reserved', (text) => {
    expect(classifyAddress(text)).toBe('reserved');
    expect(isIpLiteral(text)).toBe(false);
  });
});

describe('targetAllowed', () => {
  it.each<[AddressKind[], boolean, boolean]>([
    [['public'], false, true],
    [['public'], true, true],
    [['public', 'public'], false, true],
    [['loopback'], true, true],
    [['loopback'], false, false],
    [['loopback', 'public'], true, true],
    [['public', 'private'], false, false], // DNS answers mixing public and private are refused
    [['public', 'private'], true, false],
    [['private'], true, false],
    [['link-local'], true, false],
    [['unspecified'], true, false],
    [['multicast'], true, false],
    [['reserved'], true, false],
    [[], true, false],
  ])('%j with allowLoopback %s → allowed %s', (kinds, allowLoopback, allowed) => {
    expect(targetAllowed(kinds, { allowLoopback }).allowed).toBe(allowed);
  });

  it('says which kind was refused and what is allowed', () => {
    expect(targetAllowed(['public', 'link-local'], AWS)).toEqual({
      allowed: false,
      kind: 'link-local',
      reason:
        'The webhook host resolves to a link-local address; webhooks are sent only to public addresses. ' +
        'Use a publicly reachable URL.',
    });
    expect(targetAllowed(['private'], LOCAL)).toMatchObject({
      reason: expect.stringContaining('only to public or loopback addresses'),
    });
    expect(targetAllowed([], AWS)).toEqual({
      allowed: false,
      kind: null,
      reason: 'The webhook host resolves to no address.',
    });
  });
});

describe('checkWebhookUrl', () => {
  it.each<[string, typeof LOCAL, string, AddressKind | null]>([
    ['https://hooks.example.com/x?y=1', AWS, 'hooks.example.com', null],
    ['https://93.184.216.34/hook', AWS, '93.184.216.34', 'public'],
    ['https://[2606:4700:4700::1111]:8443/hook', AWS, '2606:4700:4700::1111', 'public'],
    ['https://10.0.0.1/hook', AWS, '10.0.0.1', 'private'], // the address check refuses it later
    ['http://127.0.0.1:8080/hook', LOCAL, '127.0.0.1', 'loopback'],
    ['http://[::1]:8080/hook', LOCAL, '::1', 'loopback'],
    ['http://localhost:8080/hook', LOCAL, 'localhost', null],
    ['http://api.localhost/hook', LOCAL, 'api.localhost', null],
    ['http://0x7f.1/hook', LOCAL, '127.0.0.1', 'loopback'], // URL parsing normalises the address
    ['https://localhost/hook', AWS, 'localhost', null], // resolved and refused later
  ])('%s is well formed (policy %j)', (text, policy, host, literal) => {
    const check = checkWebhookUrl(text, policy);
    expect(check).toMatchObject({ ok: true, host, literal });
  });

  it.each<[string, typeof LOCAL, string]>([
    ['not a url', LOCAL, 'is not a valid absolute URL'],
    ['/relative/hook', LOCAL, 'is not a valid absolute URL'],
    ['ftp://example.com/hook', LOCAL, 'must use https, not ftp'],
    ['file:///etc/passwd', LOCAL, 'must use https, not file'],
    ['https://user:pass@example.com/hook', AWS, 'must not hold a user name or password'],
    ['https://token@example.com/hook', AWS, 'must not hold a user name or password'],
    ['http://example.com/hook', LOCAL, 'plain http is allowed only for a loopback host'],
    ['http://10.0.0.1/hook', LOCAL, 'plain http is allowed only for a loopback host'],
    ['http://127.0.0.1/hook', AWS, 'plain http is allowed only for a loopback host'],
    ['http://localhost/hook', AWS, 'plain http is allowed only for a loopback host'],
  ])('%s is refused (policy %j)', (text, policy, reason) => {
    const check = checkWebhookUrl(text, policy);
    expect(check.ok).toBe(false);
    expect(check.ok ? '' : check.reason).toContain(reason);
  });
});
