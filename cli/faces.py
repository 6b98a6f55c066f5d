"""CLI commands for faces: enrol, verify, and the accuracy and liveness evaluations."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import select
from sqlalchemy.orm import Session

from cli.common import app, err, factory, fail, read_file
from core.errors import DomainError, NotFound
from core.national_id import InvalidNationalId, parse_national_id
from core.settings import get_settings
from models import Pensioner
from models.base import utcnow
from models.engine import session_scope
from registry.errors import PensionerNotFound


def _pensioner_id(session: Session, national_id: str) -> int:
    try:
        nid = parse_national_id(national_id).number
    except InvalidNationalId:
        raise NotFound("身份证号无效。", "Invalid national ID.", code="bad_national_id")
    pid = session.scalar(select(Pensioner.id).where(Pensioner.national_id == nid))
    if pid is None:
        raise PensionerNotFound()
    return int(pid)


@app.command("enroll")
def enroll(
    national_id: str,
    photos: list[Path],
    consent: Annotated[
        str, typer.Option(help="How consent was given: paper_form, counter_signature, …")
    ] = "paper_form",
    source: Annotated[str, typer.Option(help="counter, home_visit or id_photo")] = "counter",
) -> None:
    """Enrol reference photos of a pensioner as face templates (consent recorded)."""
    from faces import service as face_service

    settings = get_settings()
    from faces import pool as facepool

    facepool.configure(-1)
    data = [read_file(p, settings.max_upload_bytes) for p in photos]
    try:
        with session_scope(factory(settings)) as session:
            pid = _pensioner_id(session, national_id)
            templates = face_service.enrol(
                session=session,
                settings=settings,
                pensioner_id=pid,
                photos=data,
                source=source,
                consent_method=consent,
                staff_id=None,
                now=utcnow(),
            )
            typer.echo(f"enrolled {len(templates)} template(s) for pensioner {pid}")
    except DomainError as exc:
        fail(exc)


@app.command("verify")
def verify_cmd(
    national_id: str,
    photo: Path,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object")] = False,
) -> None:
    """1:1 check of a photo against a pensioner's templates (the attempt is recorded)."""
    from faces import service as face_service

    settings = get_settings()
    from faces import pool as facepool

    facepool.configure(-1)
    data = read_file(photo, settings.max_upload_bytes)
    try:
        with session_scope(factory(settings)) as session:
            pid = _pensioner_id(session, national_id)
            outcome = face_service.verify_photo(
                session=session,
                settings=settings,
                pensioner_id=pid,
                photo=data,
                channel="cli",
                staff_id=None,
                now=utcnow(),
            )
            m = outcome.match
            body = {
                "decision": outcome.attempt.decision,
                "distance": None if m is None else round(m.distance, 4),
                "score": None if m is None else round(m.score, 4),
                "reasons": outcome.reasons,
            }
    except DomainError as exc:
        if as_json:
            typer.echo(
                json.dumps({"decision": "rejected", "distance": None, "reasons": [exc.code]}, ensure_ascii=False)
            )
            raise typer.Exit(1)
        fail(exc)
    if as_json:
        typer.echo(json.dumps(body, ensure_ascii=False))
    else:
        typer.echo(
            f"decision {body['decision']}  distance {body['distance']}  score {body['score']}  reasons {body['reasons']}"
        )


@app.command("eval-faces")
def eval_faces(
    directory: Path,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object")] = False,
    plot: Annotated[Path | None, typer.Option("--plot", help="Write a DET curve PNG here")] = None,
    levers: Annotated[bool, typer.Option(help="Also measure several enrolment photos and fused probes")] = True,
) -> None:
    """Genuine/impostor pairs over DIR/identities/<id>/<photo> (+ DIR/impostors_single/): EER, FNMR@FMR, FMR/FNMR."""
    from faces.service import verification_config
    from verification.evaluation import format_report, run_eval

    if not (directory / "identities").is_dir():
        err.print(f"[red]bad_directory[/red]: {directory}/identities not found / 目录中没有 identities 文件夹")
        raise typer.Exit(2)
    result = run_eval(directory, config=verification_config(get_settings()), plot_path=plot, levers=levers)
    typer.echo(json.dumps(result, ensure_ascii=False, default=float) if as_json else format_report(result))


@app.command("eval-liveness")
def eval_liveness(
    directory: Path,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object")] = False,
) -> None:
    """BPCER and APCER per attack kind over DIR/genuine/<case>/ and DIR/attack/<kind>/<case>/."""
    from verification.liveness_eval import format_liveness_report, run_liveness_eval

    if not directory.is_dir():
        err.print(f"[red]bad_directory[/red]: {directory}")
        raise typer.Exit(2)
    result = run_liveness_eval(directory)
    if as_json:
        keys = ("bpcer", "genuine_cases", "apcer", "attack_cases")
        typer.echo(
            json.dumps(
                {k: result[k] for k in keys if k in result} | {"cases": result.get("cases", [])},
                ensure_ascii=False,
                default=str,
            )
        )
    else:
        typer.echo(format_liveness_report(result))


faces_app = typer.Typer(help="Face models: migration coverage.", no_args_is_help=True)
app.add_typer(faces_app, name="faces")


@faces_app.command("coverage")
def faces_coverage(
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
    model: Annotated[str, typer.Option(help="the newer face model")] = "sface",
) -> None:
    """How many enrolled pensioners lack a template of the newer model (they are still decided by dlib), by district."""
    from faces.coverage import coverage

    with session_scope(factory(get_settings())) as session:
        rows = coverage(session=session, model=model)
    if as_json:
        print(json.dumps([{**vars(r), "lacking": r.lacking} for r in rows], ensure_ascii=False))
        return
    print(f"{'区划 district':<28}{'已登记 enrolled':>16}{'有' + model + ' template':>20}{'缺 lacking':>12}")
    for r in rows:
        print(f"{r.region_code + ' ' + r.region_name:<28}{r.enrolled:>16}{r.with_model:>20}{r.lacking:>12}")
    total = sum(r.lacking for r in rows)
    print(
        f"合计缺少 total lacking: {total} (补齐方式 filled by: the next counter or home-visit photo, or a confident app match)"
    )
