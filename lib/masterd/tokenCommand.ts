// `simplebb-masterd token builder NAME`: prints the token of one builder, derived from the master's builder secret.
import { builderToken } from '../protocol/auth.js';
import { builderNameProblem } from '../protocol/names.js';
import { die, opt, program } from '../common/cli.js';
import { readToken } from '../common/token.js';

const PROG = 'simplebb-masterd token';

/** Parses `argv` (the words after `token`), prints the token on stdout and exits: 0, or 2 with one line naming what is wrong. */
export function tokenCommand(argv: string[]): void {
  program(PROG, 'Print the token of builder NAME, derived from the builder secret: give it to that builder as its --token-file.')
    .argument('<role>', 'whose token: builder')
    .argument('<name>', 'the builder\'s --name')
    .addOption(opt('--builder-token-file <file>', 'the master\'s builder secret (or $SIMPLEBB_BUILDER_TOKEN)', 'SIMPLEBB_BUILDER_TOKEN_FILE'))
    .action((role: string, name: string, o: { builderTokenFile?: string }) => {
      if (role !== 'builder') die(PROG, `unknown role "${role}": only builders have tokens of their own (suggesters share the suggest token)`, 2);
      const bad = builderNameProblem(name);
      if (bad) die(PROG, bad, 2);
      let secret: string | undefined;
      try {
        secret = readToken(o.builderTokenFile, 'SIMPLEBB_BUILDER_TOKEN', (m) => process.stderr.write(`${PROG}: warning: ${m}\n`));
      } catch (err) {
        die(PROG, (err as Error).message, 2);
      }
      if (secret === undefined) die(PROG, 'no builder secret: give the master\'s --builder-token-file (or set SIMPLEBB_BUILDER_TOKEN)', 2);
      process.stdout.write(`${builderToken(secret, name)}\n`);
    })
    .parse(argv, { from: 'user' });
}
