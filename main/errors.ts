/**
 * A problem with what the user gave us (a file, a folder, an option), as opposed to a bug.
 * The message must say what is wrong, where, and what to do; the CLI prints it without a stack and exits 2.
 */
export class InputError extends Error {
  override name = 'InputError';
}

/** The user (or a newer request) cancelled long-running work. */
export class CancelledError extends Error {
  override name = 'CancelledError';
  constructor(message = 'Cancelled') {
    super(message);
  }
}
