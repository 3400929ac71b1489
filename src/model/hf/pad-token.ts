import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { parseJsonDocument } from "../../util/json-file.js";

const modelConfigSchema = z.object({ pad_token_id: z.number().int().nullish(), eos_token_id: z.union([z.number().int(), z.array(z.number().int())]).nullish() });

/** The token a model dir's config.json names for padding: pad_token_id, else (the first) eos_token_id. What padding
 *  positions hold does not matter to the learner's loss; it only has to be a valid id. */
export async function padTokenOf(modelDir: string): Promise<number> {
  const file = join(modelDir, "config.json");
  const config = parseJsonDocument(file, await readFile(file, "utf8"), modelConfigSchema);
  const eos = Array.isArray(config.eos_token_id) ? config.eos_token_id[0] : config.eos_token_id;
  const pad = config.pad_token_id ?? eos;
  if (pad === null || pad === undefined) throw new Error(`${file}: neither pad_token_id nor eos_token_id is set; pass --pad-token-id`);
  return pad;
}
