// Builds the editor into Django's static folder with fixed names, so the template
// can reference editor.js / editor.css without a manifest.
import { defineConfig } from "vitest/config";
import { fileURLToPath } from "node:url";

export default defineConfig({
  build: {
    outDir: fileURLToPath(new URL("../annotations/static/editor", import.meta.url)),
    emptyOutDir: true,
    cssCodeSplit: false,
    target: "es2022",
    sourcemap: true,
    rollupOptions: {
      input: fileURLToPath(new URL("./src/main.ts", import.meta.url)),
      output: {
        entryFileNames: "editor.js",
        chunkFileNames: "editor-[name].js",
        assetFileNames: "editor[extname]",
      },
    },
  },
  test: {
    include: ["tests/**/*.test.ts"],
    environment: "node",
  },
});
