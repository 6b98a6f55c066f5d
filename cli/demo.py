"""A Weihai-like demo city (real district codes, towns, communities, staff, synthetic pensioners) and `demo`."""

from __future__ import annotations

import json
import random
from datetime import date, datetime, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import typer
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session, sessionmaker

from cli.common import app
from cli.common import factory as make_factory
from core.national_id import make_national_id
from core.security import hash_password
from core.settings import Settings, get_settings
from models import Certification, Pensioner, Region, Season, StaffUser
from models.base import utcnow
from models.engine import session_scope

CITY = ("371000000000", "威海市")
# Real county-level codes of Weihai; town names are real streets/towns of each district.
DISTRICTS: dict[str, tuple[str, list[str]]] = {
    "371002": ("环翠区", ["环翠楼街道", "鲸园街道", "竹岛街道", "孙家疃街道", "张村镇", "羊亭镇", "温泉镇"]),
    "371003": ("文登区", ["龙山街道", "天福街道", "环山街道", "文登营镇", "大水泊镇", "张家产镇", "高村镇"]),
    "371082": ("荣成市", ["宁津街道", "港湾街道", "桃园街道", "王连街道", "东山街道", "斥山街道", "石岛管理区"]),
    "371083": ("乳山市", ["城区街道", "夏村镇", "乳山口镇", "海阳所镇", "白沙滩镇", "大孤山镇", "南黄镇"]),
}
COMMUNITY_NAMES = ["东山社区", "西苑社区", "南山社区", "北海社区", "新华社区", "和平社区", "幸福村", "青山村"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = (
    "秀英桂兰玉兰凤英兰英玉珍淑珍建国建华志强国华德明永红文华海燕春梅丽华明华振华立新宝山国强金凤德胜桂芝淑兰凤兰文斌"
)
DEMO_PASSWORD = "demo-pass-2026"


# Approximate centres of the districts (WGS-84); towns and communities are placed around them.
DISTRICT_CENTRES = {
    "371002": (37.51, 122.12),
    "371003": (37.20, 122.06),
    "371082": (37.17, 122.42),
    "371083": (36.92, 121.54),
}


def demo_regions() -> list[dict[str, Any]]:
    """City, 4 districts, their towns and communities (communities with approximate coordinates)."""
    rows: list[dict[str, Any]] = [{"code": CITY[0], "name": CITY[1], "level": "city", "parent_code": None}]
    for d6, (dname, towns) in DISTRICTS.items():
        dcode = d6 + "000000"
        rows.append({"code": dcode, "name": dname, "level": "district", "parent_code": CITY[0]})
        lat0, lon0 = DISTRICT_CENTRES[d6]
        for ti, tname in enumerate(towns, start=1):
            tcode = f"{d6}{ti:03d}000"
            rows.append({"code": tcode, "name": tname, "level": "town", "parent_code": dcode})
            for ci, cname in enumerate(COMMUNITY_NAMES[: 3 + (ti % 4)], start=1):
                coords = {"latitude": round(lat0 + 0.03 * (ti - 4), 5), "longitude": round(lon0 + 0.01 * (ci - 3), 5)}
                rows.append(
                    coords
                    | {
                        "code": f"{d6}{ti:03d}{ci:03d}",
                        "name": tname.rstrip("街道镇") + cname,
                        "level": "community",
                        "parent_code": tcode,
                    }
                )
    return [{"latitude": None, "longitude": None} | r for r in rows]


STREETS = ("人民路", "幸福路", "文化路", "青岛路", "海滨路", "新华街", "和平巷", "东山路", "统一路", "昆明路")
LANDMARKS = ("邮局对面", "小学东侧", "卫生室旁", "菜市场北门", "公交站后", "超市楼上", "老槐树下", "村委会西边")


def _demo_address(nid: str, point: tuple[float, float] | None) -> dict[str, Any]:
    """Street, house number, landmark and the house's position near its community (own rng: other draws unchanged)."""
    rng = random.Random(nid)
    house = f"{rng.randint(1, 200)}号" + (
        f"{rng.randint(1, 6)}单元{rng.randint(1, 6)}0{rng.randint(1, 4)}室" if rng.random() < 0.6 else ""
    )
    lat, lon = (point[0] + rng.uniform(-0.008, 0.008), point[1] + rng.uniform(-0.008, 0.008)) if point else (None, None)
    known = point is not None and rng.random() < 0.7  # most houses located; the rest fall back to the community
    return {
        "address_street": rng.choice(STREETS),
        "address_house": house,
        "address_landmark": rng.choice(LANDMARKS),
        "address_latitude": round(lat, 6) if known and lat is not None else None,
        "address_longitude": round(lon, 6) if known and lon is not None else None,
    }


def _age(rng: random.Random) -> int:
    # Survival-shaped: many in their 60s, thinning out towards 100.
    while True:
        age = 60 + int(rng.expovariate(1 / 11))
        if age <= 100:
            return age


def _pensioner_row(
    rng: random.Random,
    *,
    nid: str,
    community: str,
    parent: dict[str, Any],
    birth: date,
    age: int,
    today: date,
    now: datetime,
) -> dict[str, Any]:
    """One synthetic pensioner: name, phones, bedridden and mobility drawn from rng."""
    town = parent[community]
    district = parent[town]
    sex = "M" if int(nid[16]) % 2 else "F"
    name = rng.choice(SURNAMES) + rng.choice(GIVEN[::2]) + (rng.choice(GIVEN) if rng.random() < 0.7 else "")
    bedridden = rng.random() < (0.01 if age < 80 else 0.06)
    return {
        "national_id": nid,
        "name": name,
        "birth_date": birth,
        "sex": sex,
        "phone": f"1{rng.choice('3578')}{rng.randint(0, 999_999_999):09d}",
        "family_phone": f"1{rng.choice('3578')}{rng.randint(0, 999_999_999):09d}" if age >= 75 or bedridden else None,
        "region_code": community,
        "town_code": town,
        "district_code": district,
        "city_code": CITY[0],
        "paying_region_code": CITY[0],
        "bedridden": bedridden,
        "limited_mobility": bedridden or rng.random() < 0.03,
        "pension_status": "active",
        "status_since": today,
        "created_at": now,
        "updated_at": now,
    }


def _synthetic_pensioners(
    rng: random.Random, *, regions: list[dict[str, Any]], taken: set[str], count: int, today: date
) -> list[dict[str, Any]]:
    """`count` pensioners in random communities, national IDs unique against `taken` (which grows)."""
    communities = [r for r in regions if r["level"] == "community"]
    parent = {r["code"]: r["parent_code"] for r in regions}
    points = {r["code"]: (r["latitude"], r["longitude"]) for r in communities if r["latitude"] is not None}
    rows: list[dict[str, Any]] = []
    now = utcnow()
    while len(rows) < count:
        community = rng.choice(communities)["code"]
        age = _age(rng)
        birth = today - timedelta(days=age * 365 + rng.randint(0, 364))
        nid = make_national_id(community[:6], birth, rng.randint(0, 999))
        if nid in taken:
            continue
        taken.add(nid)
        row = _pensioner_row(
            rng, nid=nid, community=community, parent=parent, birth=birth, age=age, today=today, now=now
        )
        rows.append(row | _demo_address(nid, points.get(community)))
    return rows


def build_demo(
    *, session: Session, pensioners: int = 10_000, seed: int = 7, today: date | None = None
) -> dict[str, Any]:
    """Insert the demo city; regions are upserted, pensioners appended."""
    rng = random.Random(seed)
    today = today or date.today()
    regions = demo_regions()
    existing = set(session.scalars(select(Region.code)))
    new_regions = [r for r in regions if r["code"] not in existing]
    if new_regions:
        session.execute(insert(Region), new_regions)
    taken = set(session.scalars(select(Pensioner.national_id)))
    rows = _synthetic_pensioners(rng, regions=regions, taken=taken, count=pensioners, today=today)
    for i in range(0, len(rows), 5000):
        session.execute(insert(Pensioner), rows[i : i + 5000])
    staff = _demo_staff(session)
    session.flush()
    return {
        "regions": len(regions),
        "pensioners_added": len(rows),
        "bedridden": sum(1 for r in rows if r["bedridden"]),
        "staff": staff,
        "staff_password": DEMO_PASSWORD,
    }


def _demo_staff(session: Session) -> list[str]:
    accounts = [("admin", "admin", CITY[0]), ("city_supervisor", "supervisor", CITY[0])]
    for d6 in DISTRICTS:
        accounts += [
            (f"sup_{d6}", "supervisor", d6 + "000000"),
            (f"counter_{d6}", "counter", d6 + "000000"),
            (f"field_{d6}_1", "field", d6 + "000000"),
            (f"field_{d6}_2", "field", d6 + "000000"),
        ]
    have = set(session.scalars(select(StaffUser.username)))
    pw = hash_password(DEMO_PASSWORD)
    for n, (username, role, region) in enumerate(accounts, start=1):
        if username not in have:
            session.add(
                StaffUser(
                    username=username,
                    password_hash=pw,
                    role=role,
                    region_code=region,
                    display_name=username,
                    phone=f"1360000{n:04d}",
                )
            )
    return [a[0] for a in accounts]


def build_demo_if_empty(*, session: Session) -> dict[str, Any] | None:
    """Build the demo only when there are no pensioners yet."""
    if session.scalar(select(func.count()).select_from(Pensioner)):
        return None
    return build_demo(session=session)


CHANNEL_MIX = [
    ("app", 0.55),
    ("counter", 0.2),
    ("data_comparison", 0.15),
    ("home_visit", 0.05),
    ("self_service_terminal", 0.05),
]


def open_today(today: date) -> tuple[date, date]:
    """A demo season window around today (opened 60 days ago, 30 days left, inside the year): people can certify now."""
    return max(date(today.year, 1, 1), today - timedelta(days=60)), min(
        date(today.year, 12, 31), today + timedelta(days=30)
    )


def try_these(*, session: Session, year: int, count: int = 3) -> list[dict[str, str | None]]:
    """A few demo pensioners not yet certified this season, to log in as (printed when the demo is built)."""
    done = select(Certification.pensioner_id).where(Certification.season_year == year)
    rows = session.execute(
        select(Pensioner.national_id, Pensioner.name, Pensioner.phone, Pensioner.family_phone)
        .where(Pensioner.pension_status == "active", Pensioner.family_phone.is_not(None), Pensioner.id.not_in(done))
        .order_by(Pensioner.id)
        .limit(count)
    ).all()
    return [{"national_id": r[0], "name": r[1], "phone": r[2], "family_phone": r[3]} for r in rows]


def _season_and_people(
    session_factory: sessionmaker[Session], settings: Settings, year: int, window: tuple[date, date] | None
) -> tuple[date, date, list[int]]:
    """The season's window (created with `window`'s dates when missing) and the active pensioners."""
    from certification import seasons

    with session_scope(session_factory) as session:
        season = session.scalar(select(Season).where(Season.year == year))
        if season is None:
            opens, closes = window or (None, None)
            season = seasons.create_season(
                session=session, settings=settings, year=year, open_date=opens, close_date=closes
            )
        ids = list(session.scalars(select(Pensioner.id).where(Pensioner.pension_status == "active")))
        return season.open_date, season.close_date, ids


def walk_season(
    *,
    session_factory: sessionmaker[Session],
    settings: Settings,
    year: int,
    as_of: date,
    seed: int = 7,
    window: tuple[date, date] | None = None,
) -> dict[str, Any]:
    """Run a season of the demo city up to `as_of` (`window`: open and close dates of a new season), every sweep on its days."""
    from scheduler.sweeps import run_sweeps

    rng = random.Random(seed)
    tz = ZoneInfo(settings.timezone)
    open_date, close_date, ids = _season_and_people(session_factory, settings, year, window)
    last = min(as_of, close_date)
    days = [open_date + timedelta(days=i) for i in range((last - open_date).days + 1)] if last >= open_date else []
    # Most people certify early, a long tail waits for the reminders; about 80% by the close.
    plan: dict[date, list[int]] = {}
    for pid in ids:
        if rng.random() < 0.8:
            day = open_date + timedelta(days=min(int(rng.expovariate(1 / 20)), (close_date - open_date).days))
            if day <= last:
                plan.setdefault(day, []).append(pid)
    totals: dict[str, int] = {"certified": 0}
    check_days = {open_date, *(close_date - timedelta(days=d) for d in settings.reminder_offsets)}
    for day in days:
        instant = datetime(day.year, day.month, day.day, 9, 0, tzinfo=tz)
        todays = plan.get(day, [])
        if todays:
            with session_scope(session_factory) as session:
                rows = []
                for pid in todays:
                    channel = rng.choices([c for c, _ in CHANNEL_MIX], [w for _, w in CHANNEL_MIX])[0]
                    at = instant + timedelta(minutes=rng.randint(0, 600))
                    rows.append(
                        {
                            "pensioner_id": pid,
                            "season_year": year,
                            "certified_at": at,
                            "channel": channel,
                            "source": "medical_insurance" if channel == "data_comparison" else None,
                        }
                    )
                session.execute(insert(Certification), rows)
            totals["certified"] += len(todays)
        if day in check_days or day == last:
            result = run_sweeps(session_factory=session_factory, settings=settings, now=instant)
            for key, value in result.items():
                if isinstance(value, int):
                    totals[key] = totals.get(key, 0) + value
    if as_of > close_date:
        instant = datetime(as_of.year, as_of.month, as_of.day, 9, 0, tzinfo=tz)
        result = run_sweeps(session_factory=session_factory, settings=settings, now=instant)
        for key, value in result.items():
            if isinstance(value, int):
                totals[key] = totals.get(key, 0) + value
    return {"season": year, "as_of": as_of.isoformat(), **totals}


@app.command("demo")
def demo(
    pensioners: Annotated[int, typer.Option(help="How many synthetic pensioners")] = 10_000,
    seed: int = 7,
    season: Annotated[int | None, typer.Option(help="Also walk this season (year) of the demo city")] = None,
    as_of: Annotated[
        str | None, typer.Option(help="Walk the season up to this date (YYYY-MM-DD; default today)")
    ] = None,
) -> None:
    """Build a Weihai-like demo city; with --season, run its certification season day by day."""
    from models.migrate import upgrade

    settings = get_settings()
    upgrade(settings.database_url)
    factory = make_factory(settings)
    with session_scope(factory) as session:
        summary = build_demo(session=session, pensioners=pensioners, seed=seed)
    if season is not None:
        day = date.fromisoformat(as_of) if as_of else date.today()
        summary["season_walk"] = walk_season(
            session_factory=factory, settings=settings, year=season, as_of=day, seed=seed
        )
    typer.echo(json.dumps(summary, ensure_ascii=False))
