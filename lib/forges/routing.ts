// Which build a webhook's event becomes: the repository mapped to a project by the configuration, the ref to a
// branch, and the reasons an event builds nothing (a deleted branch, a tag, `[skip ci]`, a pull request closed).
import { branchProblem, projectProblem, revisionProblem } from '../protocol/names.js';
import { asksToSkip, type HookEvent } from './forge.js';

/** One repository (or `*`, every repository, as the project named after it) and how its events are built. */
export interface RepositoryRoute {
  repository: string;
  /** The project it is built as; default: the repository's name after its last `/`. */
  project?: string;
  /** Build pushed tags too (as `refs/tags/NAME`); default no. */
  tags?: boolean;
  /** Build pull and merge requests; default yes. */
  pullRequests?: boolean;
  /** Only on builders whose labels match this selector (as `simplebb-suggest --on`); default every builder. */
  on?: string;
}

export type Routed =
  | { build: { project: string; branch: string; revision: string; on?: string } }
  | { skip: string };

/** The build an event asks for under these routes, or why it asks for none. */
export function route(routes: readonly RepositoryRoute[], event: HookEvent): Routed {
  if (event.kind === 'ping') return { skip: 'ping' };
  if (event.kind === 'other') return { skip: `${event.event} events are not built` };
  const r = routes.find((x) => x.repository === event.repository) ?? routes.find((x) => x.repository === '*');
  if (!r) return { skip: `repository ${event.repository} is not configured` };
  const project = r.project ?? event.repository.slice(event.repository.lastIndexOf('/') + 1);
  const projectWrong = projectProblem(project);
  if (projectWrong) return { skip: `repository ${event.repository} maps to no valid project: ${projectWrong}` };
  const revisionWrong = revisionProblem(event.revision);
  let branch: string;
  if (event.kind === 'pull') {
    if (r.pullRequests === false) return { skip: 'pull requests are not built for this repository' };
    if (!event.build) return { skip: `pull request action ${event.action} changes no code` };
    branch = event.ref;
  } else {
    if (event.deleted) return { skip: `${event.ref} was deleted` };
    if (event.ref.startsWith('refs/heads/')) branch = event.ref.slice('refs/heads/'.length);
    else if (event.ref.startsWith('refs/tags/')) {
      if (!r.tags) return { skip: `tag ${event.ref.slice('refs/tags/'.length)}: tags are not built for this repository` };
      branch = event.ref;
    } else return { skip: `${event.ref} is neither a branch nor a tag` };
    if (asksToSkip(event.message)) return { skip: 'the commit message asks to skip CI' };
  }
  if (revisionWrong) return { skip: `the new revision ${JSON.stringify(event.revision.slice(0, 80))}: ${revisionWrong}` };
  const branchWrong = branchProblem(branch);
  if (branchWrong) return { skip: `${branch}: ${branchWrong}` };
  return { build: { project, branch, revision: event.revision, ...(r.on !== undefined ? { on: r.on } : {}) } };
}
