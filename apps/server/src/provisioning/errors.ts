// What can go wrong when an instance's credentials are checked with the vendor. The vendor's own
// words are repeated (cut short, and with every secret of the instance blotted out); a secret
// never is.
import { ApiError, problemType } from "../errors.js";

/** The vendor refused the credentials: the caller must send others. */
export class CredentialsRefusedError extends ApiError {
  constructor(connector: string, connectorName: string, vendorStatus: number, vendorMessage: string) {
    super(
      422,
      problemType("credentials-refused"),
      "Credentials refused",
      `${connectorName} refused the credentials (HTTP ${vendorStatus}): ${vendorMessage}`,
      { connector, vendorStatus, vendorMessage },
    );
  }
}

/** The vendor could not be reached or answered with an error of its own: nothing was stored; retry later. */
export class VendorUnavailableError extends ApiError {
  constructor(connector: string, connectorName: string, detail: string, vendorStatus?: number) {
    super(
      502,
      problemType("vendor-unavailable"),
      "Vendor unavailable",
      `${connectorName} could not check the credentials: ${detail}. Nothing was stored; retry later`,
      { connector, ...(vendorStatus === undefined ? {} : { vendorStatus }) },
    );
  }
}

/** The vendor did not answer in time: nothing was stored; retry later. */
export class VendorTimeoutError extends ApiError {
  constructor(connector: string, connectorName: string) {
    super(
      504,
      problemType("vendor-timeout"),
      "Vendor timeout",
      `${connectorName} did not answer the credential check in time. Nothing was stored; retry later`,
      { connector },
    );
  }
}

/** The configuration names an address the server may not send to (private, loopback, link-local...). */
export class AddressNotAllowedError extends ApiError {
  constructor(connector: string, host: string, detail: string) {
    super(
      400,
      problemType("address-not-allowed"),
      "Address not allowed",
      `The address of ${host} is not allowed for ${connector}'s credential check: ${detail}`,
      { connector, host },
    );
  }
}

/** The configuration cannot be turned into the check's request (a value that cannot go into a URL). */
export class ProvisioningConfigurationError extends ApiError {
  constructor(connector: string, message: string, entry?: string) {
    super(400, problemType("invalid-configuration"), "Invalid configuration", `${connector}: ${message}`, {
      connector,
      ...(entry === undefined ? {} : { entry }),
    });
  }
}
