// The forges by name.
import type { Forge, ForgeName } from './forge.js';
import { forgejo, gitea } from './gitea.js';
import { github } from './github.js';
import { gitlab } from './gitlab.js';

export const FORGE_BY_NAME: Readonly<Record<ForgeName, Forge>> = { github, gitea, forgejo, gitlab };
