// What can go wrong with a request about events.
import { ApiError, echo, problemType } from "../errors.js";

/** A callback URL the server would never send to: not https, or a private, loopback or link-local address. */
export class CallbackUrlNotAllowedError extends ApiError {
  constructor(url: string, reason: string) {
    super(
      400,
      problemType("callback-url-not-allowed"),
      "Callback URL not allowed",
      `event.notification.callback.url ${echo(url)} cannot receive events: ${reason}. Use a public https URL` +
        " (to try events against a local receiver, start the server with OUTBOUND_ALLOWED_HOSTS=<host:port>, for development only)",
      { errors: [{ path: "/body/configuration/event.notification.callback.url", message: reason }] },
    );
  }
}
