// Preloaded into the jsii kernel's node process (NODE_OPTIONS=--require, set by
// bindings.py). The AWS provider's lib/index.js requires all ~2,100 resource modules
// (~550 MB, ~1.4 s) the moment jsii loads the package. This rewrites, while it is being
// compiled, each `exports.x = require("./x");` into a getter that requires on first use,
// so only the resources the stack touches are loaded. Other files pass through unchanged.
"use strict";
const Module = require("module");
const path = require("path");

const PROVIDER_INDEX = `${path.sep}@cdktf${path.sep}provider-aws${path.sep}`;
const EAGER_EXPORT = /^exports\.(\w+) = require\("(\.\/[\w-]+)"\);$/gm;
const originalCompile = Module.prototype._compile;

Module.prototype._compile = function compileWithLazyProviderExports(content, filename) {
  if (filename.includes(PROVIDER_INDEX) && filename.endsWith(`${path.sep}lib${path.sep}index.js`)) {
    content = content.replace(
      EAGER_EXPORT,
      (_, name, target) =>
        `Object.defineProperty(exports, "${name}", { enumerable: true, configurable: true, ` +
        `get() { const m = require("${target}"); Object.defineProperty(exports, "${name}", ` +
        `{ value: m, enumerable: true, writable: true }); return m; } });`
    );
  }
  return originalCompile.call(this, content, filename);
};
