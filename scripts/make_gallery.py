"""Regenerate docs/gallery/: spectrograms and composition plans of six contrasting prompts.

Run from the repository root::

    python scripts/make_gallery.py            # 30 s excerpts (default)
    python scripts/make_gallery.py --seconds 45

matplotlib is a docs-only dependency (``pip install apiframe-magic[docs]``); the package itself
never imports it. Each PNG shows a log-frequency spectrogram of the rendered track with the
plan's sections marked, so a reader sees at a glance that the prompt steers the music: drum
onsets as vertical stripes, bass and pads as horizontal bands, the fade at the end.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np
import numpy.typing as npt

from apiframe_magic.sandbox._audio import plan_music, render_pcm

PROMPTS: tuple[tuple[str, str, bool], ...] = (
    ("lofi", "lo-fi hip hop beat to study to, mellow, with vinyl crackle", False),
    ("cinematic", "epic orchestral trailer music in D minor with brass and big drums", False),
    ("chiptune", "upbeat 8-bit chiptune for a retro video game, 150 bpm", False),
    ("house", "deep house track, 124 bpm, driving bass and synth pads", False),
    ("ambient", "calm ambient soundscape with pads and bells, lots of reverb, no drums", False),
    ("folk", "gentle folk song with acoustic guitar and a voice singing, happy", False),
)

SAMPLE_RATE = 22050


def spectrogram(mono: npt.NDArray[np.float32], sr: int) -> tuple[npt.NDArray[np.float64], ...]:
    """Magnitude (dB) STFT on a log-frequency grid: (times, freqs, db)."""
    win = 2048
    hop = 512
    frames = 1 + (len(mono) - win) // hop
    idx = np.arange(win)[None, :] + hop * np.arange(frames)[:, None]
    spec = np.abs(np.fft.rfft(mono[idx] * np.hanning(win), axis=1))
    freqs = np.fft.rfftfreq(win, 1 / sr)
    grid = np.geomspace(40, sr / 2, 200)
    mag = np.stack([np.interp(grid, freqs, row) for row in spec])
    db = 20 * np.log10(mag + 1e-6)
    db -= db.max()
    times = (np.arange(frames) * hop + win / 2) / sr
    return times, grid, db.T


def _shrink_png(path: Path) -> None:
    """Re-save as a 96-colour palette PNG: spectrogram noise compresses badly in RGBA."""
    from PIL import Image  # ships with matplotlib

    with Image.open(path) as img:
        small = img.convert("RGB").quantize(colors=96, method=Image.Quantize.MEDIANCUT)
    small.save(path, optimize=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--out", type=Path, default=Path("docs/gallery"))
    args = parser.parse_args()

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    args.out.mkdir(parents=True, exist_ok=True)
    length_ms = int(args.seconds * 1000)
    rows = []
    for name, prompt, instrumental in PROMPTS:
        plan = plan_music(prompt, length_ms=length_ms, force_instrumental=instrumental)
        audio = render_pcm(prompt, length_ms=length_ms, sample_rate=SAMPLE_RATE,
                           force_instrumental=instrumental)
        times, freqs, db = spectrogram(audio.mean(axis=0), SAMPLE_RATE)
        fig, ax = plt.subplots(figsize=(8.0, 3.2), dpi=80)
        ax.pcolormesh(times, freqs, db, vmin=-80, vmax=0, cmap="magma", shading="auto",
                      rasterized=True)
        ax.set_yscale("log")
        ax.set_ylim(40, SAMPLE_RATE / 2)
        ax.set_xlim(0, length_ms / 1000)
        ax.set_xlabel("time (s)")
        ax.set_ylabel("Hz")
        for section, start, _end in plan.sections:
            ax.axvline(start, color="white", lw=0.6, alpha=0.6)
            ax.text(start + 0.2, 12000 if SAMPLE_RATE > 24000 else 8000, section, color="white",
                    fontsize=7, va="top")
        title = (f"\u201c{prompt}\u201d\n{plan.style_label} \u00b7 {plan.tempo_bpm:g} bpm \u00b7 "
                 f"{plan.key} {plan.mode} \u00b7 {', '.join(plan.instruments)}")
        ax.set_title(title, fontsize=8)
        fig.tight_layout()
        png = args.out / f"{name}.png"
        fig.savefig(png, dpi=80)
        plt.close(fig)
        _shrink_png(png)
        rms = 20 * math.log10(float(np.sqrt(np.mean(np.square(audio)))) + 1e-12)
        rows.append((name, prompt, plan.to_dict(), rms, png.stat().st_size))
        print(f"{png}  {png.stat().st_size // 1024} KB  {plan.style} {plan.tempo_bpm:g} bpm")

    lines = [
        "# Sandbox music gallery",
        "",
        "What the offline sandbox composes for six contrasting prompts "
        f"({args.seconds:g} s excerpts, rendered at {SAMPLE_RATE} Hz). Each image is a "
        "log-frequency spectrogram with the plan's sections marked; below it, the plan the "
        "prompt produced. Regenerate with `python scripts/make_gallery.py` (needs the `docs` "
        "extra for matplotlib).",
        "",
    ]
    for name, prompt, info, rms, _size in rows:
        roles = ", ".join(f"{role}: {inst}" for role, inst in info["roles"].items())
        sections = ", ".join(f"{s} {a:.1f}\u2013{b:.1f} s" for s, a, b in info["sections"])
        chords = "; ".join(f"{k}: {' '.join(v)}" for k, v in info["progressions"].items())
        lines += [
            f"## {info['style_label']}",
            "",
            f"> {prompt}",
            "",
            f"![{name} spectrogram]({name}.png)",
            "",
            "| | |",
            "|---|---|",
            f"| style | {info['style_label']} |",
            f"| tempo | {info['tempo_bpm']:g} bpm |",
            f"| key | {info['key']} {info['mode']} |",
            f"| band | {roles} |",
            f"| sung lead | {'yes' if info['sung_lead'] else 'no'} |",
            f"| textures | {', '.join(info['textures']) or '-'} |",
            f"| chords | {chords} |",
            f"| sections | {sections} |",
            f"| RMS | {rms:.1f} dBFS |",
            "",
        ]
    lines += ["<details><summary>Plans as JSON</summary>", "", "```json"]
    lines += [json.dumps({name: info for name, _p, info, _r, _s in rows}, indent=1)]
    lines += ["```", "", "</details>", ""]
    (args.out / "README.md").write_text("\n".join(lines), encoding="utf-8")


if __name__ == "__main__":
    main()
