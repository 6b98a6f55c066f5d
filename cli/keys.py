"""CLI: re-encrypt biometric templates, evidence and replay signatures under the current key."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from cli.common import app, err, factory
from core.settings import get_settings


@app.command("rotate-keys")
def rotate_keys(
    batch_size: Annotated[int, typer.Option(min=1, max=10_000, help="Rows per transaction")] = 500,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Decrypt and count, write nothing")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object")] = False,
) -> None:
    """Re-encrypt every face template, evidence and replay-signature row under PENSION_CERT_TEMPLATE_KEY(_ID).

    Rows under older keys are read with PENSION_CERT_OLD_TEMPLATE_KEYS (id:base64,…). Safe to re-run;
    exits 1 while any row is still under another key (missing key or undecryptable row).
    """
    from faces import keys

    settings = get_settings()
    result = keys.rotate_keys(
        session_factory=factory(settings), settings=settings, batch_size=batch_size, dry_run=dry_run
    )
    if as_json:
        typer.echo(json.dumps(result.to_dict(), ensure_ascii=False))
    else:
        typer.echo(f"current key: {result.current_key_id}{' (dry run)' if dry_run else ''}")
        for table, c in (
            ("face_template", result.templates),
            ("evidence", result.evidence),
            ("replay_signature", result.replay_signatures),
        ):
            typer.echo(
                f"{table}: rotated {c.rotated}, already current {c.already_current}, "
                f"missing key {c.missing_key} {c.missing_key_ids or ''}, failed {c.failed}"
            )
        typer.echo(f"rows per key id: {result.key_ids_in_use}")
        if result.complete:
            typer.echo(
                "all rows are under the current key; old keys can be removed from PENSION_CERT_OLD_TEMPLATE_KEYS"
            )
    if not dry_run and not result.complete:
        err.print("[yellow]some rows are still under other keys[/yellow]")
        raise typer.Exit(1)
