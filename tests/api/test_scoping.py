"""Staff see their jurisdiction and everything below it, nothing else."""

from tests import factories as f


def _setup(session):
    f.seed_regions(session)
    here = f.pensioner(session, region=f.HUANCUI_COMMUNITY, name="环翠人")
    there = f.pensioner(session, region=f.WENDENG_COMMUNITY, name="文登人")
    sup = f.staff(session, role="supervisor", region=f.HUANCUI)
    city = f.staff(session, role="supervisor", region=f.CITY)
    town = f.staff(session, role="counter", region="371002001000")
    session.commit()
    return here, there, sup, city, town


def test_district_staff_see_only_their_district(client, session) -> None:
    here, there, sup, _, _ = _setup(session)
    hdr = f.staff_token(client, sup)
    page = client.get("/api/v1/pensioners", headers=hdr).json()
    assert [p["id"] for p in page["items"]] == [here.id] and page["total"] == 1
    assert client.get(f"/api/v1/pensioners/{here.id}", headers=hdr).status_code == 200
    resp = client.get(f"/api/v1/pensioners/{there.id}", headers=hdr)
    assert resp.status_code == 404 and resp.json()["code"] == "pensioner_not_found"
    # A missing id looks exactly like an out-of-scope one.
    assert client.get("/api/v1/pensioners/999999", headers=hdr).json() == resp.json()


def test_city_staff_see_all_and_town_staff_see_their_town(client, session) -> None:
    here, _there, _, city, town = _setup(session)
    assert client.get("/api/v1/pensioners", headers=f.staff_token(client, city)).json()["total"] == 2
    page = client.get("/api/v1/pensioners", headers=f.staff_token(client, town)).json()
    assert [p["id"] for p in page["items"]] == [here.id]


def test_unauthenticated_requests_get_401(client, session) -> None:
    here, *_ = _setup(session)
    for path in ["/api/v1/pensioners", f"/api/v1/pensioners/{here.id}", "/api/v1/regions", "/api/v1/me"]:
        resp = client.get(path)
        assert resp.status_code == 401, path
        assert resp.json()["code"] == "not_authenticated"
    assert client.get("/api/v1/pensioners", headers={"Authorization": "Bearer not-a-token"}).status_code == 401


def test_region_listing_is_scoped(client, session) -> None:
    _, _, sup, _, _ = _setup(session)
    hdr = f.staff_token(client, sup)
    towns = client.get("/api/v1/regions", headers=hdr).json()
    assert towns and all(t["parent_code"] == f.HUANCUI for t in towns)
    assert client.get("/api/v1/regions?parent=371003", headers=hdr).json() == []


def test_filters_and_paging(client, session) -> None:
    f.seed_regions(session)
    for i in range(5):
        f.pensioner(session, bedridden=i % 2 == 0, name=f"李{i}")
    admin = f.staff(session, role="admin", region=f.CITY)
    session.commit()
    hdr = f.staff_token(client, admin)
    assert client.get("/api/v1/pensioners?bedridden=true", headers=hdr).json()["total"] == 3
    page = client.get("/api/v1/pensioners?limit=2&offset=2", headers=hdr).json()
    assert page["total"] == 5 and len(page["items"]) == 2
    assert client.get("/api/v1/pensioners?q=李3", headers=hdr).json()["total"] == 1
    assert client.get("/api/v1/pensioners?limit=0", headers=hdr).status_code == 422


def test_health_and_readiness(client) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json()["database"] == "up"
