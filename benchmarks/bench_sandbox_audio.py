"""Benchmark the sandbox's music rendering: CPU time and peak memory per format and length.

Run from the repository root::

    python benchmarks/bench_sandbox_audio.py                 # all formats, 30/60/300 s
    python benchmarks/bench_sandbox_audio.py --lengths 60 --formats mp3_high_quality
    python benchmarks/bench_sandbox_audio.py --budget        # 60 s and 300 s MP3 vs the targets

Every case runs in a fresh child process (so peak RSS is that case's own), renders each of the
benchmark prompts, and reports the worst prompt's CPU seconds (user + system: compose +
synthesize + encode) and the child's peak resident memory. The prompts span the style families
(metres, drum kits, instruments). Budgets on a 2-core machine (:data:`BUDGETS`): 60 s of 192 kbps
MP3 in at most 1 s of CPU, 300 s in at most 4 s, peak memory at most 250 MB.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

PROMPTS = (
    "lo-fi hip hop beat with vinyl crackle",
    "epic trailer with taiko drums in D minor",
    "upbeat 8-bit chiptune",
    "deep house 124 bpm",
    "calm ambient pads with reverb",
    "jazz trio",
    "solo piano nocturne",
    "folk song with acoustic guitar and singing",
    "havana salsa with congas and trumpet",
    "indie rock with guitars",
    "slow blues shuffle with harmonica",
    "drum and bass",
    "gospel choir with hammond organ",
    "viennese waltz",
)

#: The issue's budgets: (length s, max CPU s, max peak MB) for MP3 output.
BUDGETS = {60: (1.0, 250.0), 300: (4.0, 250.0)}

_CHILD = r"""
import json, resource, sys, time
from apiframe_magic.sandbox._audio import plan_music, compose_score, render_audio
from apiframe_magic.sandbox._synth import render_score
from apiframe_magic.sandbox._encode import encode_mp3, encode_wav
from apiframe_magic.catalog import OUTPUT_FORMATS
fmt = OUTPUT_FORMATS[sys.argv[1]]
length_ms = int(sys.argv[2])
prompts = json.loads(sys.argv[3])
render_audio("warm-up", length_ms=5000, output_format=fmt.name)
rows = []
for prompt in prompts:
    cpu = time.process_time
    t0 = cpu()
    plan = plan_music(prompt, length_ms=length_ms)
    score = compose_score(plan)
    t1 = cpu()
    audio = render_score(plan, score, fmt.sample_rate)
    t2 = cpu()
    # The same steps as render_audio, so peak memory is what the server sees.
    if fmt.container == "mp3":
        data = encode_mp3(audio, fmt.sample_rate, fmt.bitrate_kbps)
        del audio
    else:
        wav = encode_wav(audio, fmt.sample_rate)
        del audio
        data = bytes(wav)
        del wav
    t3 = cpu()
    del data
    rows.append({"prompt": prompt, "style": plan.style, "compose": t1 - t0,
                 "synth": t2 - t1, "encode": t3 - t2, "total": t3 - t0})
peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"rows": rows, "peak_mb": peak_kb / 1024}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", type=int, nargs="+", default=[30, 60, 300],
                        help="track lengths in seconds")
    parser.add_argument("--formats", nargs="+", default=None, help="output_format names")
    parser.add_argument("--prompts", type=int, default=len(PROMPTS),
                        help="how many of the benchmark prompts to render per case")
    parser.add_argument("--detail", action="store_true", help="also print every prompt")
    parser.add_argument("--budget", action="store_true",
                        help="only the budget cases (60 s and 300 s of 192 kbps MP3), with "
                             "pass/fail against the targets")
    args = parser.parse_args()
    if args.budget:
        args.lengths = sorted(BUDGETS)
        args.formats = ["mp3_high_quality"]

    from apiframe_magic.catalog import OUTPUT_FORMATS

    formats = args.formats or list(OUTPUT_FORMATS)
    prompts = list(PROMPTS[: args.prompts])
    print(f"{'format':18} {'length':>7} {'mean cpu':>9} {'max cpu':>8} {'synth':>6} "
          f"{'encode':>7} {'x realtime':>10} {'peak MB':>8}  {'budget':>14}  slowest")
    for name in formats:
        for seconds in args.lengths:
            out = subprocess.run(
                [sys.executable, "-c", _CHILD, name, str(seconds * 1000), json.dumps(prompts)],
                capture_output=True, text=True, check=True,
            )
            result = json.loads(out.stdout)
            rows = result["rows"]
            worst = max(rows, key=lambda r: r["total"])
            mean = sum(r["total"] for r in rows) / len(rows)
            budget = ""
            if name.startswith("mp3") and seconds in BUDGETS:
                cpu_max, mb_max = BUDGETS[seconds]
                ok = worst["total"] <= cpu_max and result["peak_mb"] <= mb_max
                budget = f"{cpu_max:g}s/{mb_max:g}MB {'ok' if ok else 'OVER'}"
            print(f"{name:18} {seconds:>6}s {mean:>8.2f}s {worst['total']:>7.2f}s "
                  f"{worst['synth']:>5.2f}s {worst['encode']:>6.2f}s "
                  f"{seconds / worst['total']:>9.0f}x {result['peak_mb']:>7.0f}  {budget:>14}  "
                  f"{worst['style']}")
            if args.detail:
                for r in rows:
                    print(f"    {r['style']:10} compose {r['compose']:.3f}  synth {r['synth']:.3f}"
                          f"  encode {r['encode']:.3f}  total {r['total']:.3f}")


if __name__ == "__main__":
    main()
