import { describe, expect, it } from 'vitest';
import { builderLabels, discoveredLabels, distroOf, type MachineFacts } from '../../lib/builder/labels.js';
import { parseLabelsFile } from '../../lib/builder/labelsFile.js';
import { labelsProblem } from '../../lib/protocol/labels.js';

const facts: MachineFacts = {
  platform: 'linux', arch: 'arm64', release: '6.1.0-18-amd64', nodeVersion: 'v22.3.1', cpus: 8, totalMemBytes: 7.8 * 2 ** 30,
  hostname: 'build box.lan', osRelease: 'NAME="Debian GNU/Linux"\nID=debian\nVERSION_ID="12"\n',
};

describe('discovered labels', () => {
  it('reads os, arch, distro, kernel, node major, cpus, mem in GiB and hostname', () => {
    expect(discoveredLabels(facts)).toEqual({
      os: 'linux', arch: 'arm64', distro: 'debian', kernel: '6.1.0-18-amd64', node: '22', cpus: '8', mem: '8', hostname: 'build-box.lan',
    });
  });

  it('are valid labels on this machine too', () => {
    expect(labelsProblem(discoveredLabels())).toBeNull();
  });

  it('reads a quoted ID and leaves distro out without os-release', () => {
    expect(distroOf('ID="rhel"\nID_LIKE="fedora"\n')).toBe('rhel');
    expect(distroOf(undefined)).toBeUndefined();
    expect(discoveredLabels({ ...facts, osRelease: undefined }).distro).toBeUndefined();
  });

  it('the operator\'s labels win', () => {
    expect(builderLabels({ arch: 'x64', pool: 'fast' }, facts)).toMatchObject({ arch: 'x64', pool: 'fast', os: 'linux' });
  });
});

describe('labels file', () => {
  it('takes KEY=VALUE lines, comments and blank lines', () => {
    expect(parseLabelsFile('# pools\npool=fast\n\n  zone = eu \n')).toEqual({ pool: 'fast', zone: 'eu' });
  });
  it('names the bad line', () => {
    expect(() => parseLabelsFile('pool=fast\nzone\n')).toThrow('line 2: label "zone" is not KEY=VALUE');
  });
});
