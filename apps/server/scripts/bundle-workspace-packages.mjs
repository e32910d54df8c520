// prepack and postpack of @instances-api/server: the workspace packages the server needs at run
// time (the bundled spec, the spec tools, the built docs) go inside its tarball, as bundled
// dependencies, so that `npm install <tarball>` in an empty folder gives a server that runs.
//
// npm bundles only what it finds in the package's own node_modules, and in this workspace those
// packages are hoisted to the root (npm then writes nothing, or paths with `..`). So, before npm
// packs, this stages a slim copy of each (its run-time files and a package.json without
// dependencies: nothing for `npm install` to fetch; the docs' build tools stay out) under
// dist/bundled/, and links apps/server/node_modules/@instances-api/<name> to it; after, `--remove`
// takes the links away. Node resolves a link to its real path, so a process of the workspace that
// resolves a package meanwhile gets the staged copy: it is kept (files replaced one by one,
// atomically; never the whole folder removed), so that such a process never loses the files it
// holds, and the same files are in the tarball.
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  rmdirSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const serverDir = fileURLToPath(new URL("..", import.meta.url));
const stagingDir = path.join(serverDir, "dist", "bundled");
const linksDir = path.join(serverDir, "node_modules", "@instances-api");

/** What each package needs at run time: folders of its own, and which of their files. */
const packages = [
  { name: "spec", folders: [{ folder: "dist", take: /^openapi\.(json|yaml)$/ }] },
  { name: "spec-tools", folders: [{ folder: "dist", take: /\.(js|d\.ts)$/ }] },
  {
    name: "docs",
    folders: [
      { folder: "lib", take: /^index\.(js|d\.ts)$/ },
      { folder: "dist", take: /./ },
    ],
  },
];

/** The package's folder in the workspace, found as Node finds it (the root's node_modules link). */
function workspaceFolder(name) {
  for (let dir = serverDir; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, "node_modules", "@instances-api", name);
    if (existsSync(candidate) && dir !== serverDir) return realpathSync(candidate);
    if (path.dirname(dir) === dir) throw new Error(`@instances-api/${name} is not installed: run npm install at the repository's root`);
  }
}

/** Every file under `dir` (relative paths) whose name `take` matches. */
function filesUnder(dir, take, relative = "") {
  return readdirSync(path.join(dir, relative), { withFileTypes: true }).flatMap((entry) => {
    const file = path.join(relative, entry.name);
    if (entry.isDirectory()) return filesUnder(dir, take, file);
    return take.test(entry.name) ? [file] : [];
  });
}

/** Writes `write(temporary)` to a temporary name beside `target`, then renames it into place. */
function replaceAtomically(target, write) {
  mkdirSync(path.dirname(target), { recursive: true });
  const temporary = `${target}.${process.pid}.tmp`;
  write(temporary);
  renameSync(temporary, target);
}

function stage({ name, folders }) {
  const source = workspaceFolder(name);
  const target = path.join(stagingDir, name);
  const wanted = new Set(["package.json"]);
  for (const { folder, take } of folders) {
    if (!existsSync(path.join(source, folder))) throw new Error(`@instances-api/${name} is not built (no ${folder}/): run npm run build`);
    for (const file of filesUnder(path.join(source, folder), take)) {
      const relative = path.join(folder, file);
      wanted.add(relative);
      replaceAtomically(path.join(target, relative), (temporary) => copyFileSync(path.join(source, relative), temporary));
    }
  }
  const manifest = JSON.parse(readFileSync(path.join(source, "package.json"), "utf8"));
  const { version, description, license, type, exports } = manifest;
  const slim = { name: manifest.name, version, description, license, type, exports };
  replaceAtomically(path.join(target, "package.json"), (temporary) => writeFileSync(temporary, JSON.stringify(slim, null, 2) + "\n"));
  // What an earlier staging left that the package no longer has would otherwise ship.
  for (const file of filesUnder(target, /./)) if (!wanted.has(file)) rmSync(path.join(target, file));

  replaceAtomically(path.join(linksDir, name), (temporary) => symlinkSync(path.relative(linksDir, target), temporary, "dir"));
}

function unlink({ name }) {
  rmSync(path.join(linksDir, name), { force: true });
}

if (process.argv.includes("--remove")) {
  packages.forEach(unlink);
  for (const dir of [linksDir, path.dirname(linksDir)]) {
    if (existsSync(dir) && readdirSync(dir).length === 0) rmdirSync(dir);
  }
} else {
  packages.forEach(stage);
}
