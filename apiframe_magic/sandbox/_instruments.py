"""Instruments a prompt can name, and how naming one changes the band.

:data:`INSTRUMENT_WORDS` maps the words people write (``"cello"``, ``"rhodes"``, ``"tin
whistle"``) to one of the synthesiser's timbres and the part it naturally plays: ``lead``
(melodic instruments), ``chords``, ``bass``, ``pad``, ``arp`` (plucked or struck figures) or
``drums`` (a percussion family, which picks the kit). :func:`apply_instruments` then rewrites a
style's default band:

* the first melodic instrument named takes the melody (the style's lead moves to the
  counter-melody), a second one takes the counter-melody;
* a chord, bass, pad or arp instrument replaces the style's instrument in that part;
* ``"<instrument> solo"``, ``"lead <instrument>"``, ``"<instrument> melody"`` or
  ``"featuring <instrument>"`` makes it lead whatever its usual part;
* ``"solo <instrument>"`` (or ``"<instrument> only"``) leaves that instrument alone, playing
  the melody and, if it can, the harmony and bass;
* ``no drums`` / ``without percussion`` / ``drumless`` removes the kit.
"""

from __future__ import annotations

from ._styles import StyleSpec, count, has

__all__ = ["INSTRUMENT_WORDS", "KITS", "LEAD_OCTAVE", "apply_instruments", "no_drums"]

