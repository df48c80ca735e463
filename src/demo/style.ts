/** The demo uses the terminal colour helper (src/terminal/color.ts). */
export { style, useColor, type Style } from '../terminal/color.js';
