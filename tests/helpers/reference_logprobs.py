"""Reference logprobs of sampled tokens, for the TypeScript tests of the reference inference server.

Reads one JSON request on stdin: {"cases": [{"model_dir", "prompt": [ids], "ids": [ids], "temperature"}]} and writes
a JSON list with, per case, the log-softmax(logits / temperature) of each of `ids` after `prompt` — one full forward
pass of Python transformers (no KV cache), independent of the server (top_p 1: the whole distribution).
"""

import json
import sys

import torch
from transformers import AutoModelForCausalLM


def main():
    request = json.load(sys.stdin)
    models = {}
    results = []
    for case in request["cases"]:
        path = case["model_dir"]
        if path not in models:
            models[path] = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32).eval()
        prompt, ids = case["prompt"], case["ids"]
        with torch.no_grad():
            logits = models[path](input_ids=torch.tensor([prompt + ids])).logits[0]
        rows = logits[len(prompt) - 1 : len(prompt) - 1 + len(ids)].double() / case["temperature"]
        logprobs = torch.log_softmax(rows, dim=-1).gather(1, torch.tensor(ids)[:, None])[:, 0]
        results.append(logprobs.tolist())
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
