/*
 * heimdex: one command for running, feeding and querying Heimdex.
 * Dispatches to the table in commands/index.ts; usage errors and operational errors
 * (server down, not logged in, missing file) print one line plus a hint and
 * exit non-zero.
 */
import { formatFlags, parseArgs } from './args.ts';
import type { Command } from './command.ts';
import { COMMANDS } from './commands/index.ts';
import { CliError } from './errors.ts';

const HELP_FLAG = { help: { type: 'boolean', short: 'h', description: 'Show this help' } } as const;

function usageLine(c: Command) {
  const hasFlags = Object.keys(c.flags).length > 0;
  return `heimdex ${c.name}${c.args ? ` ${c.args}` : ''}${hasFlags ? ' [options]' : ''}`;
}

function commandHelp(c: Command): string {
  return [
    `Usage: ${usageLine(c)}`,
    '',
    c.summary + '.',
    ...(c.description ? ['', c.description] : []),
    '',
    'Options:',
    formatFlags({ ...c.flags, ...HELP_FLAG }),
  ].join('\n');
}

function groupHelp(prefix: string): string {
  const cmds = COMMANDS.filter((c) => prefix === '' || c.name.startsWith(prefix + ' '));
  const w = Math.max(...cmds.map((c) => c.name.length + (c.args ? c.args.length + 1 : 0)));
  const lines = cmds.map((c) => `  ${`${c.name}${c.args ? ` ${c.args}` : ''}`.padEnd(w)}  ${c.summary}`);
  return [
    prefix ? `Usage: heimdex ${prefix} <command> [options]` : 'Usage: heimdex <command> [options]',
    '',
    ...(prefix ? [] : ['Self-hostable semantic video search.', '']),
    'Commands:',
    ...lines,
    '',
    `Run "heimdex ${prefix ? prefix + ' ' : ''}<command> --help" for a command's options.`,
    ...(prefix ? [] : ['Configuration comes from environment variables: heimdex config table lists them.']),
  ].join('\n');
}

/** Edit distance, for "did you mean" on a typo. */
function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
  }
  return d[a.length]![b.length]!;
}

function nearest(word: string, names: string[]): string | undefined {
  const best = names.map((n) => [n, distance(word, n)] as const).sort((x, y) => x[1] - y[1])[0];
  return best && best[1] <= 2 ? best[0] : undefined;
}

async function main(argv: string[]): Promise<number> {
  if (!argv.length || ['-h', '--help', 'help'].includes(argv[0]!)) {
    process.stdout.write(groupHelp('') + '\n');
    return argv.length ? 0 : 1;
  }
  if (argv[0] === '--version' || argv[0] === '-v') {
    const { default: pkg } = await import('../package.json', { with: { type: 'json' } });
    process.stdout.write(`heimdex ${pkg.version}\n`);
    return 0;
  }
  // Longest match first, so "db migrate" wins over a hypothetical "db".
  const two = argv.slice(0, 2).join(' ');
  const cmd = COMMANDS.find((c) => c.name === two) ?? COMMANDS.find((c) => c.name === argv[0]);
  if (!cmd) {
    const group = COMMANDS.some((c) => c.name.startsWith(argv[0] + ' '));
    if (group) {
      const sub = argv[1];
      if (sub === undefined || sub === '--help' || sub === '-h') {
        process.stdout.write(groupHelp(argv[0]!) + '\n');
        return sub === undefined ? 1 : 0;
      }
      throw new CliError(`unknown command "heimdex ${argv[0]} ${sub}"`, `see: heimdex ${argv[0]} --help`);
    }
    const near = nearest(argv[0]!, [...new Set(COMMANDS.map((c) => c.name.split(' ')[0]!))]);
    throw new CliError(
      `unknown command "${argv[0]}"`,
      near ? `did you mean "heimdex ${near}"? All commands: heimdex --help` : 'see: heimdex --help',
    );
  }
  const rest = argv.slice(cmd.name.split(' ').length);
  if (rest.includes('--help') || rest.includes('-h')) {
    const dd = rest.indexOf('--');
    const h = rest.findIndex((a) => a === '--help' || a === '-h');
    if (dd === -1 || h < dd) {
      process.stdout.write(commandHelp(cmd) + '\n');
      return 0;
    }
  }
  const parsed = parseArgs(rest, cmd.flags, cmd.name);
  const takesArgs = Boolean(cmd.args);
  if (!takesArgs && parsed.positionals.length) {
    throw new CliError(
      `"heimdex ${cmd.name}" takes no arguments, got "${parsed.positionals[0]}"`,
      `see: heimdex ${cmd.name} --help`,
    );
  }
  return (await cmd.run(parsed)) ?? 0;
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (e) {
  if (e instanceof CliError) {
    process.stderr.write(`heimdex: ${e.message}\n${e.hint ? `  ${e.hint}\n` : ''}`);
    process.exitCode = e.exitCode;
  } else {
    process.stderr.write(`heimdex: unexpected error: ${(e as Error).stack ?? e}\n`);
    process.exitCode = 70;
  }
}
// Connection pools, sockets or timers left by a library (a model session, a
// pool a module opened) must not keep a finished command — or a server that
// has already closed — alive.
setTimeout(() => process.exit(), 50).unref();
