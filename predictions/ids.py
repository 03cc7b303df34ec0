"""Time-ordered prediction ids (UUID version 7, RFC 9562): 48 bits of Unix milliseconds, then 74 random bits.

New predictions land at the right edge of the primary-key B-tree instead of on random pages of it, which keeps
large bulk inserts cache-friendly; 74 random bits keep ids as unguessable as needed (every read is scoped to the
organization anyway). The creation time the id reveals is already public as ``created_at``.
"""

from __future__ import annotations

import os
import time
import uuid

import numpy as np


def uuid7_hex_batch(count: int) -> list[str]:
    """``count`` version-7 UUIDs of this millisecond as 32 hex digits (the form both PostgreSQL and SQLite columns
    accept), made in one go: ``uuid.UUID`` per row would cost more than the rest of a bulk row's Python work."""
    if count <= 0:
        return []
    raw = np.frombuffer(os.urandom(16 * count), dtype=np.uint8).reshape(count, 16).copy()
    raw[:, :6] = np.frombuffer((time.time_ns() // 1_000_000).to_bytes(6, "big"), dtype=np.uint8)
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x70  # version 7
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80  # RFC 9562 variant
    digits = raw.tobytes().hex()
    return [digits[i : i + 32] for i in range(0, 32 * count, 32)]


def uuid7() -> uuid.UUID:
    """One version-7 UUID (the model default of ``Prediction.id``)."""
    return uuid.UUID(hex=uuid7_hex_batch(1)[0])
