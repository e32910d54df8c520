// Compiles TypeScript sources in memory against the client, with the package's own compiler
// options, and returns each source's diagnostics: the way type tests prove that something does,
// or does not, compile.
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
 */
export function compile(sources: Record<string, string>): Record<string, string[]> {
  const options = compilerOptions();
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
