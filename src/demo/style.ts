/** The demo uses the CLI's colour helper (src/cli/color.ts). */
export { style, useColor, type Style } from '../cli/color.js';
