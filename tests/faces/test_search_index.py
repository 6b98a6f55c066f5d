"""1:N search on real East-Asian faces: the same person enrolled on another pensioner is found, a stranger is not."""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import func, insert
from sqlalchemy.orm import Session

from core.crypto import KeyRing, encrypt_encoding
from core.settings import Settings
from faces import search_index
from models import FaceTemplate
from models.base import utcnow
from tests import factories
from tests.conftest import faces_dir
from verification.config import VerificationConfig
from verification.image import decode_image
from verification.models import SFACE_MATCH_DISTANCE, embed_face, sface_model

EAST = "east_asian/identities"


@pytest.fixture(scope="module")
def east() -> Path:
    """The East-Asian photo folder."""
    root = faces_dir()
    if root is None or not (root / EAST).is_dir():
        pytest.skip("real East-Asian face photos not found at ../shared/faces/east_asian")
    return root / EAST


def _vector(path: Path) -> np.ndarray:
    rgb = decode_image(path.read_bytes(), config=VerificationConfig())
    return embed_face(sface_model(), rgb)[1]


def _enrol(session: Session, settings: Settings, vector: np.ndarray, **kw: object) -> int:
    p = factories.pensioner(session, **kw)  # type: ignore[arg-type]
    blob, key_id = encrypt_encoding(KeyRing.from_settings(settings), vector, pensioner_id=p.id)
    session.add(
        FaceTemplate(pensioner_id=p.id, kind="anchor", source="counter", model="sface", encoding=blob, key_id=key_id)
    )
    session.flush()
    return p.id


def _search(session: Session, settings: Settings, vector: np.ndarray, pensioner_id: int) -> list[int]:
    found = search_index.find_enrolled_elsewhere(
        session=session,
        settings=settings,
        model="sface",
        vector=vector,
        pensioner_id=pensioner_id,
        city_code=factories.CITY,
        max_distance=SFACE_MATCH_DISTANCE,
        now=utcnow(),
    )
    return [m.pensioner_id for m in found]


def test_same_face_on_another_pensioner_is_found_and_a_stranger_is_not(
    east: Path, session: Session, settings: Settings
) -> None:
    search_index.reset()
    factories.seed_regions(session)
    lu = _enrol(session, settings, _vector(east / "Edward_Lu" / "Edward_Lu_0001.jpg"))
    other = _enrol(session, settings, _vector(east / "Annette_Lu" / "Annette_Lu_0001.jpg"))
    newcomer = factories.pensioner(session).id
    assert _search(session, settings, _vector(east / "Edward_Lu" / "Edward_Lu_0002.jpg"), newcomer) == [lu]
    assert _search(session, settings, _vector(east / "Chen_Shui-bian" / "Chen_Shui-bian_0001.jpg"), newcomer) == []
    # A person's own templates never count against them.
    assert _search(session, settings, _vector(east / "Annette_Lu" / "Annette_Lu_0002.jpg"), other) == []


def test_templates_added_later_and_deleted_templates(east: Path, session: Session, settings: Settings) -> None:
    search_index.reset()
    factories.seed_regions(session)
    newcomer = factories.pensioner(session).id
    probe = _vector(east / "Edward_Lu" / "Edward_Lu_0002.jpg")
    assert _search(session, settings, probe, newcomer) == []  # index loaded while empty
    lu = _enrol(session, settings, _vector(east / "Edward_Lu" / "Edward_Lu_0001.jpg"))
    assert _search(session, settings, probe, newcomer) == [lu]  # topped up on the next search
    session.query(FaceTemplate).filter(FaceTemplate.pensioner_id == lu).delete()
    session.flush()
    assert _search(session, settings, probe, newcomer) == []  # still indexed, but the re-check finds no template


