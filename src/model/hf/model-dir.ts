import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import {
  FileFormatError,
  isMissingFile,
  parseJsonText,
  readOptionalJsonDocument,
  readOptionalText,
  validateDocument,
} from "../../util/json-file.js";

const NamedTemplate = z.object({ name: z.string(), template: z.string() });

const TokenizerConfig = z
  .object({
    chat_template: z.union([z.string(), z.array(NamedTemplate)]).optional(),
  })
  .loose();

const GenerationConfig = z.object({ eos_token_id: z.union([z.number().int(), z.array(z.number().int())]).optional() }).loose();

/** The name under which a model dir's only (or main) chat template is kept, as transformers names it. */
export const DEFAULT_TEMPLATE = "default";

/** What the tokenizer and chat template of a Hugging Face model dir are built from. */
export interface ModelDirFiles {
  /** tokenizer.json, parsed. */
  tokenizerJson: Record<string, unknown>;
  /** tokenizer_config.json, parsed (its chat template included). */
  tokenizerConfig: Record<string, unknown>;
  /** Chat templates by name (`default`, `tool_use`, …); empty when the dir has none. */
  chatTemplates: Map<string, string>;
  /**
   * The named special tokens the template sees as variables (bos_token, eos_token, pad_token, …, and any other
   * `*_token` entry of the config), as transformers' `special_tokens_map` gives them: unset ones are left out.
   */
  specialTokens: Map<string, string>;
  /** eos_token_id of generation_config.json (a list when it names several), or [] without that file. */
  generationEosIds: number[];
}

/**
 * Chat templates the way transformers finds them: chat_template.jinja (and chat_templates/NAME.jinja) take priority
 * over the `chat_template` entry of tokenizer_config.json, which is a string or a list of {name, template}.
 */
async function readChatTemplates(dir: string, config: z.output<typeof TokenizerConfig>): Promise<Map<string, string>> {
  const templates = new Map<string, string>();
  const file = await readOptionalText(path.join(dir, "chat_template.jinja"));
  if (file !== null) templates.set(DEFAULT_TEMPLATE, file);
  const namedDir = path.join(dir, "chat_templates");
  const names = await readdir(namedDir).catch((err: unknown) => {
    if (isMissingFile(err)) return [];
    throw err;
  });
  for (const name of names.filter((n) => n.endsWith(".jinja")).sort()) {
    templates.set(name.slice(0, -".jinja".length), await readFile(path.join(namedDir, name), "utf8"));
  }
  if (templates.size > 0) return templates;
  const entry = config.chat_template;
  if (typeof entry === "string") templates.set(DEFAULT_TEMPLATE, entry);
  else for (const t of entry ?? []) templates.set(t.name, t.template);
  return templates;
}

/** A special token is written as its string or as an AddedToken object ({content, …}); other values are not tokens. */
function specialTokensOf(config: Record<string, unknown>): Map<string, string> {
  const tokens = new Map<string, string>();
  for (const [key, value] of Object.entries(config)) {
    if (!key.endsWith("_token")) continue;
    if (typeof value === "string") tokens.set(key, value);
    else if (value && typeof value === "object" && typeof (value as { content?: unknown }).content === "string") {
      tokens.set(key, (value as { content: string }).content);
    }
  }
  return tokens;
}

/** Reads the tokenizer files of a Hugging Face model dir; a missing tokenizer.json or tokenizer_config.json throws. */
export async function readModelDir(dir: string): Promise<ModelDirFiles> {
  const tokenizerFile = path.join(dir, "tokenizer.json");
  const configFile = path.join(dir, "tokenizer_config.json");
  const tokenizerJson = parseJsonText(tokenizerFile, await readFile(tokenizerFile, "utf8"));
  if (!tokenizerJson || typeof tokenizerJson !== "object" || Array.isArray(tokenizerJson) || !("model" in tokenizerJson)) {
    throw new FileFormatError(tokenizerFile, "", "not a tokenizers JSON file (no `model`)");
  }
  const rawConfig = parseJsonText(configFile, await readFile(configFile, "utf8"));
  const config = validateDocument(configFile, rawConfig, TokenizerConfig);
  const generation = await readOptionalJsonDocument(path.join(dir, "generation_config.json"), GenerationConfig);
  const eos = generation?.eos_token_id;
  return {
    tokenizerJson,
    tokenizerConfig: config,
    chatTemplates: await readChatTemplates(dir, config),
    specialTokens: specialTokensOf(config),
    generationEosIds: eos === undefined ? [] : Array.isArray(eos) ? eos : [eos],
  };
}
