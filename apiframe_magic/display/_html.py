"""What a run shows once it ends, as pure builders of HTML and text: the summary with a player per
track (and, once measured, a line of measurements with a small waveform and spectrogram), the dry
run, the sandbox notice, the model list. Nothing here displays anything or holds state (the
pictures of a file are remembered while the file is unchanged), so a grid of many jobs can reuse
every piece."""

from __future__ import annotations

import base64
import html
import json
import mimetypes
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from IPython.display import display

from .._terminal import printable
from ..catalog import ModelSpec, format_length, price_bounds

if TYPE_CHECKING:
    from ..analysis import Measurements
    from ..client import AnyRequest, Job, ModelInfo
    from ..jobs import MusicResult, SavedTrack, Service

__all__ = ["describe", "dry_run_bundle", "history_bundle", "measurements_bundle", "measurements_html",
           "models_bundle", "pictures_html", "player_html", "price_text", "result_html", "result_text",
           "sandbox_notice", "status_html"]

_GREEN, _RED, _BLUE, _GREY, _ORANGE = "#2e7d32", "#c62828", "#1565c0", "#616161", "#ef6c00"
# Secondary text: the theme's own (at least 4.5:1 on its background in JupyterLab's light and
# dark themes), and a dark grey where no Jupyter theme is defined.
_MUTED = "var(--jp-content-font-color2,#555)"


def _unbroken(text: str) -> str:
    """``text`` with no-break spaces, so a number never wraps apart from its unit (no markup:
    it is saved with every measured track)."""
    return text.replace(" ", "\u00a0")


_BOX = "font:13px/1.5 var(--jp-ui-font-family,sans-serif);"


_AUDIO_TYPES = {".mp3": "audio/mpeg", ".wav": "audio/wav"}


def describe(result: MusicResult) -> dict[str, str]:
    """The caption fields of a result, in display order, as text."""
    request = result.request
    fields = {
        "prompt": result.prompt or result.lineage or "(unknown)",
        "model": result.model or "?",
        "tracks": str(len(result.tracks)),
        "length": f"{result.duration:.1f} s" if result.duration is not None else "?",
        "format": request.audio_format.label if request else result.audio_format.upper(),
        "job": result.job_id,
        "elapsed": f"{result.elapsed:.1f} s",
        "credits": str(result.credits) if result.credits is not None else "?",
    }
    return fields


def sandbox_notice(service: Service) -> None:
    """Say plainly that this run uses the offline sandbox, and how to use the real service."""
    text = (
        "Offline sandbox: procedural audio composed on this machine, not by the AI model. "
        "For the real service set APIFRAME_API_KEY (an afk_... key from apiframe.ai) and run the cell again."
    )
    markup = (
        f'<div class="apiframe-sandbox-notice" style="{_BOX} color: {_GREY};">'
        f"🎛️ <b>Offline sandbox</b>: procedural audio composed on this machine, not by the AI model. "
        f"For the real service set <code>APIFRAME_API_KEY</code> (an <code>afk_…</code> key from "
        f"apiframe.ai) and run the cell again.</div>"
    )
    display({"text/plain": text, "text/html": markup}, raw=True)


def dry_run_bundle(request: AnyRequest, service_label: str) -> dict[str, str]:
    """The exact request body and its credit cost, as a display bundle."""
    from ..jobs import UPLOAD_PLACEHOLDER  # loaded already: a request was made

    body = json.dumps(request.to_json(), indent=2, ensure_ascii=False)
    if UPLOAD_PLACEHOLDER in body:
        body += (f"\n(each {UPLOAD_PLACEHOLDER}<sha256>/<path> is a local file, checked and uploaded "
                 "with POST /v2/uploads when the cell runs; its URL goes there)")
    price = price_text(request)
    text = f"Dry run: nothing submitted. POST {request.endpoint} would cost {price}.\n{body}"
    markup = (
        f'<div class="apiframe-dry-run" style="{_BOX}"><b>Dry run</b>: nothing submitted. '
        f"<code>POST {html.escape(request.endpoint)}</code> to {html.escape(service_label)} would cost "
        f"<b>{html.escape(price)}</b>.<pre>{html.escape(body)}</pre></div>"
    )
    return {"text/plain": text, "text/html": markup}


