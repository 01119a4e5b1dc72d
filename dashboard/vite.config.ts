/** Builds the console into dist/, which the server serves at /dashboard. Every asset is bundled: the page loads nothing from elsewhere. */
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

export default defineConfig({
  base: '/dashboard/',
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // The strict CSP allows no inline script or style, and no data: URLs for images or fonts.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    reportCompressedSize: true,
  },
});
