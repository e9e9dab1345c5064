// core-js-pure supplies URL, URLSearchParams, structuredClone, atob/btoa and DOMException.
// Its CommonJS modules are wrapped by esbuild so each evaluates only on its first
// require(), which lets the prelude install these globals lazily, one by one.
// (Measured: also hiding the module wrappers inside a pre-parsed-only function saves
// ~0.15 ms and ~60 KiB per isolate but makes the first use of URL/streams ~1 ms slower.)
const loaders = {
  URL: () => require('core-js-pure/stable/url/index.js'),
  URLSearchParams: () => require('core-js-pure/stable/url-search-params/index.js'),
  structuredClone: () => require('core-js-pure/stable/structured-clone.js'),
  atob: () => require('core-js-pure/stable/atob.js'),
  btoa: () => require('core-js-pure/stable/btoa.js'),
  DOMException: () => require('core-js-pure/stable/dom-exception/index.js'),
};

/** The global names core() can load. */
export const CORE_NAMES = Object.keys(loaders);

const loaded = {};
let loading = false;

/**
 * One core-js-pure export by global name, evaluated on first call. While core-js is
 * loading it feature-detects natives through the (lazy) globals; those re-entrant
 * lookups get undefined, so core-js installs its own implementation instead of reading
 * a half-initialized module.
 */
export function core(name) {
  if (name in loaded) return loaded[name];
  if (loading) return undefined;
  loading = true;
  try {
    loaded[name] = loaders[name]();
  } finally {
    loading = false;
  }
  return loaded[name];
}

/** True when value is a core-js URLSearchParams (never loads core-js just to check). */
export function isURLSearchParams(value) {
  return 'URLSearchParams' in loaded && value instanceof loaded.URLSearchParams;
}

/** A DOMException, loading its implementation on first use. */
export function domException(message, name) {
  const DOMException = core('DOMException');
  return new DOMException(message, name);
}
