// bundle.js: what a chosen bundle file says it is, for the page to show
// before the upload: its first tar member, manifest.json (docs/bundle.md).
// Display only: the controller verifies the signature and every hash.

const TAR_BLOCK = 512;
const MANIFEST_MAX = 64 * 1024;

function field(bytes, from, len) {
  const end = bytes.subarray(from, from + len).indexOf(0);
  return new TextDecoder().decode(bytes.subarray(from, end < 0 ? from + len : from + end));
}

export async function readBundleManifest(file) {
  const head = new Uint8Array(await file.slice(0, TAR_BLOCK).arrayBuffer());
  if (head.length < TAR_BLOCK || field(head, 0, 100) !== 'manifest.json' || !field(head, 257, 6).startsWith('ustar')) {
    throw new Error('not a bundle');
  }
  const size = parseInt(field(head, 124, 12).trim(), 8);
  if (!Number.isFinite(size) || size <= 0 || size > MANIFEST_MAX) throw new Error('bad manifest size');
  const text = await file.slice(TAR_BLOCK, TAR_BLOCK + size).text();
  const m = JSON.parse(text);
  if (typeof m.version !== 'string') throw new Error('no version');
  return m;
}
