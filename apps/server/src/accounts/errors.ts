// Why an account operation of the `instances-api accounts` commands was refused. These know no
// HTTP: the API creates no accounts; the CLI prints the message as one plain line and exits 1.
export class AccountRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

export class DuplicateOrganizationNameError extends AccountRefusedError {
  constructor(
    readonly organization: string,
    readonly existingOrganizationId: number,
  ) {
    super(
      `an organization named ${JSON.stringify(organization)} exists already (id ${existingOrganizationId}); ` +
        "pass --allow-duplicate to create another of that name",
    );
  }
}

export class UnknownOrganizationError extends AccountRefusedError {
  constructor(readonly organizationId: number) {
    super(`there is no organization with id ${organizationId}`);
  }
}
