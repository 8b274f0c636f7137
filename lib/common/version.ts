// The package version, read once from the nearest package.json named simplebb above this module (source or dist/, any depth).
import { packageFile, packageRoot } from './packageFile.js';

export const VERSION: string = packageRoot() !== undefined ? (JSON.parse(packageFile('package.json')) as { version?: string }).version ?? '0.0.0' : '0.0.0';
