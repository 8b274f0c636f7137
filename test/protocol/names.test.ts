import { describe, expect, it } from 'vitest';
import { branchProblem, projectProblem, revisionProblem } from '../../lib/protocol/names.js';

describe('project names', () => {
  it.each(['foo', 'bar', 'my-app_2.0', 'A', 'x'.repeat(128)])('accepts %s', (n) => expect(projectProblem(n)).toBeNull());
  it.each([
    ['', 'empty'], ['..', '".."'], ['../x', '".."'], ['a/b', 'slash'], ['.hidden', 'start with "."'], ['-rf', 'start with "-"'],
    ['a b', 'may only contain'], ['x'.repeat(129), 'longer than 128'], ['a\\b', 'slash'], ['naïve', 'may only contain'],
  ])('refuses %j naming the rule', (n, rule) => expect(projectProblem(n)).toContain(rule));
});

describe('branch names (git check-ref-format)', () => {
  it.each(['master', 'feature/x', 'release-1.2', 'users/ann/fix_1', 'ünïcode', 'emoji-🚀', '\ud83d\ude80'])('accepts %s', (n) => expect(branchProblem(n)).toBeNull());
  it.each([
    ['', 'empty'], ['-x', '"-"'], ['a..b', '".."'], ['a b', 'space'], ['a~1', '"~"'], ['a^', '"^"'], ['a:b', '":"'],
    ['a?', '"?"'], ['a*', '"*"'], ['a[', '"["'], ['a\\b', '"\\\\"'], ['a\u0001', 'control'], ['a\u007f', 'control'],
    ['/a', '"/"'], ['a/', '"/"'], ['a//b', '"//"'], ['a.', 'end with "."'], ['a/.b', 'start with "."'], ['x.lock', '.lock'],
    ['a/b.lock/c', '.lock'], ['@', '"@"'], ['a@{1}', '"@{"'], ['x'.repeat(256), '255 bytes'], ['é'.repeat(128), '255 bytes'],
    ['a\ud800', 'UTF-8'], ['a\u009b31m', 'C1'], ['main\u202egnp', 'bidi'], ['ma\u200bin', 'invisible'], ['\ufeffmain', 'invisible'],
  ])('refuses %j naming the rule', (n, rule) => expect(branchProblem(n)).toContain(rule.replace(/\\\\/g, '\\')));
});

describe('revisions', () => {
  it.each(['abcd', 'a'.repeat(40), 'F'.repeat(64)])('accepts %s', (r) => expect(revisionProblem(r)).toBeNull());
  it.each(['abc', 'g123', 'a'.repeat(65), '', '12 34'])('refuses %j', (r) => expect(revisionProblem(r)).toContain('hexadecimal'));
});
