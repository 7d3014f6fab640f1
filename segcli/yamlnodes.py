"""Reading YAML safely for seg's files: plain YAML only (no tags, anchors or aliases), at most
10 MiB, and helpers that read a node as what a file must hold there, each problem a ``YamlError``
naming the file and line (``segments.yaml:12: ...``)."""

from __future__ import annotations

import sys
from collections.abc import Sequence

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from .errors import DataError, NotFoundError, YamlError

MAX_DOCUMENT_BYTES = 10 * 1024 * 1024
_PLAIN_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:timestamp",  # a date written bare (a test file's now:); read as its text
    "tag:yaml.org,2002:seq",
    "tag:yaml.org,2002:map",
}


def read_text(path: str, what: str = "file") -> str:
    """The text of a YAML file (``-``: stdin), UTF-8 with or without a BOM. At most
    ``MAX_DOCUMENT_BYTES`` and one more byte are read, so that ``compose`` refuses a larger file
    without holding it; ``what`` names the file in errors (``a profile file``)."""
    try:
        if path == "-":
            data = sys.stdin.buffer.read(MAX_DOCUMENT_BYTES + 1)
        else:
            with open(path, "rb") as fh:
                data = fh.read(MAX_DOCUMENT_BYTES + 1)
        return data.decode("utf-8-sig")
    except FileNotFoundError:
        raise NotFoundError(f"{path}: no such {what}") from None
    except IsADirectoryError:
        raise DataError(f"{path} is a folder, not a {what}") from None
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not valid UTF-8 (byte {exc.start})") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read: {exc.strerror}") from None


class NoAliasLoader(yaml.SafeLoader):
    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.MarkedYAMLError(
                None, None, "anchors and aliases (*name) are not allowed in seg files", event.start_mark
            )
        event = self.peek_event()
        if getattr(event, "anchor", None):
            raise yaml.MarkedYAMLError(None, None, "anchors (&name) are not allowed in seg files", event.start_mark)
        return super().compose_node(parent, index)


def line(node: Node) -> int:
    return node.start_mark.line + 1


def err(source: str, node: Node | None, message: str) -> YamlError:
    where = f"{source}:{line(node)}" if node is not None else source
    return YamlError(f"{where}: {message}")


def check_tags(source: str, node: Node) -> None:
    stack = [node]
    while stack:
        n = stack.pop()
        if n.tag not in _PLAIN_TAGS:
            raise err(source, n, f"the tag {n.tag} is not allowed (plain YAML only)")
        if isinstance(n, MappingNode):
            for k, v in n.value:
                stack += [k, v]
        elif isinstance(n, SequenceNode):
            stack += n.value


def scalar(source: str, node: Node, what: str) -> str:
    if not isinstance(node, ScalarNode):
        raise err(source, node, f"{what} must be a single value")
    return node.value


def mapping(source: str, node: Node, what: str, allowed: Sequence[str]) -> dict[str, Node]:
    if not isinstance(node, MappingNode):
        raise err(source, node, f"{what} must be a mapping (key: value)")
    out: dict[str, Node] = {}
    for key_node, value_node in node.value:
        key = scalar(source, key_node, "a key")
        if key not in allowed:
            raise err(source, key_node, f'unknown key "{key}" in {what} (allowed: {", ".join(allowed)})')
        if key in out:
            raise err(source, key_node, f'"{key}" appears twice in {what}')
        out[key] = value_node
    return out


def sequence(source: str, node: Node, what: str) -> list[Node]:
    if not isinstance(node, SequenceNode):
        raise err(source, node, f"{what} must be a list")
    return node.value


def compose(text: str, source: str) -> Node | None:
    """The document's node tree (None if empty), read safely, plain YAML only."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_DOCUMENT_BYTES:
        raise YamlError(f"{source}: the file is larger than {MAX_DOCUMENT_BYTES // 1048576} MiB")
    try:
        root = yaml.compose(text, Loader=NoAliasLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{source}:{mark.line + 1}" if mark else source
        raise YamlError(f"{where}: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise YamlError(f"{source}: not valid YAML: {exc}") from None
    if root is not None:
        check_tags(source, root)
    return root


def key_is(node: Node, word: str) -> bool:
    return isinstance(node, ScalarNode) and node.value == word


def plain(source: str, node: Node) -> object:
    """A YAML node as plain data, every scalar as the text written (``yes`` stays ``yes``)."""
    if isinstance(node, ScalarNode):
        return None if is_null(node) else node.value
    if isinstance(node, SequenceNode):
        return [plain(source, n) for n in node.value]
    out: dict[str, object] = {}
    for key_node, value_node in node.value:
        key = scalar(source, key_node, "a key")
        if key in out:
            raise err(source, key_node, f'"{key}" appears twice')
        out[key] = plain(source, value_node)
    return out


def is_null(node: Node) -> bool:
    return isinstance(node, ScalarNode) and node.tag == "tag:yaml.org,2002:null"
