import { Template } from "@huggingface/jinja";
import type { FunctionTool } from "../types.js";
import { DEFAULT_TEMPLATE } from "./model-dir.js";

/**
 * A message as a chat template reads it. tmax's ChatMessage fits; so do messages with `reasoning_content` and tool
 * calls whose `arguments` are objects (what qwen3_xml templates need, see withDecodedToolArguments).
 */
export interface TemplateMessage {
  role: string;
  content?: string | null;
  [field: string]: unknown;
}

export interface RenderOptions {
  /** Append the header that opens the assistant's next turn. */
  addGenerationPrompt: boolean;
}

/** Names a message's reasoning may come under; transformers copies the first one set to `reasoning_content` and `thinking`. */
const REASONING_FIELDS = ["reasoning_content", "thinking", "reasoning"] as const;

/**
 * Messages prepared as transformers' apply_chat_template prepares them: fields whose value is null are dropped
 * (templates test for a missing key, not for None), and reasoning under any of its names is also given as
 * `reasoning_content` and `thinking`.
 */
function templateMessages(messages: readonly TemplateMessage[]): Record<string, unknown>[] {
  return messages.map((message) => {
    const kept = Object.fromEntries(Object.entries(message).filter(([, v]) => v !== null && v !== undefined));
    const reasoning = REASONING_FIELDS.map((field) => kept[field]).find((v) => v !== undefined);
    return reasoning === undefined ? kept : { thinking: reasoning, ...kept, reasoning_content: reasoning };
  });
}

/** A model's chat template(s), rendered the way Python transformers renders them (jinja2 with trim_blocks and lstrip_blocks). */
export class ChatTemplate {
  private readonly compiled = new Map<string, Template>();

  constructor(
    /** Templates by name, as readModelDir gives them. */
    private readonly sources: ReadonlyMap<string, string>,
    /** Template variables besides the conversation: the named special tokens (bos_token, eos_token, …). */
    private readonly variables: ReadonlyMap<string, string>,
    /** Where the templates come from, for error messages. */
    private readonly origin: string,
  ) {}

  /** The template used for a call: `tool_use` when tools are given and it exists, else `default` (transformers' choice). */
  private select(withTools: boolean): Template {
    const name = withTools && this.sources.has("tool_use") ? "tool_use" : DEFAULT_TEMPLATE;
    const source = this.sources.get(name);
    if (this.sources.size === 0) throw new Error(`${this.origin}: no chat template (tokenizer_config.json has no chat_template, and there is no chat_template.jinja)`);
    if (source === undefined) throw new Error(`${this.origin}: chat templates ${[...this.sources.keys()].join(", ")}, but none named "${DEFAULT_TEMPLATE}"`);
    let template = this.compiled.get(name);
    if (!template) {
      try {
        template = new Template(source);
      } catch (err) {
        throw new Error(`${this.origin}: chat template "${name}" does not parse: ${(err as Error).message}`, { cause: err });
      }
      this.compiled.set(name, template);
    }
    return template;
  }

  /** The conversation as text. `tools` null means no tools (the template sees `tools` as none). */
  render(messages: readonly TemplateMessage[], tools: readonly FunctionTool[] | null, options: RenderOptions): string {
    if (messages.length === 0) throw new Error(`${this.origin}: cannot render an empty conversation`);
    const template = this.select(tools !== null);
    try {
      return template.render({
        ...Object.fromEntries(this.variables),
        messages: templateMessages(messages),
        tools,
        documents: null,
        add_generation_prompt: options.addGenerationPrompt,
      });
    } catch (err) {
      throw new Error(`${this.origin}: chat template failed: ${(err as Error).message}`, { cause: err });
    }
  }
}

/**
 * The messages with each tool call's `arguments` JSON string decoded to an object, as vLLM does before applying a
 * chat template (qwen3_xml templates render arguments one parameter at a time). Arguments that are not a JSON object
 * are left as they are.
 */
export function withDecodedToolArguments(messages: readonly TemplateMessage[]): TemplateMessage[] {
  return messages.map((message) => {
    if (!Array.isArray(message.tool_calls)) return message;
    const calls = (message.tool_calls as unknown[]).map((call) => {
      const fn = (call as { function?: { arguments?: unknown } } | null)?.function;
      if (!fn || typeof fn.arguments !== "string") return call;
      let decoded: unknown;
      try {
        decoded = JSON.parse(fn.arguments);
      } catch {
        return call;
      }
      if (!decoded || typeof decoded !== "object" || Array.isArray(decoded)) return call;
      return { ...(call as object), function: { ...fn, arguments: decoded } };
    });
    return { ...message, tool_calls: calls };
  });
}