def price_text(request: AnyRequest) -> str:
    """What a job will cost, in words: ``11 credits for 2 tracks``, ``20 credits for a 1m track``
    (the numbers are the catalog's :func:`~apiframe_magic.catalog.price_bounds`)."""
    spec = request.spec
    prices = price_bounds(request)
    count = request.track_count
    what = f"{count} tracks" if count > 1 else "1 track"
    if prices is None:
        return f"an undocumented number of credits for {what} ({spec.id} has no published price)"
    low, high = prices
    if low == high:
        length = format_length(request.music_length_ms) if request.music_length_ms else None
        if length and count == 1:
            return f"{low} credits for a {length} track"
        return f"{low} credits for {what}"
    if spec.length_param is not None and request.music_length_ms is None:
        return f"{low} to {high} credits (no --length: the model picks the length)"
    return f"{low} to {high} credits for {what}"


def player_html(
    path: Path, embed_limit_bytes: int, *, fill: bool = False,
    why: str | None = "over %config MusicMagics.embed_limit_mb",
) -> str:
    """An ``<audio>`` player: the file embedded as a ``data:`` URI when it fits the limit, else
    linked, with a line saying so and ``why`` (none when ``why`` is ``None``: a live grid's
    player, whose saved copy embeds the file). ``fill``: as wide as its container (a grid's
    card), never wider.

    A linked file is addressed relative to the kernel's working directory, which Jupyter front
    ends resolve against the notebook's folder. The markup is the bare element (no ``<source>``,
    no fallback text, single-quoted attributes that JSON need not escape): it is saved in the
    notebook with every track, so an embedded track weighs its base64 and little more.
    """
    size = path.stat().st_size
    kind = _AUDIO_TYPES.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0] or "audio/mpeg"
    width = " style='width:100%'" if fill else ""
    if embed_limit_bytes > 0 and size <= embed_limit_bytes:  # a limit of 0 links every file
        data = base64.b64encode(path.read_bytes()).decode("ascii")
        return f"<audio controls{width} src='data:{kind};base64,{data}'></audio>"
    url = html.escape(_relative_url(path))
    if why is None:
        return f"<audio controls{width} src='{url}'></audio>"
    return (
        f"<audio controls{width} src='{url}'></audio><div style='color:{_MUTED}'>{size / 1e6:.1f} MB: "
        f"linked from <a href='{url}'>{url}</a> rather than embedded ({html.escape(why)}).</div>"
    )


def _relative_url(path: Path) -> str:
    try:
        return Path(os.path.relpath(path)).as_posix()
    except ValueError:  # another drive on Windows
        return path.as_posix()


def result_html(result: MusicResult, embed_limit_bytes: int) -> str:
    """The static summary of a finished track with its player (kept compact: see player_html)."""
    fields = describe(result)
    if fields.get("tracks") == "1":
        del fields["tracks"]  # the usual case goes without saying
    caption = " · ".join(
        f"{html.escape(name)} <b>{html.escape(value)}</b>"
        for name, value in fields.items() if name not in ("prompt", "job")
    )
    prompt = fields["prompt"]
    # The whole prompt is in the cell above; a long one would weigh on every saved notebook.
    short = prompt if len(prompt) <= 60 else prompt[:59] + "…"
    badge = " · sandbox" if result.sandbox else ""
    if result.from_ledger:
        badge += " · from the ledger, nothing sent"
    if len(result.tracks) == 1:
        players = (
            f"<div style='color:{_GREY}'>“{html.escape(short)}” · job <code>{html.escape(result.job_id)}"
            f"</code> · <code>{html.escape(_relative_url(result.path))}</code></div>"
            f"{player_html(result.path, embed_limit_bytes)}{track_analysis_html(result.tracks[0])}"
        )
    else:
        players = (
            f"<div style='color:{_GREY}'>“{html.escape(short)}” · job <code>{html.escape(result.job_id)}"
            f"</code></div>" + "".join(_track_html(t, embed_limit_bytes) for t in result.tracks)
        )
    return (
        f'<div class="apiframe-music-summary" style="{_BOX}border-left:4px solid {_GREEN};'
        f'padding:2px 10px">'
        f"<div><span style='color:{_GREEN}'>✔ done</span>{badge} · {caption}</div>"
        f"{_lineage_html(result)}{players}{_whole_songs_html(result, embed_limit_bytes)}</div>"
    )


