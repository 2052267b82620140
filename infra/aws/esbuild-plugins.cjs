// esbuild plugins for the Lambda bundles (serverless-esbuild `custom.esbuild.plugins`).
const { sep } = require('node:path');

/**
 * zod 4 bundles every locale (about 260 KB) for its `locales` export. Error messages use the
 * English locale, which zod imports on its own, and nothing here switches locale: the index of
 * the others is replaced by an empty module so each Lambda stays under 1 MB unzipped.
 */
const dropZodLocales = {
  name: 'drop-zod-locales',
  setup(build) {
    build.onResolve({ filter: /^\.\.\/locales\/index\.c?js$/ }, (args) =>
      args.importer.includes(`${sep}zod${sep}`)
        ? { path: args.path, namespace: 'zod-locales-omitted' }
        : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: 'zod-locales-omitted' }, () => ({
      contents: 'export {};',
      loader: 'js',
    }));
  },
};

module.exports = [dropZodLocales];
