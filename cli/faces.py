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
    directories: list[Path],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object")] = False,
    plot: Annotated[Path | None, typer.Option("--plot", help="Write the DET curves (one panel per DIR) here")] = None,
    levers: Annotated[bool, typer.Option(help="Also measure several enrolment photos, fused probes, no cohort")] = True,
) -> None:
    """Each DIR on its own (never pooled): all pairs over DIR/identities/<id>/ (+ DIR/impostors_single/) decided
    as the service decides (dlib, SFace, and the fused score as a lever): FMR/FNMR at the shipped thresholds,
    FNMR at FMR 1 % / 0.1 %, EER. A DIR named east_asian is evaluated as one East-Asian population."""
    from faces.matching import model_config
    from verification.evaluation import EvalConfigs, format_report, jsonable, plot_det, run_eval

    for directory in directories:
        if not (directory / "identities").is_dir():
            err.print(f"[red]bad_directory[/red]: {directory}/identities not found / 目录中没有 identities 文件夹")
            raise typer.Exit(2)
    settings = get_settings()
    configs = EvalConfigs(dlib=model_config(settings, "dlib"), sface=model_config(settings, "sface"))
    results = []
    for directory in directories:
        population = "east_asian" if directory.resolve().name == "east_asian" else None
        results.append(run_eval(directory, configs=configs, population=population, with_levers=levers))
        if not as_json:
            typer.echo(format_report(results[-1]) + "\n")
    if plot is not None:
        plot_det(results, plot)
        if not as_json:
            typer.echo(f"DET curves: {plot}")
    if as_json:
        typer.echo(json.dumps({"sets": [jsonable(r) for r in results]}, ensure_ascii=False, default=float))


@app.command("eval-liveness")
def eval_liveness(
    directory: Path,
    faces: Annotated[
        Path | None, typer.Option("--faces", help="Also the spoof stills and the screen-replay video of this folder")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object")] = False,
) -> None:
    """BPCER and APCER per attack kind over DIR/genuine/<case>/ and DIR/attack/<kind>/<case>/, with the
    service's anti-spoofing (PENSION_CERT_FACE_PAD_REAL_THRESHOLD) on every answer; --faces adds the printed
    photo, the screen photo, the real capture and the screen-replay video."""
    from verification.liveness_eval import format_liveness_report, run_liveness_eval
    from verification.pad_eval import format_pad_report, run_pad_eval

    for folder in (directory, faces):
        if folder is not None and not folder.is_dir():
            err.print(f"[red]bad_directory[/red]: {folder}")
            raise typer.Exit(2)
    settings = get_settings()
    threshold = settings.face_pad_real_threshold if settings.face_pad_enabled else None
    result = run_liveness_eval(directory, pad_threshold=threshold)
    spoof = run_pad_eval(faces, pad_threshold=threshold) if faces is not None and threshold is not None else None
    if as_json:
        keys = ("bpcer", "genuine_cases", "apcer", "attack_cases")
        body = {k: result[k] for k in keys if k in result} | {"cases": result.get("cases", [])}
        typer.echo(json.dumps(body | {"pad_threshold": threshold, "spoof": spoof}, ensure_ascii=False, default=str))
        return
    typer.echo(format_liveness_report(result))
    if threshold is not None:
        typer.echo(format_pad_report(spoof, result, threshold))


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