def _lineage_html(result: MusicResult) -> str:
    """What an action's result came from (``↳ extension of calm piano at 1:30``), or nothing."""
    if not result.lineage:
        return ""
    return (f"<div class='apiframe-music-lineage' style='color:{_GREY}'>↳ {html.escape(result.lineage)}"
            f" · parent job <code>{html.escape(result.parent_job_id or '')}</code></div>")


def _whole_songs_html(
    result: MusicResult, embed_limit_bytes: int, *, fill: bool = False,
    why: str | None = "over %config MusicMagics.embed_limit_mb",
) -> str:
    """An extension's whole songs (the parent up to the join, then the extension), a player each
    (``fill`` and ``why`` as :func:`player_html` takes them: a batch card's)."""
    several = len(result.whole_songs) > 1
    return "".join(
        f"<div class='apiframe-music-whole-song' style='margin-top:4px'><div><b>Whole song</b>"
        f"{f' (track {n})' if several else ''} · <code>{html.escape(_relative_url(path))}</code></div>"
        f"{player_html(path, embed_limit_bytes, fill=fill, why=why)}</div>"
        for n, path in enumerate(result.whole_songs, 1)
    )


def _track_html(track: SavedTrack, embed_limit_bytes: int) -> str:
    """One labelled player of a job with several tracks: ``Track 2 · title · 30.0 s · file``
    (a stem is labelled by what it is: ``Vocals · 30.0 s · file``)."""
    from ..jobs import STEM_NAMES  # loaded already: a result is being shown

    stem = (track.title or "").lower() if (track.title or "").lower() in STEM_NAMES else None
    parts = [f"<b>{stem.capitalize()}</b>" if stem else f"<b>Track {track.index + 1}</b>"]
    if track.title and not stem:
        parts.append(html.escape(str(track.title)))
    if track.duration is not None:
        parts.append(f"{track.duration:.1f} s")
    parts.append(f"<code>{html.escape(_relative_url(track.path))}</code>")
    return (
        f"<div class='apiframe-music-track' style='margin-top:4px'><div>{' · '.join(parts)}</div>"
        f"{player_html(track.path, embed_limit_bytes)}{track_analysis_html(track)}</div>"
    )


def measurements_html(measurements: Measurements) -> str:
    """One grey line of what was measured: ``-14.1 LUFS · peak -1.8 dBFS · 0 clipped · ...``,
    each number kept with its unit; the loudness also as ``data-lufs``, for a grid's loudness
    matching (see :mod:`apiframe_magic.display._bench`)."""
    lufs = (f" data-lufs='{measurements.loudness_lufs:.2f}'"
            if measurements.loudness_lufs is not None else "")
    parts = " · ".join(html.escape(p if p == measurements.note else _unbroken(p))
                       for p in measurements.summary().split(" · "))
    return f"<div class='apiframe-measurements'{lufs} style='color:{_MUTED}'>{parts}</div>"


def pictures_html(path: Path) -> str:
    """A small waveform (SVG) and spectrogram (PNG) of the file, about 3 KB in all; ``""`` when it
    cannot be read. The pictures are made once per file (see
    :func:`~apiframe_magic.analysis.card_pictures`). Both are ``<img>`` elements with a ``data:``
    URI: a notebook's sanitiser (an untrusted notebook: one opened from git, or shared) keeps
    those, and strips an inline ``<svg>``."""
    from ..analysis import card_pictures  # numpy: only once a track is shown

    svg, png = card_pictures(path)
    if not svg and not png:
        return ""
    wave = (f"<img alt='waveform' width='240' height='32' class='apiframe-waveform' "
            f"src='data:image/svg+xml;base64,{base64.b64encode(svg.encode()).decode('ascii')}'>"
            if svg else "")
    image = (f"<img alt='spectrogram' width='240' height='32' style='image-rendering:pixelated' "
             f"src='data:image/png;base64,{base64.b64encode(png).decode('ascii')}'>" if png else "")
    return f"<div class='apiframe-pictures' style='line-height:0'>{wave}{image}</div>"


def track_analysis_html(track: SavedTrack) -> str:
    """The measurements line and the pictures of a measured track (``""`` before it is measured;
    only the line, with its note, when the file could not be decoded)."""
    if track.measurements is None:
        return ""
    pictures = "" if track.measurements.empty else pictures_html(track.path)
    return measurements_html(track.measurements) + pictures