# (words, timbre, part). Longer phrases come first so "electric piano" is not also "piano".
INSTRUMENT_WORDS: tuple[tuple[tuple[str, ...], str, str], ...] = (
    (("electric piano", "rhodes", "wurlitzer", "e-piano", "fender rhodes"), "electric piano",
     "chords"),
    (("pipe organ", "church organ", "cathedral organ"), "pipe organ", "chords"),
    (("hammond", "hammond organ", "b3", "organ"), "organ", "chords"),
    (("harpsichord", "clavichord", "cembalo"), "harpsichord", "chords"),
    (("grand piano", "piano", "upright piano", "keys", "keyboard"), "piano", "chords"),
    (("accordion", "bandoneon", "concertina"), "accordion", "lead"),
    (("melodica",), "melodica", "lead"),
    (("harmonica", "blues harp", "mouth organ"), "harmonica", "lead"),
    (("string section", "strings", "string orchestra", "string ensemble",
      "orchestral strings"), "strings", "pad"),
    (("pizzicato", "pizz"), "pizzicato", "arp"),
    (("violin", "violins", "violinist"), "violin", "lead"),
    (("fiddle", "fiddles"), "fiddle", "lead"),
    (("viola", "violas"), "viola", "lead"),
    (("cello", "cellos", "violoncello", "cellist"), "cello", "lead"),
    (("double bass", "upright bass", "contrabass", "acoustic bass"), "upright bass", "bass"),
    (("harp", "harps", "lyre"), "harp", "arp"),
    (("nylon guitar", "nylon-string guitar", "classical guitar", "spanish guitar",
      "flamenco guitar"), "nylon guitar", "chords"),
    (("acoustic guitar", "acoustic guitars", "steel-string guitar"), "acoustic guitar", "chords"),
    (("pedal steel", "steel guitar", "lap steel", "slide guitar"), "steel guitar", "lead"),
    (("guitar solo", "lead guitar", "guitar lead", "shredding"), "lead guitar", "lead"),
    (("electric guitar", "electric guitars", "guitar", "guitars"), "guitar", "chords"),
    (("banjo", "banjos"), "banjo", "arp"),
    (("mandolin", "mandolins", "bouzouki"), "mandolin", "chords"),
    (("ukulele", "uke"), "ukulele", "chords"),
    (("sitar",), "sitar", "lead"),
    (("koto", "guzheng", "zither"), "koto", "chords"),
    (("oud", "lute", "saz"), "oud", "lead"),
    (("kalimba", "mbira", "thumb piano"), "kalimba", "arp"),
    (("steel drum", "steel drums", "steelpan", "steel pan"), "steel drum", "lead"),
    (("marimba", "xylophone", "balafon"), "marimba", "arp"),
    (("vibraphone", "vibes", "vibraphones"), "vibraphone", "lead"),
    (("music box",), "music box", "lead"),
    (("glockenspiel", "celesta", "toy piano"), "glockenspiel", "arp"),
    (("bells", "bell", "chimes", "tubular bells"), "bells", "arp"),
    (("trumpet", "trumpets", "cornet", "flugelhorn"), "trumpet", "lead"),
    (("trombone", "trombones"), "trombone", "lead"),
    (("french horn", "french horns"), "french horn", "lead"),
    (("tuba", "tubas", "sousaphone"), "tuba", "bass"),
    (("brass", "horns", "horn section", "brass section", "horn"), "brass", "counter"),
    (("saxophone", "saxophones", "sax", "alto sax", "tenor sax"), "saxophone", "lead"),
    (("clarinet", "clarinets"), "clarinet", "lead"),
    (("oboe", "bassoon", "english horn", "woodwinds"), "oboe", "lead"),
    (("tin whistle", "penny whistle", "whistle", "piccolo"), "whistle", "lead"),
    (("flute", "flutes", "recorder", "pan flute", "panpipes", "shakuhachi", "bansuri"),
     "flute", "lead"),
    (("bagpipe", "bagpipes"), "bagpipe", "lead"),
    (("choir", "choirs", "chorus of voices", "choral voices"), "choir", "pad"),
    (("drone", "tanpura", "tambura"), "drone", "pad"),
    (("supersaw", "supersaws"), "supersaw", "pad"),
    (("synth pad", "synth pads", "pad", "pads"), "pads", "pad"),
    (("arpeggio", "arpeggios", "arpeggiator", "arpeggiated"), "synth", "arp"),
    (("synth lead", "synth", "synths", "synthesizer", "synthesizers", "moog"), "synth lead",
     "lead"),
    (("808", "808s"), "808", "bass"),
    (("reese", "reese bass"), "reese bass", "bass"),
    (("wobble", "wobble bass"), "wobble bass", "bass"),
    (("sub bass", "sub-bass"), "sub bass", "bass"),
    (("synth bass", "bass synth", "acid bass", "303"), "synth bass", "bass"),
    (("slap bass", "bass guitar", "electric bass", "bass", "bassline", "bass line"), "bass",
     "bass"),
    # Percussion families: the part is the kit.
    (("tabla", "tablas"), "tabla", "drums"),
    (("congas", "conga", "bongos", "bongo", "djembe", "hand drums", "cajon", "darbuka",
      "bodhran", "frame drum"), "hand drums", "drums"),
    (("timpani", "taiko", "war drums", "orchestral percussion", "big drums"),
     "orchestral drums", "drums"),
    (("snare drum", "marching snare", "drumline"), "marching", "drums"),
    (("brushes", "brush", "brushed"), "brush kit", "drums"),
    (("drum machine", "808 kit", "trap drums"), "808 kit", "drums"),
    (("drums", "drum", "drum kit", "percussion", "beat", "beats"), "drums", "drums"),
)

#: Kit names the synthesiser knows (the instrument of the ``drums`` part).
KITS = ("drums", "brush kit", "orchestral drums", "noise drums", "light percussion", "808 kit",
        "hand drums", "tabla", "marching")

#: Octave of the melody per lead timbre, relative to the octave above middle C's tonic (0).
LEAD_OCTAVE: dict[str, int] = {
    "cello": -1, "trombone": -1, "french horn": -1, "tuba": -2, "viola": 0, "oboe": 0,
    "voice": 0, "brass": 0, "synth lead": 0, "supersaw": 0, "saxophone": 0, "clarinet": 0,
    "oud": 0, "sitar": 0, "trumpet": 0, "accordion": 0, "harmonica": 0, "melodica": 0,
    "steel guitar": 0, "lead guitar": 0, "choir": 0, "nylon guitar": 0, "organ": 0,
    "pipe organ": 0, "strings": 0, "808": -1, "bagpipe": 0,
    "music box": 2, "glockenspiel": 2, "whistle": 1, "bells": 1,
}

_NO_DRUMS = ("no drums", "without drums", "drumless", "no beat", "no percussion",
             "without percussion", "no drum", "without a beat")