def test_ids_seen_out_of_order_are_not_skipped(east: Path, session: Session, settings: Settings) -> None:
    search_index.reset()
    factories.seed_regions(session)
    newcomer = factories.pensioner(session).id
    late = _enrol(session, settings, _vector(east / "Edward_Lu" / "Edward_Lu_0001.jpg"))
    later = _enrol(session, settings, _vector(east / "Annette_Lu" / "Annette_Lu_0001.jpg"))
    # Hide the lower id (as an uncommitted PostgreSQL row would be) while the higher one is loaded.
    hidden = session.query(FaceTemplate).filter(FaceTemplate.pensioner_id == late).one()
    hidden.model = "pending"
    session.flush()
    assert _search(session, settings, _vector(east / "Annette_Lu" / "Annette_Lu_0002.jpg"), newcomer) == [later]
    hidden.model = "sface"
    session.flush()
    assert _search(session, settings, _vector(east / "Edward_Lu" / "Edward_Lu_0002.jpg"), newcomer) == [late]
    assert timedelta(0) < search_index.SETTLE


def _many_templates(session: Session, settings: Settings, n: int, *, age: timedelta) -> None:
    """n encrypted sface templates over 10 pensioners, written `age` ago (random vectors: memory, not matching)."""
    factories.seed_regions(session)
    owners = [factories.pensioner(session).id for _ in range(10)]
    ring = KeyRing.from_settings(settings)
    vectors = np.random.default_rng(3).standard_normal((n, 128))
    created = utcnow() - age
    rows = []
    for i, vector in enumerate(vectors):
        blob, key_id = encrypt_encoding(ring, vector, pensioner_id=owners[i % 10])
        rows.append(
            {
                "pensioner_id": owners[i % 10],
                "kind": "anchor",
                "source": "counter",
                "model": "sface",
                "encoding": blob,
                "key_id": key_id,
                "created_at": created,
            }
        )
    session.execute(insert(FaceTemplate), rows)
    session.commit()


def _traced_peak_mb(call: Callable[[], object]) -> float:
    """Peak Python/numpy allocation (MB) while `call` runs."""
    tracemalloc.start()
    try:
        call()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def test_loading_and_searching_hold_little_memory_beyond_the_index(session: Session, settings: Settings) -> None:
    # Every API worker holds an index; at 1M templates 20,000-row fetches left ~100 MB of freed blobs behind and
    # 131,072-row blocks made a 64 MB float32 copy per search (bench/bench_search_db.py).
    search_index.reset()
    _many_templates(session, settings, 30_000, age=timedelta(hours=1))
    load = _traced_peak_mb(
        lambda: search_index.refresh(session=session, settings=settings, model="sface", now=utcnow())
    )
    index = search_index.refresh(session=session, settings=settings, model="sface", now=utcnow())
    assert len(index) == 30_000
    assert load - index.nbytes / 2**20 < 12
    newcomer = factories.pensioner(session).id
    probe = np.random.default_rng(4).standard_normal(128)
    assert _traced_peak_mb(lambda: _search(session, settings, probe, newcomer)) < 8


def test_settled_templates_are_read_once_and_recent_ones_until_they_settle(
    session: Session, settings: Settings
) -> None:
    search_index.reset()
    _many_templates(session, settings, 50, age=timedelta(hours=1))
    search_index.refresh(session=session, settings=settings, model="sface", now=utcnow())
    state = search_index._indexes["sface"]
    top = session.query(func.max(FaceTemplate.id)).scalar()
    assert (state.watermark, state.recent) == (top, set())  # older than SETTLE: never read again
    p = factories.pensioner(session)
    blob, key_id = encrypt_encoding(KeyRing.from_settings(settings), np.ones(128), pensioner_id=p.id)
    session.add(
        FaceTemplate(pensioner_id=p.id, kind="anchor", source="counter", model="sface", encoding=blob, key_id=key_id)
    )
    session.commit()
    index = search_index.refresh(session=session, settings=settings, model="sface", now=utcnow())
    assert (len(index), state.watermark, state.recent) == (51, top, {top + 1})
    later = utcnow() + search_index.SETTLE + timedelta(seconds=1)
    assert len(search_index.refresh(session=session, settings=settings, model="sface", now=later)) == 51
    assert (state.watermark, state.recent) == (top + 1, set())
