// The DNS-SD records a master announces, read back as a client reads them, and the choice among several masters.
import { describe, expect, it } from 'vitest';
import { PROTOCOL_VERSION } from '../../lib/protocol/limits.js';
import { announcementRecords, asksFor, chooseMaster, instanceLabel, readAnnouncements, SERVICE_TYPE, targetName, txtStrings, type Announcement } from '../../lib/wire/announcement.js';

const base = { instance: 'm1', target: 'm1.local', port: 7900, addresses: ['10.0.0.1'], tls: false, builderToken: true, suggestToken: false };
const found = (over: Partial<Announcement>): Announcement => ({ ...base, protocol: PROTOCOL_VERSION, ...over });

describe('the announcement records', () => {
  it('are a PTR to the instance, its SRV with the port, its TXT and the target\'s addresses', () => {
    const records = announcementRecords({ ...base, addresses: ['10.0.0.1', 'fd00::1'] });
    expect(records).toEqual([
      { name: SERVICE_TYPE, type: 'PTR', ttl: 120, data: `m1.${SERVICE_TYPE}` },
      { name: `m1.${SERVICE_TYPE}`, type: 'SRV', ttl: 120, data: { priority: 0, weight: 0, port: 7900, target: 'm1.local' } },
      { name: `m1.${SERVICE_TYPE}`, type: 'TXT', ttl: 120, data: [`protocol=${PROTOCOL_VERSION}`, 'tls=0', 'builder-token=1', 'suggest-token=0'] },
      { name: 'm1.local', type: 'A', ttl: 120, data: '10.0.0.1' },
      { name: 'm1.local', type: 'AAAA', ttl: 120, data: 'fd00::1' },
    ]);
    expect(txtStrings({ tls: true, builderToken: false, suggestToken: true })).toEqual([`protocol=${PROTOCOL_VERSION}`, 'tls=1', 'builder-token=0', 'suggest-token=1']);
  });

  it('make names into one DNS label', () => {
    expect(instanceLabel('build.example.org')).toBe('build-example-org');
    expect(Buffer.byteLength(instanceLabel('é'.repeat(60)))).toBeLessThanOrEqual(63);
    expect(instanceLabel('')).toBe('simplebb');
    expect(targetName('host.example.org')).toBe('host.local');
    expect(targetName('weird_host')).toBe('weird-host.local');
  });

  it('read back as the client reads them, TXT strings arriving as buffers and names in any case', () => {
    const wire = announcementRecords({ ...base, tls: true, addresses: ['fd00::1', '10.0.0.1'] }).map((r) =>
      r.type === 'TXT' ? { ...r, data: r.data.map((s) => Buffer.from(s)) } : r.type === 'PTR' ? { ...r, name: r.name.toUpperCase() } : r);
    expect(readAnnouncements(wire)).toEqual([found({ tls: true, addresses: ['10.0.0.1', 'fd00::1'] })]);
  });

  it('leave out what came malformed: no SRV, a bad port, no address; a missing TXT reads as nothing offered', () => {
    const [ptr, srv, txt, a] = announcementRecords(base);
    expect(readAnnouncements([ptr!, txt!, a!])).toEqual([]);
    expect(readAnnouncements([ptr!, { ...srv!, data: { port: 70000, target: 'm1.local' } }, a!])).toEqual([]);
    expect(readAnnouncements([ptr!, srv!, txt!])).toEqual([]);
    expect(readAnnouncements([{ name: SERVICE_TYPE, type: 'PTR', data: 'other._http._tcp.local' }, srv!, a!])).toEqual([]);
    expect(readAnnouncements([ptr!, srv!, a!, { name: 'x', type: 'TXT', data: 5 }])).toEqual([found({ protocol: undefined, builderToken: false })]);
  });

  it('answer queries for the service type, the instance or the host name, not others', () => {
    expect(asksFor([{ name: SERVICE_TYPE, type: 'PTR' }], 'm1', 'm1.local')).toBe(true);
    expect(asksFor([{ name: `M1.${SERVICE_TYPE}`, type: 'SRV' }], 'm1', 'm1.local')).toBe(true);
    expect(asksFor([{ name: 'm1.local', type: 'A' }], 'm1', 'm1.local')).toBe(true);
    expect(asksFor([{ name: '_http._tcp.local', type: 'PTR' }, { name: 5 }], 'm1', 'm1.local')).toBe(false);
  });
});

describe('the choice of master', () => {
  it('prefers one that offers TLS, else takes the first that answered', () => {
    expect(chooseMaster([found({ instance: 'a' }), found({ instance: 'b', tls: true })], false)).toEqual({ master: found({ instance: 'b', tls: true }) });
    expect(chooseMaster([found({ instance: 'a' }), found({ instance: 'b' })], false)).toEqual({ master: found({ instance: 'a' }) });
  });

  it('takes only a master that speaks our protocol, and with --tls only one that offers TLS', () => {
    expect(chooseMaster([found({ instance: 'old', protocol: PROTOCOL_VERSION - 1, tls: true }), found({ instance: 'new' })], false)).toEqual({ master: found({ instance: 'new' }) });
    expect(chooseMaster([found({ instance: 'old', protocol: PROTOCOL_VERSION - 1 })], false)).toEqual({ problem: `found old (protocol ${PROTOCOL_VERSION - 1}) by DNS-SD, but none speaks protocol ${PROTOCOL_VERSION}` });
    expect(chooseMaster([found({ instance: 'plain' })], true)).toEqual({ problem: 'found plain by DNS-SD, but none offers TLS, which --tls asks for' });
  });

  it('says in one line when none answered', () => {
    expect(chooseMaster([], false)).toEqual({ problem: `no master answered on the local network (DNS-SD ${SERVICE_TYPE}) within 1.5 s` });
  });
});
