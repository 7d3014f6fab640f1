"""Who was in an export of a saved audience, kept compactly, and what changed since (SPEC §10).

A membership is a bitmap over customer ``pk``s, cut into chunks of 65,536 customers (8 KiB each)
and compressed with zlib when that makes a chunk smaller: at most one bit per customer in the
database, whatever the audience's size (a million-customer audience that is everyone takes a few
hundred bytes; half of a million customers at random, 128 KiB). Chunks with nobody in them are not
kept. Comparing two memberships is a few big-integer operations per chunk; only the customers that
changed are ever listed one by one.

A customer is its ``pk`` here. A customer deleted since the previous export keeps its id in the
store's ``deleted_customers`` (``deleted``, below): it is removed, and if another program gave its
``pk`` to a new customer meanwhile, that one is added, never taken for the same person.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator
from typing import NamedTuple

CHUNK_BITS = 16
CHUNK_SIZE = 1 << CHUNK_BITS  # customers per chunk
CHUNK_BYTES = CHUNK_SIZE // 8
_RAW, _ZLIB = b"\x00", b"\x01"


def encode(bitmap: bytes) -> bytes:
    """A chunk as stored: its first byte says how (raw, or zlib-compressed when that is smaller)."""
    packed = zlib.compress(bytes(bitmap), 6)
    return _ZLIB + packed if len(packed) < len(bitmap) else _RAW + bytes(bitmap)


def decode(blob: bytes) -> int:
    """A stored chunk as an integer whose bit ``i`` is the customer ``chunk * CHUNK_SIZE + i``."""
    kind, body = blob[:1], blob[1:]
    if kind == _ZLIB:
        body = zlib.decompress(body)
    elif kind != _RAW:
        raise ValueError(f"unknown membership encoding {kind!r}")
    return int.from_bytes(body, "little")


def chunks_of(pks: Iterable[int]) -> Iterator[tuple[int, int]]:
    """(chunk, bits) for ascending customer pks, chunk by chunk (only chunks with someone in them)."""
    current, bitmap = -1, bytearray(CHUNK_BYTES)
    for pk in pks:
        chunk = pk >> CHUNK_BITS
        if chunk != current:
            if current >= 0:
                yield current, int.from_bytes(bitmap, "little")
                bitmap = bytearray(CHUNK_BYTES)
            current = chunk
        offset = pk & (CHUNK_SIZE - 1)
        bitmap[offset >> 3] |= 1 << (offset & 7)
    if current >= 0:
        yield current, int.from_bytes(bitmap, "little")


_BITS_OF = [tuple(bit for bit in range(8) if byte >> bit & 1) for byte in range(256)]


def pks_in(chunk: int, bits: int) -> Iterator[int]:
    """The customer pks whose bits are set, ascending."""
    base = chunk << CHUNK_BITS
    for index, byte in enumerate(bits.to_bytes(CHUNK_BYTES, "little")):
        if byte:
            first = base + index * 8
            for bit in _BITS_OF[byte]:
                yield first + bit


class Changes(NamedTuple):
    """The difference between two memberships: counts, the current membership as stored chunks,
    the chunks of customers added and of (still existing) customers removed, and the removed
    customers that were deleted meanwhile, {pk: id}."""

    added: int
    removed: int
    unchanged: int
    members: int
    chunks: list[tuple[int, bytes]]
    added_bits: list[tuple[int, int]]
    removed_bits: list[tuple[int, int]]
    deleted: dict[int, str]


def compare(
    previous: Iterable[tuple[int, bytes]] | None, current: Iterable[tuple[int, int]], deleted: dict[int, str]
) -> Changes:
    """Compare the current membership (``chunks_of``) with the previous one as stored (None: there
    is none, so everyone is added). ``deleted``: {pk: id} of customers deleted since the previous
    export."""
    gone: dict[int, int] = {}  # chunk -> bits of deleted customers' pks
    for pk in deleted:
        gone[pk >> CHUNK_BITS] = gone.get(pk >> CHUNK_BITS, 0) | 1 << (pk & (CHUNK_SIZE - 1))
    before = {chunk: blob for chunk, blob in previous or ()}  # stored chunks: at most one bit a customer
    added = removed = unchanged = members = 0
    chunks, added_bits, removed_bits = [], [], []
    removed_deleted: dict[int, str] = {}
    seen: set[int] = set()

    def one(chunk: int, now: int, then: int) -> None:
        nonlocal added, removed, unchanged, members
        dead = gone.get(chunk, 0) & then  # members then who were deleted since
        plus = now & ~(then & ~dead)  # a pk given to someone new counts as added
        minus = then & ~now & ~dead
        added += plus.bit_count()
        removed += minus.bit_count() + dead.bit_count()
        unchanged += (now & then & ~dead).bit_count()
        members += now.bit_count()
        if plus:
            added_bits.append((chunk, plus))
        if minus:
            removed_bits.append((chunk, minus))
        for pk in pks_in(chunk, dead):
            removed_deleted[pk] = deleted[pk]

    for chunk, now in current:
        seen.add(chunk)
        chunks.append((chunk, encode(now.to_bytes(CHUNK_BYTES, "little"))))
        one(chunk, now, decode(before[chunk]) if chunk in before else 0)
    for chunk, blob in before.items():
        if chunk not in seen:
            one(chunk, 0, decode(blob))
    added_bits.sort()
    removed_bits.sort()
    return Changes(added, removed, unchanged, members, chunks, added_bits, removed_bits, removed_deleted)


def expand(bits: list[tuple[int, int]]) -> Iterator[int]:
    """The pks of ``Changes.added_bits`` or ``removed_bits``, ascending."""
    for chunk, b in bits:
        yield from pks_in(chunk, b)
