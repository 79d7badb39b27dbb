// Tailwind CSS v3 configuration for gennai's web interface (docs/decisions/0016).
// Colours, type scale, radii and shadows come from the Digital Agency design system
// (@digital-go-jp/tailwind-theme-plugin, built on @digital-go-jp/design-tokens).
// Build with ../scripts/build-assets; the output is committed.
const designTokens = require('@digital-go-jp/design-tokens');
const tokens = designTokens.default || designTokens;
const digitalGoJp = require('@digital-go-jp/tailwind-theme-plugin');

// The design system's font stacks name Noto Sans JP first. gennai loads no web fonts (they
// would cost more than the whole page budget on slow networks), so add the Japanese UI fonts
// that Windows and macOS already have before the generic family.
const withJapaneseFallbacks = (stack, extra) => stack.replace(/,\s*(sans-serif|monospace)\s*$/, `, ${extra}, $1`);

/** @type {import('tailwindcss').Config} */
module.exports = {
  content: {
    relative: true,
    files: [
      '../src/gennai/web/templates/**/*.html',
      '../src/gennai/web/static/js/*.js',
      '../src/gennai/web/**/*.py',
    ],
  },
  theme: {
    extend: {
      fontFamily: {
        sans: withJapaneseFallbacks(tokens.FontFamily.Sans.$value, "'BIZ UDPGothic', 'Hiragino Sans', Meiryo"),
        mono: withJapaneseFallbacks(tokens.FontFamily.Mono.$value, "'BIZ UDGothic', Consolas, Menlo"),
      },
    },
  },
  plugins: [digitalGoJp],
};
