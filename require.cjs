// phasectl is an ES module. From CommonJS, load it with a dynamic import:
//   const { migrate } = await import('phasectl');
// (require() of an ES module needs Node.js 22, or 20.17+ with --experimental-require-module.)
throw new Error(
  "phasectl is an ES module: from CommonJS use `const { migrate } = await import('phasectl')` instead of require('phasectl')",
);
