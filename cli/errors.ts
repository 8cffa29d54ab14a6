/*
 * Errors the user can act on. main.ts prints them as one line plus an
 * optional hint and exits non-zero; anything else is a bug and keeps its stack.
 */
export class CliError extends Error {
  hint: string | undefined;
  exitCode: number;
  constructor(message: string, hint?: string, exitCode = 1) {
    super(message);
    this.hint = hint;
    this.exitCode = exitCode;
  }
}
