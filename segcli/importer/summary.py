"""What an import did: the figures its summary line and ``--json`` give."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class ImportSummary:
    """What an import did (or, with ``dry_run``, would have done)."""

    path: str
    read: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    new_attributes: list[tuple[str, str]] = field(default_factory=list)
    rejects_path: str | None = None
    dry_run: bool = False

    def counts(self) -> str:
        """``300 read, 280 created, ...``: the figures of the summary line."""
        return (
            f"{self.read} read, {self.created} created, {self.updated} updated, "
            f"{self.unchanged} unchanged, {self.rejected} rejected"
        )

    def to_json(self) -> dict:
        return {
            "path": self.path,
            "read": self.read,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
            "new_attributes": [{"name": n, "type": t} for n, t in self.new_attributes],
            "rejects_path": self.rejects_path,
            "dry_run": self.dry_run,
        }
