// Bundles the dashboard into OUT_DIR (argument 1): index.html plus content-hashed JS and CSS, each with a
// .gz twin the aggregator sends to browsers that accept gzip. No CDN: everything the page needs is here.
import { build } from "esbuild";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { basename, join, resolve } from "node:path";
import { gzipSync } from "node:zlib";

const outDir = resolve(process.argv[2] ?? "dist");
await rm(outDir, { recursive: true, force: true });
await mkdir(join(outDir, "assets"), { recursive: true });

const result = await build({
  entryPoints: { app: "web/main.ts", styles: "web/styles.css" },
  bundle: true,
  minify: true,
  format: "esm",
  target: ["es2022"],
  entryNames: "[name]-[hash]",
  chunkNames: "chunk-[hash]",
  splitting: true,
  outdir: join(outDir, "assets"),
  metafile: true,
  legalComments: "linked",
  logLevel: "warning",
});

const outputs = Object.keys(result.metafile.outputs);
const entry = (source) => basename(outputs.find((file) => result.metafile.outputs[file].entryPoint === source));
const html = (await readFile("web/index.html", "utf8"))
  .replace("{{script}}", `assets/${entry("web/main.ts")}`)
  .replace("{{styles}}", `assets/${entry("web/styles.css")}`);
await writeFile(join(outDir, "index.html"), html);

for (const file of [...outputs.map((output) => resolve(output)), join(outDir, "index.html")]) {
  if (/\.(js|css|html)$/.test(file)) await writeFile(`${file}.gz`, gzipSync(await readFile(file), { level: 9 }));
}
console.log(`dashboard bundled into ${outDir}`);
