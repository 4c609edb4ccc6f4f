// Writes brotli (.br) and gzip (.gz) copies beside each file given, so that the server
// sends them as they are to browsers that accept them: at the highest levels, or with
// --fast at quick ones (debug builds, whose bundle is ten times larger).
import { readFileSync, writeFileSync } from 'node:fs';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

const fast = process.argv.includes('--fast');
for (const file of process.argv.slice(2).filter((a) => a !== '--fast')) {
  const data = readFileSync(file);
  const br = brotliCompressSync(data, {
    params: { [constants.BROTLI_PARAM_QUALITY]: fast ? 4 : 11, [constants.BROTLI_PARAM_SIZE_HINT]: data.length },
  });
  writeFileSync(`${file}.br`, br);
  writeFileSync(`${file}.gz`, gzipSync(data, { level: fast ? 4 : 9 }));
  console.log(`    ${file}: ${data.length} bytes, brotli ${br.length}, gzip ${readFileSync(`${file}.gz`).length}`);
}
