"""Reference renderings from Python transformers, for the TypeScript tokenizer/template parity tests.

Reads one JSON request on stdin: {"modelDirs": {name: dir}, "cases": [...]}. Each case names a model dir and is one
of {"chat": {"messages", "tools", "addGenerationPrompt"}}, {"encode": {"text", "addSpecialTokens"}} or
{"decode": {"ids", "skipSpecialTokens"}}. Writes a JSON list with one result per case: {"text", "ids"} for chats,
{"ids"} for encodes, {"text"} for decodes, or {"error"} when transformers raised.
"""

import json
import sys

from transformers import AutoTokenizer


def run_case(tokenizer, case):
    if "chat" in case:
        chat = case["chat"]
        kwargs = {"tools": chat["tools"], "add_generation_prompt": chat["addGenerationPrompt"]}
        text = tokenizer.apply_chat_template(chat["messages"], tokenize=False, **kwargs)
        ids = tokenizer.apply_chat_template(chat["messages"], tokenize=True, return_dict=False, **kwargs)
        return {"text": text, "ids": list(ids)}
    if "encode" in case:
        enc = case["encode"]
        return {"ids": tokenizer.encode(enc["text"], add_special_tokens=enc["addSpecialTokens"])}
    dec = case["decode"]
    return {"text": tokenizer.decode(dec["ids"], skip_special_tokens=dec["skipSpecialTokens"])}


def main():
    request = json.load(sys.stdin)
    tokenizers = {name: AutoTokenizer.from_pretrained(path) for name, path in request["modelDirs"].items()}
    results = []
    for case in request["cases"]:
        try:
            results.append(run_case(tokenizers[case["model"]], case))
        except Exception as err:  # the TypeScript side must fail the same way
            results.append({"error": f"{type(err).__name__}: {err}"})
    json.dump(results, sys.stdout, ensure_ascii=False)


main()