def measurements_bundle(result: MusicResult) -> dict[str, str]:
    """The measurements and pictures of every measured track of ``result``, as a display bundle
    shown under its card (the magic measures once the player is shown)."""
    measured = [t for t in result.tracks if t.measurements is not None]
    several = len(result.tracks) > 1
    lines = [
        (f"track {t.index + 1}: " if several else "") + (t.measurements.summary() if t.measurements else "")
        for t in measured
    ]
    blocks = "".join(
        (f"<div><b>Track {t.index + 1}</b></div>" if several else "") + track_analysis_html(t)
        for t in measured
    )
    if not lines:
        text = "not measured"
    elif several:  # a line per track, each under the heading
        text = "measured:\n" + "\n".join(f"  {line}" for line in lines)
    else:
        text = f"measured: {lines[0]}"
    follows = result.adherence.summary() if measured else ""
    if follows:  # what the prompt asked for, against the (first) track
        text += f"\nthe prompt asked: {follows}"
        blocks += f"<div class='apiframe-adherence'>the prompt asked: {html.escape(follows)}</div>"
    return {
        "text/plain": printable(text, newlines=True),
        "text/html": f'<div class="apiframe-music-analysis" style="{_BOX}padding:0 14px">{blocks}</div>',
    }


def result_text(result: MusicResult) -> str:
    """For terminals: where the audio is, how long, which job; a line per track when several."""
    lines = [_result_line(result)]
    if result.lineage:
        lines.append(f"  ↳ {result.lineage} (parent job {result.parent_job_id})")
    lines.extend(f"  whole song: {_relative_url(path)}" for path in result.whole_songs)
    return "\n".join(lines)


def _result_line(result: MusicResult) -> str:
    fields = describe(result)
    if result.from_ledger:
        files = ", ".join(_relative_url(t.path) for t in result.tracks)
        return (f"✔ from the ledger, nothing sent (0 credits): {files} ({fields['length']}) "
                f"job {result.job_id}")
    if len(result.tracks) == 1:
        return (
            f"✔ saved {_relative_url(result.path)} ({fields['length']}, {fields['format']}, "
            f"{fields['credits']} credits, {fields['elapsed']}) job {result.job_id}"
        )
    lines = [
        f"✔ saved {len(result.tracks)} tracks ({fields['model']}, {fields['format']}, "
        f"{fields['credits']} credits, {fields['elapsed']}) job {result.job_id}"
    ]
    for track in result.tracks:
        length = f"{track.duration:.1f} s" if track.duration is not None else "? s"
        title = f" “{track.title}”" if track.title else ""
        lines.append(f"  {track.index + 1}. {_relative_url(track.path)} ({length}){title}")
    return "\n".join(lines)


def status_html(color: str, title: str, message: str, job_id: str | None, value: int) -> str:
    job = f" · job <code>{html.escape(job_id)}</code>" if job_id else ""
    bar = (
        f'<div style="width: 280px; height: 8px; background: #e0e0e0; border-radius: 4px;">'
        f'<div style="width: {value}%; height: 8px; background: {color}; border-radius: 4px;"></div></div>'
    )
    return (
        f'<div class="apiframe-music-status" style="{_BOX} border-left: 4px solid {color}; '
        f'padding: 2px 10px;">{bar}<div><span style="color: {color};"><b>{html.escape(title)}</b></span>'
        f"{job}</div><div>{html.escape(message)}</div></div>"
    )


