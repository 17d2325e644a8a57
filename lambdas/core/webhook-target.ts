/**
 * Which execution-ended webhook targets may be called (SPEC §7, docs/webhook.md). In AWS only public
 * addresses are; the local runtime (`sc run`) also allows loopback, for development. This file
 * only classifies addresses and URLs; resolving a host and sending are in pipeline/deliver-webhook.ts.
 */

export type AddressKind =
  'public' | 'private' | 'loopback' | 'link-local' | 'unspecified' | 'multicast' | 'reserved';

export interface TargetPolicy {
  /** True in the local runtime only: loopback targets (and plain `http` to them) are allowed. */
  allowLoopback: boolean;
}

export type TargetVerdict = { allowed: true } | { allowed: false; kind: AddressKind | null; reason: string };

/**
 * The kind of an IPv4 or IPv6 address, as a resolver or a URL gives it: dotted quads, any IPv6 form
 * (`::1`, `fe80::1%eth0`, `::ffff:10.0.0.1`, `::ffff:a00:1`). An IPv6 address that embeds an IPv4 one
 * (IPv4-mapped, NAT64 `64:ff9b::/96`, 6to4 `2002::/16`) is the kind of the embedded address. Anything that
 * is not a well-formed address (including dotted quads with leading zeros, which some parsers read as
 * octal) is `reserved`, so it is never allowed.
 */
export function classifyAddress(ip: string): AddressKind {
  const text = ip.trim().replace(/^\[(.*)\]$/, '$1');
  const v4 = parseIPv4(text);
  if (v4 !== null) return classifyIPv4(v4);
  const v6 = parseIPv6(text);
  return v6 === null ? 'reserved' : classifyIPv6(v6);
}

/** True when `text` is an IPv4 or IPv6 literal (brackets allowed), rather than a host name. */
export function isIpLiteral(text: string): boolean {
  const bare = text.trim().replace(/^\[(.*)\]$/, '$1');
  return parseIPv4(bare) !== null || parseIPv6(bare) !== null;
}

/**
 * Whether a target whose host resolves to addresses of these kinds may be called: only when every one is
 * allowed (a host with one public and one private address is refused, since either could be connected to).
 */
export function targetAllowed(kinds: AddressKind[], policy: TargetPolicy): TargetVerdict {
  if (kinds.length === 0) {
    return { allowed: false, kind: null, reason: 'The webhook host resolves to no address.' };
  }
  for (const kind of kinds) {
    if (kind === 'public' || (kind === 'loopback' && policy.allowLoopback)) continue;
    const where = kind === 'loopback' ? 'a loopback' : `${kind === 'unspecified' ? 'an' : 'a'} ${kind}`;
    const allowed = policy.allowLoopback ? 'public or loopback addresses' : 'public addresses';
    return {
      allowed: false,
      kind,
      reason:
        `The webhook host resolves to ${where} address; webhooks are sent only to ${allowed}. ` +
        'Use a publicly reachable URL.',
    };
  }
  return { allowed: true };
}

export type UrlCheck =
  | {
      ok: true;
      url: URL;
      /** The host without IPv6 brackets, as it is resolved. */
      host: string;
      /** The host's kind when it is an IP literal (no DNS lookup needed); null for a host name. */
      literal: AddressKind | null;
    }
  | { ok: false; reason: string };

/**
 * The static checks of a webhook URL, before any lookup: `http:` or `https:` only, no user name or
 * password in it, and `https:` unless the policy allows loopback and the host is a loopback literal or
 * `localhost` (or a `*.localhost` name). Plain `http` is thus only for local development: in AWS every
 * target must be `https`. For a host name, the caller still resolves it and checks every address with
 * `targetAllowed` (and, for `http`, that every address is loopback).
 */
export function checkWebhookUrl(text: string, policy: TargetPolicy): UrlCheck {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return { ok: false, reason: `The webhook URL ${JSON.stringify(text)} is not a valid absolute URL.` };
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    return { ok: false, reason: `The webhook URL must use https, not ${url.protocol.replace(/:$/, '')}.` };
  }
  if (url.username !== '' || url.password !== '') {
    return {
      ok: false,
      reason:
        'The webhook URL must not hold a user name or password; use webhookSecret to authenticate instead.',
    };
  }
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (host === '') return { ok: false, reason: 'The webhook URL has no host.' };
  const literal = isIpLiteral(host) ? classifyAddress(host) : null;
  if (url.protocol === 'http:') {
    const loopbackHost = literal === 'loopback' || (literal === null && isLocalhostName(host));
    if (!(policy.allowLoopback && loopbackHost)) {
      return {
        ok: false,
        reason:
          'The webhook URL must use https; plain http is allowed only for a loopback host in local development.',
      };
    }
  }
  return { ok: true, url, host, literal };
}

/** `localhost` and names under it (RFC 6761), which resolvers answer with loopback addresses. */
export function isLocalhostName(host: string): boolean {
  const name = host.toLowerCase().replace(/\.$/, '');
  return name === 'localhost' || name.endsWith('.localhost');
}

