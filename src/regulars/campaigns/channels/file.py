"""A folder as the provider, for development and demos: one JSON file a message."""

import json
import os
from dataclasses import asdict
from pathlib import Path

from regulars.campaigns.channels import Outgoing


class FileSink:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def send(self, message: Outgoing) -> None:
        """Write `<key>.json` once; a repeat of the same key leaves the first in place."""
        self.folder.mkdir(parents=True, exist_ok=True)
        target = self.folder / f"{message.key}.json"
        if target.exists():
            return
        partial = target.with_suffix(".partial")
        partial.write_text(json.dumps(asdict(message), ensure_ascii=False, indent=1))
        os.replace(partial, target)
