"""Regenerate docs/gallery/: one note per style family, and spectrograms of six contrasting prompts.

Run from the repository root (or ``make gallery``)::

    python scripts/make_gallery.py            # 30 s excerpts (default)
    python scripts/make_gallery.py --seconds 45

matplotlib is a docs-only dependency (``pip install apiframe-magic[docs]``); the package itself
never imports it. The README lists every style family with an example prompt, what the composer
planned for it (metre, tempo, band), two numbers measured on a 20 s render (RMS level and
spectral centroid) and a short note on what makes the style recognisable. Each PNG shows a
log-frequency spectrogram of a rendered track with the plan's sections marked, so a reader sees
at a glance that the prompt steers the music: drum onsets as vertical stripes, bass and pads as
horizontal bands, the fade at the end.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np
import numpy.typing as npt

from apiframe_magic.sandbox._audio import plan_music, render_pcm
from apiframe_magic.sandbox._styles import STYLES

PROMPTS: tuple[tuple[str, str, bool], ...] = (
    ("lofi", "lo-fi hip hop beat to study to, mellow, with vinyl crackle", False),
    ("trailer", "epic trailer music in D minor with brass, choir and taiko drums", False),
    ("chiptune", "upbeat 8-bit chiptune for a retro video game, 150 bpm", False),
    ("house", "deep house track, 124 bpm, driving bass and synth pads", False),
    ("blues", "slow blues shuffle with a wailing harmonica", False),
    ("waltz", "a viennese waltz with a violin melody", False),
)

#: One example prompt per style family (words a user might type; none is a keyword list).
EXAMPLES: dict[str, str] = {
    "lofi": "rainy sunday lofi with a mellow rhodes",
    "hiphop": "90s boom bap instrumental",
    "trap": "dark trap beat with heavy 808s",
    "rnb": "late night neo-soul slow jam",
    "funk": "slap bass funk jam",
    "disco": "roller disco night with strings",
    "pop": "catchy pop chorus",
    "indie": "jangly indie guitar song about summer",
    "rock": "classic rock with a guitar solo",
    "metal": "thrash metal riff in E minor",
    "punk": "fast pop-punk skate song",
    "house": "tech house groove for a warehouse party",
    "techno": "dark berlin techno",
    "trance": "euphoric uplifting trance",
    "dnb": "liquid drum and bass",
    "dubstep": "heavy dubstep drop",
    "synthwave": "outrun night drive",
    "ambient": "deep space ambient drone",
    "chiptune": "nes boss music in 8-bit",
    "game": "jrpg overworld theme",
    "jazz": "cool jazz quartet in a smoky club",
    "swing": "1940s big band dance",
    "bossa": "bossa nova by the sea",
    "blues": "delta blues",
    "gospel": "sunday morning gospel with a choir",
    "reggae": "roots reggae one drop",
    "latin": "havana salsa with congas",
    "flamenco": "passionate flamenco guitar",
    "tango": "argentine tango for two dancers",
    "afrobeat": "afrobeat groove with horns",
    "caribbean": "calypso steel drum party",
    "indian": "bollywood dance number with sitar",
    "middle_eastern": "arabic oud improvisation",
    "asian": "japanese koto garden",
    "celtic": "irish jig at the pub",
    "country": "honky tonk country song",
    "bluegrass": "appalachian bluegrass breakdown",
    "folk": "fingerpicking folk song",
    "piano": "romantic chopin nocturne",
    "chamber": "string quartet in the style of haydn",
    "baroque": "bach harpsichord invention",
    "cinematic": "sweeping symphonic film music",
    "trailer": "epic trailer with taiko drums",
    "waltz": "viennese waltz",
    "choral": "gregorian chant in a cathedral",
    "lullaby": "a lullaby for a sleepy baby",
    "march": "sousa marching band",
}

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
    for stale in args.out.glob("*.png"):
        stale.unlink()
    length_ms = int(args.seconds * 1000)
    families = []
    for name, spec in STYLES.items():
        prompt = EXAMPLES.get(name, spec.keywords[0])
        plan = plan_music(prompt, length_ms=20_000)
        mono = render_pcm(prompt, length_ms=20_000, sample_rate=SAMPLE_RATE).mean(axis=0)
        spec_pow = np.abs(np.fft.rfft(mono.astype(np.float64))) ** 2
        freqs = np.fft.rfftfreq(len(mono), 1 / SAMPLE_RATE)
        centroid = float((spec_pow * freqs).sum() / spec_pow.sum())
        rms = 20 * math.log10(float(np.sqrt(np.mean(np.square(mono, dtype=np.float64)))) + 1e-12)
        band = ", ".join(plan.instruments)
        families.append(
            f"| {spec.label} | {prompt} | {plan.metre}, {plan.tempo_bpm:g} bpm | {band} | "
            f"{rms:.1f} dBFS, {centroid:.0f} Hz | {spec.note} |"
        )
        print(f"{name:15} {plan.style:15} {plan.metre:5} {plan.tempo_bpm:5g} bpm  {band}")
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
        title = (f"\u201c{prompt}\u201d\n{plan.style_label} \u00b7 {plan.metre} \u00b7 "
                 f"{plan.tempo_bpm:g} bpm \u00b7 {plan.key} {plan.mode} \u00b7 "
                 f"{', '.join(plan.instruments)}")
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
        f"What the offline sandbox composes. First, all {len(STYLES)} style families: an example "
        "prompt, the metre, tempo and band the composer chose, the RMS level and spectral "
        f"centroid measured on a 20 s render at {SAMPLE_RATE} Hz, and what makes the style "
        "recognisable. Then six contrasting prompts as spectrograms "
        f"({args.seconds:g} s excerpts) with the plan each produced. Regenerate with "
        "`make gallery` (needs the `docs` extra for matplotlib). How prompts are mapped to "
        "families, instruments and metres is in [the sandbox docs](../sandbox.md#the-music).",
        "",
        "## Style families",
        "",
        "| family | example prompt | metre, tempo | band | measured | what makes it recognisable |",
        "|---|---|---|---|---|---|",
        *families,
        "",
        "## Spectrograms",
        "",
    ]
    for name, prompt, info, rms, _size in rows:
        roles = ", ".join(f"{role}: {inst}" for role, inst in info["roles"].items())
        sections = ", ".join(f"{s} {a:.1f}\u2013{b:.1f} s" for s, a, b in info["sections"])
        chords = "; ".join(f"{k}: {' '.join(v)}" for k, v in info["progressions"].items())
        lines += [
            f"### {info['style_label']}",
            "",
            f"> {prompt}",
            "",
            f"![{name} spectrogram]({name}.png)",
            "",
            "| | |",
            "|---|---|",
            f"| style | {info['style_label']} |",
            f"| metre, tempo | {info['metre']}, {info['tempo_bpm']:g} bpm |",
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