function parseIPv4(text: string): number[] | null {
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (match === null) return null;
  const octets = match.slice(1).map((part) => (part.length > 1 && part.startsWith('0') ? NaN : Number(part)));
  return octets.every((octet) => octet >= 0 && octet <= 255) ? octets : null;
}

/** Eight 16-bit groups, or null. Accepts `::`, a trailing dotted quad and a `%zone` suffix. */
function parseIPv6(input: string): number[] | null {
  let text = input;
  const zone = text.indexOf('%');
  if (zone >= 0) text = text.slice(0, zone);
  if (!text.includes(':')) return null;
  if (text.includes('.')) {
    const lastColon = text.lastIndexOf(':');
    const v4 = parseIPv4(text.slice(lastColon + 1));
    if (v4 === null) return null;
    const [a, b, c, d] = v4 as [number, number, number, number];
    text = `${text.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const groups = (part: string | undefined) => (part === undefined || part === '' ? [] : part.split(':'));
  const head = groups(halves[0]);
  const tail = groups(halves[1]);
  const all = [...head, ...tail];
  if (!all.every((group) => /^[0-9a-f]{1,4}$/i.test(group))) return null;
  const hex = (list: string[]) => list.map((group) => parseInt(group, 16));
  if (halves.length === 1) return all.length === 8 ? hex(all) : null;
  if (all.length > 7) return null;
  return [...hex(head), ...new Array<number>(8 - all.length).fill(0), ...hex(tail)];
}

function classifyIPv4([a, b, c]: number[]): AddressKind {
  if (a === undefined || b === undefined || c === undefined) return 'reserved';
  if (a === 0) return 'unspecified'; // 0.0.0.0/8: "this network"
  if (a === 10) return 'private';
  if (a === 100 && (b & 0xc0) === 64) return 'private'; // 100.64.0.0/10: carrier-grade NAT
  if (a === 127) return 'loopback';
  if (a === 169 && b === 254) return 'link-local'; // includes the instance metadata address
  if (a === 172 && (b & 0xf0) === 16) return 'private';
  if (a === 192 && b === 168) return 'private';
  if (a === 192 && b === 0 && (c === 0 || c === 2)) return 'reserved'; // IETF assignments, TEST-NET-1
  if (a === 198 && (b & 0xfe) === 18) return 'reserved'; // 198.18.0.0/15: benchmarking
  if (a === 198 && b === 51 && c === 100) return 'reserved'; // TEST-NET-2
  if (a === 203 && b === 0 && c === 113) return 'reserved'; // TEST-NET-3
  if (a >= 224 && a < 240) return 'multicast';
  if (a >= 240) return 'reserved'; // 240.0.0.0/4, including the broadcast address
  return 'public';
}

function classifyIPv6(g: number[]): AddressKind {
  const [g0 = 0, g1 = 0, g2 = 0, g3 = 0, g4 = 0, g5 = 0, g6 = 0, g7 = 0] = g;
  const embedded = (high: number, low: number) =>
    classifyIPv4([high >> 8, high & 0xff, low >> 8, low & 0xff]);
  const zeroTo = (end: number) => g.slice(0, end).every((group) => group === 0);
  if (zeroTo(8)) return 'unspecified';
  if (zeroTo(7) && g7 === 1) return 'loopback';
  if (zeroTo(5) && g5 === 0xffff) return embedded(g6, g7); // ::ffff:0:0/96, IPv4-mapped
  if (zeroTo(4) && g4 === 0xffff && g5 === 0) return embedded(g6, g7); // ::ffff:0:0:0/96, IPv4-translated
  if (zeroTo(6)) return 'reserved'; // ::/96, the deprecated IPv4-compatible form
  if (g0 === 0x64 && g1 === 0xff9b && g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0) return embedded(g6, g7);
  if (g0 === 0x64 && g1 === 0xff9b && g2 === 1) return 'private'; // 64:ff9b:1::/48, local-use NAT64
  if (g0 === 0x2002) return embedded(g1, g2); // 6to4
  if ((g0 & 0xffc0) === 0xfe80) return 'link-local'; // fe80::/10
  if ((g0 & 0xffc0) === 0xfec0) return 'private'; // fec0::/10, deprecated site-local
  if ((g0 & 0xfe00) === 0xfc00) return 'private'; // fc00::/7, unique local
  if ((g0 & 0xff00) === 0xff00) return 'multicast';
  if (g0 === 0x2001 && g1 === 0x0db8) return 'reserved'; // documentation
  if (g0 === 0x2001 && g1 < 0x0200) return 'reserved'; // 2001::/23: Teredo, benchmarking, ORCHID …
  if (g0 === 0x3fff && g1 < 0x1000) return 'reserved'; // 3fff::/20: documentation
  if ((g0 & 0xe000) === 0x2000) return 'public'; // 2000::/3, global unicast
  return 'reserved';
}
