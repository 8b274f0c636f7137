// The labels a builder finds on its machine (os, arch, distro, kernel, node, cpus, mem, hostname), merged under the operator's own.
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { labelValueProblem, type Labels } from '../protocol/labels.js';

/** The machine's facts a builder reads, injectable so a test can give another machine. */
export interface MachineFacts {
  platform: string;
  arch: string;
  release: string;
  nodeVersion: string;
  cpus: number;
  totalMemBytes: number;
  hostname: string;
  /** The text of /etc/os-release, or undefined when there is none (not Linux, or a minimal container). */
  osRelease: string | undefined;
}

export function machineFacts(): MachineFacts {
  let osRelease: string | undefined;
  try {
    osRelease = readFileSync('/etc/os-release', 'utf8');
  } catch {
    osRelease = undefined;
  }
  return {
    platform: process.platform, arch: process.arch, release: os.release(), nodeVersion: process.version,
    cpus: os.availableParallelism(), totalMemBytes: os.totalmem(), hostname: os.hostname(), osRelease,
  };
}

/** `ID=ubuntu` (or `ID="rhel"`) from an os-release text. */
export function distroOf(osRelease: string | undefined): string | undefined {
  const m = osRelease && /^ID=("?)([^"\n]*)\1\s*$/m.exec(osRelease);
  return m ? m[2]!.trim().toLowerCase() : undefined;
}

/** A fact made into a valid label value: characters a value may not hold become "-"; nothing left gives undefined. */
function value(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  const v = text.replace(/[^A-Za-z0-9._:/+-]/g, '-').slice(0, 128);
  return v && !labelValueProblem(v) ? v : undefined;
}

/** The labels a builder gives itself; the operator's (`--label`) win over them. */
export function discoveredLabels(f: MachineFacts = machineFacts()): Labels {
  const found: Record<string, string | undefined> = {
    os: value(f.platform),
    arch: value(f.arch),
    distro: value(distroOf(f.osRelease)),
    kernel: value(f.release),
    node: value(/^v?(\d+)/.exec(f.nodeVersion)?.[1]),
    cpus: String(f.cpus),
    // Rounded to whole GiB: a 7.8 GiB machine counts as 8, as its buyer would say.
    mem: String(Math.round(f.totalMemBytes / 2 ** 30)),
    hostname: value(f.hostname),
  };
  const labels: Labels = {};
  for (const [k, v] of Object.entries(found)) if (v !== undefined) labels[k] = v;
  return labels;
}

/** The labels a builder announces: what it found, overridden by what it was given. */
export function builderLabels(given: Labels, facts?: MachineFacts): Labels {
  return { ...discoveredLabels(facts), ...given };
}
