"""The tokenizer files of a Hugging Face model dir, copied verbatim so Python and TypeScript read the same bytes."""

import shutil
from pathlib import Path

TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "chat_template.jinja",
    "special_tokens_map.json",
    "vocab.json",
    "merges.txt",
)
"""What a tokenizer dir may hold; tokenizer.json and tokenizer_config.json are required (the chat template lives in
tokenizer_config.json or chat_template.jinja)."""

REQUIRED_TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json")


def copy_tokenizer_files(source: Path, destination: Path) -> list[str]:
    """Copies the tokenizer files present in `source` into `destination`; returns their names."""
    missing = [name for name in REQUIRED_TOKENIZER_FILES if not (source / name).is_file()]
    if missing:
        raise FileNotFoundError(f"{source}: not a tokenizer dir (missing {', '.join(missing)})")
    destination.mkdir(parents=True, exist_ok=True)
    copied = []
    for name in TOKENIZER_FILES:
        if (source / name).is_file() and (source / name).resolve() != (destination / name).resolve():
            shutil.copyfile(source / name, destination / name)
            copied.append(name)
    return copied