_CAN_ACCOMPANY = frozenset({"piano", "electric piano", "organ", "pipe organ", "harpsichord",
                            "guitar", "acoustic guitar", "nylon guitar", "harp", "koto",
                            "accordion", "ukulele", "mandolin", "marimba", "vibraphone",
                            "banjo", "kalimba", "steel drum", "strings"})


def no_drums(text: str) -> bool:
    """Whether the prompt asks for no percussion."""
    return count(text, _NO_DRUMS) > 0


def _named(text: str) -> list[tuple[int, str, str, str]]:
    """(position, timbre, part, word) of every instrument named, in prompt order, one per timbre;
    a word inside a longer matched phrase ("piano" in "electric piano") is not counted again."""
    found: list[tuple[int, str, str, str]] = []
    taken: list[tuple[int, int]] = []
    for words, timbre, part in INSTRUMENT_WORDS:
        for w in sorted(words, key=len, reverse=True):
            start = 0
            while True:
                i = text.find(w, start)
                if i < 0:
                    break
                start = i + 1
                j = i + len(w)
                whole = has(text[max(0, i - 1) : j + 1], w)
                if not whole or any(a <= i < b or a < j <= b for a, b in taken):
                    continue
                taken.append((i, j))
                if all(t != timbre for _, t, _, _ in found):
                    found.append((i, timbre, part, w))
    found.sort()
    return found


def _cued(text: str, word: str) -> tuple[bool, bool]:
    """(leads, alone): whether the prompt makes ``word`` the lead, or the only instrument."""
    alone = any(has(text, p) for p in (f"solo {word}", f"{word} only", f"only {word}",
                                        f"unaccompanied {word}", f"lone {word}"))
    leads = alone or any(has(text, p) for p in (
        f"{word} solo", f"lead {word}", f"{word} lead", f"{word} melody", f"featuring {word}",
        f"featuring a {word}", f"{word} leads", f"{word} leading", f"{word} plays the melody",
        f"{word} carries the melody", f"led by {word}", f"led by a {word}", f"{word}-led"))
    return leads, alone


def apply_instruments(text: str, style: StyleSpec, roles: dict[str, str]) -> dict[str, str]:
    """The band for a normalized prompt: ``roles`` (the style's) changed by named instruments."""
    roles = dict(roles)
    drumless = no_drums(text)
    lead_taken = False
    for _, timbre, part, word in _named(text):
        leads, alone = _cued(text, word)
        if part == "drums":
            if drumless:
                continue
            if timbre == "drums":
                if "drums" not in roles:
                    roles["drums"] = {"chiptune": "noise drums", "jazz": "brush kit",
                                      "swing": "brush kit"}.get(style.name, "light percussion"
                                                                 if not style.drums else "drums")
            else:
                roles["drums"] = timbre
            continue
        if alone:
            roles = {"lead": timbre}
            if timbre in _CAN_ACCOMPANY:
                roles["chords"] = timbre
            if timbre in ("cello", "upright bass", "tuba"):
                roles["bass"] = timbre
            return roles
        if roles.get("lead") == timbre and not alone:
            continue  # already carries the melody
        if leads or (part == "lead" and not lead_taken):
            old = roles.get("lead")
            if old and old != timbre and roles.get("counter", timbre) == timbre:
                roles["counter"] = old  # the style's lead answers the named one
            roles["lead"] = timbre
            lead_taken = True
            if part not in ("lead", "counter") and roles.get(part) and part != "drums":
                continue
        elif part == "lead" or part == "counter":
            roles["counter"] = timbre
        elif part == "bass" and timbre == "bass" and "bass" in roles:
            continue  # "bass" alone keeps the style's own bass sound
        elif part == "chords" and timbre in ("guitar",) and roles.get("chords", "").endswith(
                "guitar"):
            continue  # "guitar" keeps the style's own kind of guitar
        else:
            if part == "chords" and roles.get("lead") and roles.get("lead") == roles.get(
                    "chords") and not lead_taken:
                roles["lead"] = timbre  # a solo-instrument style: the named one plays it all
            roles[part] = timbre
    if drumless:
        roles.pop("drums", None)
    return roles


def leads_named(text: str) -> tuple[str, ...]:
    """Timbres the prompt names, in order (for tests and metadata)."""
    return tuple(t for _, t, _, _ in _named(text))
