// Compiles TypeScript sources in memory against the client, with the package's own compiler
// options, and returns each source's diagnostics: the way type tests prove that something does,
// or does not, compile. `hover` asks the language service what an editor shows on hover.
import path from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const packageDir = fileURLToPath(new URL("..", import.meta.url));

function compilerOptions(): ts.CompilerOptions {
  const configFile = path.join(packageDir, "tsconfig.json");
  const { config } = ts.readConfigFile(configFile, (file) => ts.sys.readFile(file)) as { config: unknown };
  return ts.parseJsonConfigFileContent(config, ts.sys, packageDir).options;
}

/**
 * Diagnostics per source name (an empty array: it compiles), each as `at <word>: <message>`,
 * where <word> is the source text where the error points (`configuration`, `key`, ...).
 * `overrides` change the package's compiler options (say, to compile against the built package).
 */
export function compile(sources: Record<string, string>, overrides: ts.CompilerOptions = {}): Record<string, string[]> {
  const options = { ...compilerOptions(), ...overrides };
  const files = new Map(Object.entries(sources).map(([name, text]) => [path.join(packageDir, "test", "virtual", `${name}.ts`), text]));
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  const fileExists = host.fileExists.bind(host);
  const readFile = host.readFile.bind(host);
  host.getSourceFile = (file, language, ...rest) => {
    const text = files.get(file);
    return text === undefined ? getSourceFile(file, language, ...rest) : ts.createSourceFile(file, text, language);
  };
  host.fileExists = (file) => files.has(file) || fileExists(file);
  host.readFile = (file) => files.get(file) ?? readFile(file);
  const program = ts.createProgram([...files.keys()], options, host);
  const result: Record<string, string[]> = {};
  for (const [file] of files) {
    const name = path.basename(file, ".ts");
    result[name] = ts.getPreEmitDiagnostics(program, program.getSourceFile(file)).map((d) => {
      const at = d.file && d.start !== undefined ? /^[\w."-]*/.exec(d.file.text.slice(d.start))?.[0] : "";
      return `at ${at}: ${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`;
    });
  }
  return result;
}

/**
 * What an editor shows when the user hovers each of `targets` in `source` (each target is the
 * first occurrence of that text; the hover is on its second character, inside the name): the
 * signature line, then the JSDoc (description and tags).
 */
export function hover(source: string, targets: string[]): Record<string, string> {
  const options = compilerOptions();
  const file = path.join(packageDir, "test", "virtual", "hover.ts");
  const readFile = (name: string) => (name === file ? source : ts.sys.readFile(name));
  const service = ts.createLanguageService({
    getCompilationSettings: () => options,
    getScriptFileNames: () => [file],
    getScriptVersion: () => "1",
    getScriptSnapshot: (name) => {
      const text = readFile(name);
      return text === undefined ? undefined : ts.ScriptSnapshot.fromString(text);
    },
    getCurrentDirectory: () => packageDir,
    getDefaultLibFileName: (o) => ts.getDefaultLibFilePath(o),
    fileExists: (name) => name === file || ts.sys.fileExists(name),
    readFile,
    readDirectory: (...args) => ts.sys.readDirectory(...args),
    directoryExists: (name) => ts.sys.directoryExists(name),
    getDirectories: (name) => ts.sys.getDirectories(name),
  });
  const result: Record<string, string> = {};
  for (const target of targets) {
    const at = source.indexOf(target);
    if (at < 0) throw new Error(`hover: ${target} is not in the source`);
    const info = service.getQuickInfoAtPosition(file, at + 1);
    const tags = (info?.tags ?? []).map((t) => `@${t.name} ${ts.displayPartsToString(t.text)}`);
    result[target] = [ts.displayPartsToString(info?.displayParts), ts.displayPartsToString(info?.documentation), ...tags].join("\n");
  }
  return result;
}
