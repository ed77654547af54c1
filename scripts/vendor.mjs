// Copies the browser builds of our npm dependencies into static/vendor/,
// which is git-ignored: the repository holds only package.json and its lock file.
import { copyFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const target = join(root, "static", "vendor");
const files = {
  "socket.io.min.js": "node_modules/socket.io-client/dist/socket.io.min.js",
  "socket.io.min.js.map": "node_modules/socket.io-client/dist/socket.io.min.js.map",
  "chart.umd.js": "node_modules/chart.js/dist/chart.umd.js",
  "chart.umd.js.map": "node_modules/chart.js/dist/chart.umd.js.map",
};

mkdirSync(target, { recursive: true });
for (const [name, source] of Object.entries(files)) {
  copyFileSync(join(root, source), join(target, name));
}
console.log(`vendor assets copied to ${target}`);
