"""One face, one pension: search a new face against every enrolled template of its model (1:N).

Each process keeps an int8 index per face model (verification.search), loaded once and topped up with the
templates added since; every hit is confirmed on the decrypted template before anyone acts on it, so a
template deleted or re-keyed since it was indexed can cost a re-check but never a wrong refusal.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from core.crypto import KeyRing, decrypt_encoding, template_aad
from core.settings import Settings
from models import FaceTemplate, Pensioner
from models.base import utcnow
from verification.search import VectorIndex

logger = logging.getLogger(__name__)
DIM = 128
ENCODING_DTYPE = "<f8"  # as core.crypto.encrypt_encoding writes a template
# Rows per fetch: 20,000 left ~100 MB of freed blobs with malloc after loading 1M rows (bench_search_db.py).
LOAD_CHUNK = 2_000
# Rows scored per block: a 131,072-row block makes a 64 MB float32 copy per block and search (2.5x the CPU at 1M).
SEARCH_BLOCK_ROWS = 8_192
# PostgreSQL ids can become visible out of order: rows younger than this are re-read until they are older.
SETTLE = timedelta(minutes=10)


@dataclass
class _ModelIndex:
    index: VectorIndex = field(default_factory=lambda: VectorIndex(DIM, block_rows=SEARCH_BLOCK_ROWS))
    watermark: int = 0  # every template id ≤ this is in the index
    recent: set[int] = field(default_factory=set)  # ids above the watermark already in the index


@dataclass(frozen=True)
class Match:
    """Another pensioner whose enrolled template is close to the new face."""

    pensioner_id: int
    template_id: int
    distance: float


_indexes: dict[str, _ModelIndex] = {}
_lock = threading.Lock()


def reset() -> None:
    """Forget every loaded index (tests, key rotation)."""
    with _lock:
        _indexes.clear()


def refresh(*, session: Session, settings: Settings, model: str, now: datetime) -> VectorIndex:
    """The process's index of `model`, topped up with templates added since the last call."""
    with _lock:
        state = _indexes.setdefault(model, _ModelIndex())
        top = session.scalar(select(func.max(FaceTemplate.id)).where(FaceTemplate.model == model)) or 0
        if top < state.index.last_template_id:  # ids went back (a restored or emptied database): start again
            state = _indexes[model] = _ModelIndex()
        ring = KeyRing.from_settings(settings)
        # Core rows, and "settled" computed by the database: no ORM rows or datetimes built for a million rows.
        stmt = (
            select(
                FaceTemplate.id,
                FaceTemplate.pensioner_id,
                FaceTemplate.encoding,
                FaceTemplate.key_id,
                (FaceTemplate.created_at < now - SETTLE).label("settled"),
            )
            .where(FaceTemplate.model == model, FaceTemplate.id > state.watermark)
            .order_by(FaceTemplate.id)
            .execution_options(yield_per=LOAD_CHUNK)  # on the statement: the session's connection keeps its own
        )
        new_watermark, settled = state.watermark, True
        for rows in session.connection().execute(stmt).partitions():
            _add(state.index, ring, [r for r in rows if r[0] not in state.recent and ring.has(r[3])])
            for template_id, *_, row_settled in rows:
                settled = settled and bool(row_settled)
                if settled:
                    new_watermark = template_id
                else:
                    state.recent.add(template_id)
        state.recent = {i for i in state.recent if i > new_watermark}
        state.watermark = new_watermark
        return state.index


def _add(index: VectorIndex, ring: KeyRing, rows: list[Any]) -> None:
    """Decrypt (id, pensioner id, blob, key id, …) rows and append them to the index."""
    if not rows:
        return
    # One buffer for the chunk: decrypt_encoding's per-row array (and np.stack) cost as much as AES-GCM itself.
    raw = b"".join(ring.decrypt(r[2], key_id=r[3], aad=template_aad(r[1])) for r in rows)
    vectors = np.frombuffer(raw, dtype=ENCODING_DTYPE).reshape(len(rows), DIM)
    index.add(np.array([r[0] for r in rows]), np.array([r[1] for r in rows]), vectors)


def find_enrolled_elsewhere(
    *,
    session: Session,
    settings: Settings,
    model: str,
    vector: np.ndarray,
    pensioner_id: int,
    city_code: str,
    max_distance: float,
    now: datetime,
) -> list[Match]:
    """Other pensioners of the city with a template of `model` within `max_distance` (cosine), nearest first."""
    index = refresh(session=session, settings=settings, model=model, now=now)
    # The int8 index reads distances to about ±0.01; the decrypted templates decide.
    hits = [h for h in index.search(vector, max_distance=max_distance + 0.02, limit=50) if h.owner_id != pensioner_id]
    if not hits:
        return []
    return _confirm(
        session=session,
        settings=settings,
        hits=[h.template_id for h in hits],
        vector=vector,
        city_code=city_code,
        max_distance=max_distance,
    )


def _confirm(
    *, session: Session, settings: Settings, hits: list[int], vector: np.ndarray, city_code: str, max_distance: float
) -> list[Match]:
    """Exact cosine distance on the decrypted templates that still exist, in the city, within the limit."""
    ring = KeyRing.from_settings(settings)
    rows = session.execute(
        select(FaceTemplate.id, FaceTemplate.pensioner_id, FaceTemplate.encoding, FaceTemplate.key_id)
        .join(Pensioner, Pensioner.id == FaceTemplate.pensioner_id)
        .where(FaceTemplate.id.in_(hits), Pensioner.city_code == city_code)
    ).all()
    probe = np.asarray(vector, dtype=np.float64) / max(float(np.linalg.norm(vector)), 1e-12)
    best: dict[int, Match] = {}
    for r in rows:
        stored = decrypt_encoding(ring, r.encoding, key_id=r.key_id, pensioner_id=r.pensioner_id)
        distance = 1.0 - float(stored @ probe) / max(float(np.linalg.norm(stored)), 1e-12)
        if distance <= max_distance and (r.pensioner_id not in best or distance < best[r.pensioner_id].distance):
            best[r.pensioner_id] = Match(r.pensioner_id, r.id, distance)
    return sorted(best.values(), key=lambda m: m.distance)


def preload(*, session_factory: sessionmaker[Session], settings: Settings, model: str) -> threading.Thread:
    """Load the process's index of `model` in a background thread, so the first enrolment does not wait for it."""

    def _load() -> None:
        try:
            with session_factory() as session:
                refresh(session=session, settings=settings, model=model, now=utcnow())
        except Exception:
            logger.exception("face index preload failed")

    thread = threading.Thread(target=_load, name=f"face-index-{model}", daemon=True)
    thread.start()
    return thread
