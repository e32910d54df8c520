// Validates values against any schema in the bundle, by JSON pointer, as OpenAPI 3.1 reads its
// schemas (JSON Schema 2020-12, formats checked). One Ajv per document and setting.
import { Ajv2020, type ErrorObject, type ValidateFunction } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import type { SpecDocument } from "./document.js";

export type { ErrorObject, ValidateFunction };

export interface SchemaValidator {
  /** The compiled validator of the schema at a pointer fragment (`#/components/schemas/Instance`). */
  compile: (pointer: string) => ValidateFunction;
  /** The errors of `value` against the schema at `pointer`; none when it is valid. */
  validate: (pointer: string, value: unknown) => ErrorObject[];
  /** Errors as one line of text. */
  errorsText: (errors: ErrorObject[] | null | undefined) => string;
}

/** `allErrors`: report every error (tests), or stop at the first (the server's fast path). */
export function schemaValidator(document: SpecDocument, { allErrors = false } = {}): SchemaValidator {
  const ajv = new Ajv2020({ strict: false, allErrors, validateSchema: false });
  addFormats.default(ajv);
  ajv.addSchema(document, "openapi.json");
  const compile = (pointer: string): ValidateFunction => {
    const check = ajv.getSchema(`openapi.json${pointer}`);
    if (!check) throw new Error(`spec: no schema at ${pointer}`);
    return check;
  };
  return {
    compile,
    validate: (pointer, value) => {
      const check = compile(pointer);
      return check(value) ? [] : [...(check.errors ?? [])];
    },
    errorsText: (errors) => ajv.errorsText(errors),
  };
}
