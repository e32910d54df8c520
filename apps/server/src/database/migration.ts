// One schema change, as both dialects list theirs: applied in version order, each once, recorded
// with its name in the database it changed.
export interface Migration {
  version: number;
  name: string;
  sql: string;
}
