// Builds the editor and the project page into Django's static folder with fixed names, so the
// templates can reference editor.js / editor.css / project.js without a manifest. Code both
// pages share (the API client, DOM helpers) goes into a shared chunk that the entries import.
import { defineConfig } from "vitest/config";
import { fileURLToPath } from "node:url";

const src = (path: string): string => fileURLToPath(new URL(`./src/${path}`, import.meta.url));

export default defineConfig({
  // Relative URLs in the bundle: the tint worker is found next to editor.js wherever static files are served.
  base: "./",
  build: {
    outDir: fileURLToPath(new URL("../annotations/static/editor", import.meta.url)),
    emptyOutDir: true,
    cssCodeSplit: false,
    target: "es2022",
    sourcemap: true,
    rollupOptions: {
      input: {
        editor: src("main.ts"), project: src("pages/project.ts"), team: src("pages/team.ts"),
        jobs: src("pages/jobs.ts"), quality: src("pages/quality.ts"),
      },
      output: {
        entryFileNames: "[name].js",
        chunkFileNames: "shared-[name].js",
        assetFileNames: "editor[extname]",
      },
    },
  },
  // The tint worker (src/render/tint-worker.ts) next to editor.js under a fixed name, like the entries.
  worker: {
    format: "es",
    rollupOptions: { output: { entryFileNames: "[name].js", chunkFileNames: "worker-[name].js" } },
  },
  test: {
    include: ["tests/**/*.test.ts"],
    environment: "node",
  },
});
