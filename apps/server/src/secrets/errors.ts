// Why the secrets cannot be opened: a start-up refusal, before anything is written.
import { StartupError } from "../startup-error.js";

/** The configured key (or key file) does not open the data sealed in the database. */
export class KeyMismatchError extends StartupError {}
