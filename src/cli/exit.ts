import { EXIT } from '../errors.ts';

/** Commands set the exit code they finish with here (commander does not pass action results back). */
export const lastExitCode = { value: EXIT.OK as number };
