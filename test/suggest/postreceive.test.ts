import { describe, expect, it } from 'vitest';
import { parsePostReceive } from '../../lib/suggest/postreceive.js';

const Z = '0'.repeat(40);
const A = 'a'.repeat(40);
const B = 'b'.repeat(40);

describe('parsePostReceive', () => {
  it('suggests created and updated branches with the new revision', () => {
    expect(parsePostReceive(`${Z} ${A} refs/heads/master\n${A} ${B} refs/heads/feature/x\n`)).toEqual([
      { branch: 'master', revision: A }, { branch: 'feature/x', revision: B },
    ]);
  });
  it('skips deletions, tags and other refs', () => {
    expect(parsePostReceive(`${A} ${Z} refs/heads/gone\n${Z} ${A} refs/tags/v1\n${Z} ${A} refs/notes/commits\n`)).toEqual([]);
  });
  it('ignores blank lines and tolerates CRLF', () => {
    expect(parsePostReceive(`\r\n${A} ${B} refs/heads/dev\r\n\n`)).toEqual([{ branch: 'dev', revision: B }]);
  });
  it('names a malformed line', () => {
    expect(() => parsePostReceive(`${A} ${B} refs/heads/ok\nnonsense\n`)).toThrow(/line 2 is not "OLD NEW REF"/);
    expect(() => parsePostReceive(`${A} xyz refs/heads/ok\n`)).toThrow(/line 1/);
  });
  it('accepts SHA-256 object ids', () => {
    expect(parsePostReceive(`${'0'.repeat(64)} ${'c'.repeat(64)} refs/heads/m\n`)).toEqual([{ branch: 'm', revision: 'c'.repeat(64) }]);
  });
});
