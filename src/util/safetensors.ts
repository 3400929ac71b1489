/**
 * Encoding tensors as a safetensors file (https://github.com/huggingface/safetensors):
 *
 *   8 bytes   N, the header's byte length, unsigned 64-bit little-endian
 *   N bytes   UTF-8 JSON: { name: { dtype, shape, data_offsets: [begin, end] }, "__metadata__"?: { string: string } },
 *             padded with spaces so that the data starts at a multiple of 8
 *   the data  each tensor's little-endian bytes, in header order, offsets relative to the start of the data
 *
 * No npm package for writing the format was available, so this is a small one for the dtypes tmax writes.
 */

import { endianness } from "node:os";

export type SafetensorsDtype = "I32" | "I64" | "F32";

export interface TensorToEncode {
  dtype: SafetensorsDtype;
  shape: readonly number[];
  data: Int32Array | BigInt64Array | Float32Array;
}

const ARRAY_OF: Record<SafetensorsDtype, new (n: number) => Int32Array | BigInt64Array | Float32Array> = {
  I32: Int32Array,
  I64: BigInt64Array,
  F32: Float32Array,
};

const HEADER_ALIGNMENT = 8;

export function encodeSafetensors(tensors: Readonly<Record<string, TensorToEncode>>, metadata?: Record<string, string>): Uint8Array {
  if (endianness() !== "LE") throw new Error("writing safetensors needs a little-endian machine");
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, tensor] of Object.entries(tensors)) {
    if (name === "__metadata__") throw new RangeError("__metadata__ is not a tensor name");
    if (!(tensor.data instanceof ARRAY_OF[tensor.dtype])) throw new TypeError(`tensor ${name}: data is not a ${tensor.dtype} array`);
    const elements = tensor.shape.reduce((n, d) => n * d, 1);
    if (tensor.shape.some((d) => !Number.isInteger(d) || d < 0) || elements !== tensor.data.length) {
      throw new RangeError(`tensor ${name}: shape [${tensor.shape.join(", ")}] does not hold ${tensor.data.length} values`);
    }
    header[name] = { dtype: tensor.dtype, shape: [...tensor.shape], data_offsets: [offset, offset + tensor.data.byteLength] };
    offset += tensor.data.byteLength;
  }
  const json = Buffer.from(JSON.stringify(header), "utf8");
  const headerLength = Math.ceil(json.length / HEADER_ALIGNMENT) * HEADER_ALIGNMENT;
  const out = new Uint8Array(8 + headerLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLength), true);
  out.fill(0x20, 8, 8 + headerLength);
  out.set(json, 8);
  let at = 8 + headerLength;
  for (const tensor of Object.values(tensors)) {
    out.set(new Uint8Array(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength), at);
    at += tensor.data.byteLength;
  }
  return out;
}
