export { Reader, decodeMpint } from './reader.js';
export { Writer, encodeMpint, concat } from './writer.js';
export { constantTimeEqual, utf8, toHex, fromHex } from './bytes.js';