def models_bundle(specs: Sequence[ModelSpec], served: Mapping[str, ModelInfo] | None) -> dict[str, str]:
    """``%music models``: every model this package knows, with its params and prices.

    ``served`` is what ``GET /v2/models`` answered (``None`` when it could not be asked): a model
    it lists that has no local spec is shown too, as usable only once this package knows it.
    """
    rows: list[tuple[str, str, str, str, str]] = []
    for spec in specs:
        info = served.get(spec.id) if served is not None else None
        price = _price_text(spec, info)
        tracks = f"{spec.tracks_param} (default {spec.tracks})" if spec.tracks_param else str(spec.tracks)
        extras = [o for o, has in (("--length", spec.length_param), ("--format", spec.format_param),
                                   ("--instrumental", spec.instrumental), ("--seed", spec.seed_param),
                                   ("lyrics", spec.lyrics)) if has]
        params = "; ".join(f"{p.name}: {p.describe()}" for p in spec.params)
        rows.append((spec.id, f"{spec.label}: {spec.description}", tracks, price,
                     ", ".join(extras) + (" · " if extras else "") + params))
    known = {spec.id for spec in specs}
    for model_id, info in (served or {}).items():
        if model_id not in known:
            rows.append((model_id, info.label or model_id, "?", _price_text(None, info),
                         "listed by the service, not known to this version of apiframe-magic"))
    source = ("the service's list merged with this package's specs" if served is not None
              else "this package's specs; the service's list could not be read")
    head = ("model", "what", "tracks", "credits", "options and --param KEY=VALUE")
    # Text: every column but "what", as wide as its widest cell, under a header.
    shown = [(r[0], r[2], r[3], r[4]) for r in [head, *rows]]
    widths = [max(len(r[i]) for r in shown) for i in range(3)]
    text = f"Music models ({source})\n" + "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(r[:3], widths, strict=True)) + "  " + r[3]
        for r in shown
    )
    cells = "".join(
        "<tr>" + "".join(f'<td style="text-align: left; vertical-align: top;">{html.escape(c)}</td>'
                         for c in row) + "</tr>"
        for row in rows
    )
    markup = (
        f'<div class="apiframe-models" style="{_BOX}"><b>Music models</b> ({html.escape(source)})'
        f"<table><thead><tr>"
        + "".join(f'<th style="text-align: left;">{h}</th>' for h in head)
        + f"</tr></thead><tbody>{cells}</tbody></table></div>"
    )
    return {"text/plain": text, "text/html": markup}


def _price_text(spec: ModelSpec | None, info: ModelInfo | None) -> str:
    documented = spec.cost_range() if spec is not None else None
    note = ""
    if documented is None and info is not None and info.cost_min is not None:
        documented = (info.cost_min, info.cost_max if info.cost_max is not None else info.cost_min)
        note = " (as listed by the service)"
    if documented is None:
        return "not documented"
    low, high = documented
    return (str(low) if low == high else f"{low} to {high}") + note


def history_bundle(
    rows: Sequence[Mapping[str, Any]], unseen: Sequence[Job] | None = None, *, title: str = "Job history"
) -> dict[str, str]:
    """``%music history`` / ``%music pending``: rows of :func:`apiframe_magic.ledger.history_rows`
    as a table, and (``unseen``) the account's jobs the ledger never saw."""
    head = ("when", "prompt", "model", "take", "status", "credits", "length", "file", "job")

    def cells(row: Mapping[str, Any]) -> tuple[str, ...]:
        prompt = str(row["prompt"])
        length = row.get("length")
        return (
            str(row["when"] or "")[:19].replace("T", " "),
            prompt if len(prompt) <= 48 else prompt[:47] + "…",
            str(row["model"]), str(row["take"]), str(row["status"]),
            "?" if row["credits"] is None else str(row["credits"]),
            "" if length is None else f"{length:.1f} s",
            _relative_url(Path(str(row["file"]).splitlines()[0])) if row.get("file") else "",
            str(row["job_id"] or ""),
        )

    table = [cells(r) for r in rows]
    text_lines = [f"{title}: {len(table)} job(s)"] + [printable("  ".join(c for c in t if c)) for t in table]
    markup = [
        f'<div class="apiframe-history" style="{_BOX}"><b>{html.escape(title)}</b> '
        f"({len(table)} job{'s' if len(table) != 1 else ''})"
    ]
    if table:
        markup.append("<table><thead><tr>" + "".join(f"<th style='text-align:left'>{h}</th>" for h in head)
                      + "</tr></thead><tbody>")
        markup += ["<tr>" + "".join(f"<td style='text-align:left'>{html.escape(c)}</td>" for c in t)
                   + "</tr>" for t in table]
        markup.append("</tbody></table>")
    if unseen is not None:
        text_lines.append(f"On the account but not in this ledger: {len(unseen)} job(s)")
        text_lines += [printable(f"  {j.created_at or ''}  {j.model or '?'}  {j.status}  {j.id}")
                       for j in unseen]
        items = "".join(
            f"<li><code>{html.escape(j.id)}</code> · {html.escape(j.model or '?')} · "
            f"{html.escape(j.status)} · {html.escape(j.created_at or '')}</li>" for j in unseen
        )
        markup.append(f"<div><b>On the account but not in this ledger</b> ({len(unseen)})"
                      f"<ul>{items}</ul></div>")
    markup.append("</div>")
    return {"text/plain": "\n".join(text_lines), "text/html": "".join(markup)}
