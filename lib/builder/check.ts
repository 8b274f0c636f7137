// simplebb-clientd --check: what this configuration would do, without doing it. Lists the projects, and connects
// once with a hello the master checks as it would the real one (token, name, protocol) but does not register.
import { randomBytes } from 'node:crypto';
import { PROTOCOL_VERSION } from '../protocol/limits.js';
import { formatAddress } from '../wire/address.js';
import { connectToMaster } from '../wire/dial.js';
import { whichMaster } from '../wire/whichMaster.js';
import type { BuilderConfig } from './builder.js';
import { localUname } from './builder.js';
import { listProjects } from './buildscripts.js';
import { builderLabels } from './labels.js';
import { readLabelsFile } from './labelsFile.js';
import { formatLabels } from '../protocol/labels.js';
import { peekInstance } from './state.js';

/** The lines --check prints when everything would work; throws an Error with one line when something would not. */
export async function checkBuilder(config: BuilderConfig): Promise<string[]> {
  const projects = await listProjects(config.scriptsDir);
  const instance = peekInstance(config.stateDir, config.name);
  const fromFile = config.labelsFile ? await readLabelsFile(config.labelsFile) : { labels: {} };
  if (fromFile.problem) throw new Error(`--labels-file: ${fromFile.problem}`);
  const labels = builderLabels({ ...fromFile.labels, ...config.labels });
  let connected = false;
  const dial = await whichMaster(config.master, config.tls);
  await connectToMaster(dial.address, (greeting) => {
    // An older master would take the check for this builder connecting, and could replace the running one.
    if (!greeting.check) throw new Error(`it is too old to be checked (${greeting.server}); nothing was sent`);
    return {
      role: 'builder', name: config.name, instance: instance ?? randomBytes(16).toString('hex'), uname: localUname(), node: process.version,
      projects, ignoreUnknown: config.ignoreUnknown, jobs: config.jobs, check: true, ...(greeting.labels ? { labels } : {}),
    };
  }, {
    timeoutMs: config.connectTimeoutMs, heartbeatMs: 0, onChecked: (m) => { connected = m.connected; },
    ...(config.token !== undefined ? { token: config.token } : {}), ...(dial.tls ? { tls: dial.tls } : {}),
  });
  const shown = projects.slice(0, 10).join(', ') + (projects.length > 10 ? ', …' : '');
  return [
    `builder ${config.name}: ${projects.length} project${projects.length === 1 ? '' : 's'} in ${config.scriptsDir}${projects.length ? ` (${shown})` : ' (every build would be reported no-script)'}`,
    `labels ${formatLabels(labels)} (and script:NAME=true per project)`,
    `state ${config.stateDir}${instance ? '' : ' (new)'}, work ${config.workDir}, ${config.jobs} job${config.jobs === 1 ? '' : 's'} at a time`,
    `master ${formatAddress(dial.address)}${dial.found ? ` (${dial.found.said})` : ''}: reachable${dial.tls ? ' over TLS (certificate verified)' : ''}, protocol ${PROTOCOL_VERSION}, ${config.token !== undefined ? 'builder token accepted' : 'no token asked for'}, name ${config.name} ${connected ? 'connected now (by this state dir: a check does not disturb it)' : 'free'}`,
  ];
}
