"""The sandbox composer's style families, and how a prompt's words pick one.

Each :class:`StyleSpec` says how a family is recognised (``keywords``) and what its band plays
by default: tempo range, metre, drum groove, the instrument of each part, how the chords and
the bass are played, and a one-line ``note`` on what makes it recognisable (shown in the
gallery and the docs).

Picking a style (:func:`pick_style`):

1. every family scores one point per keyword phrase in the prompt (longer phrases are checked
   as whole words, so ``"drum and bass"`` is not ``"bass"``); the best score wins, ties going
   to the family listed first;
2. a prompt naming no family is placed by :data:`FALLBACK`, a documented map from mood,
   setting and instrument words (``"sad"`` -> solo piano, ``"beach"`` -> reggae, ``"violin"`` ->
   string quartet, ...), the first matching entry winning;
3. a prompt with none of those gets one of :data:`NEUTRAL` (broad, prompt-agnostic families) by
   its seed, never a niche one such as metal or a march.
"""

from __future__ import annotations

import functools
import random
import re
from dataclasses import dataclass

__all__ = ["FALLBACK", "GENERIC", "NEUTRAL", "STYLES", "StyleSpec", "count", "has", "pick_style"]

Prog = tuple[tuple[int, ...], ...]

POP_MAJ: Prog = ((0, 4, 5, 3), (0, 5, 3, 4), (5, 3, 0, 4), (0, 3, 4, 4))
POP_MIN: Prog = ((0, 5, 2, 6), (0, 6, 5, 6), (0, 3, 5, 4), (0, 5, 3, 4))
JAZZ_MAJ: Prog = ((1, 4, 0, 5), (0, 5, 1, 4), (2, 5, 1, 4))
JAZZ_MIN: Prog = ((1, 4, 0, 0), (0, 3, 1, 4))
CLASSIC_MAJ: Prog = ((0, 3, 4, 0), (0, 5, 3, 4), (0, 1, 4, 0), (0, 4, 5, 2, 3, 0, 3, 4))
CLASSIC_MIN: Prog = ((0, 3, 4, 0), (0, 5, 3, 4), (0, 6, 5, 4))
BLUES: Prog = ((0, 0, 0, 0, 3, 3, 0, 0, 4, 3, 0, 4),)
ANDALUSIAN: Prog = ((0, 6, 5, 4), (3, 6, 5, 4))
MODAL_MIN: Prog = ((0, 6), (0, 5, 6, 0), (0, 3))
TWO_CHORD: Prog = ((0, 3), (0, 4), (0, 3, 0, 4))


@dataclass(frozen=True)
class StyleSpec:
    """One style family: how it is recognised and what its band plays by default."""

    name: str
    label: str
    keywords: tuple[str, ...]
    tempo: tuple[int, int]
    minor_bias: float  # probability of minor when the prompt names no mood or key
    roles: tuple[tuple[str, str], ...]  # (role, instrument) in mixing order
    drums: str  # groove name (see _rhythm.GROOVES), "" for none
    swing: float = 0.0  # fraction of a 16th the off-beats are delayed by
    progressions_major: Prog = POP_MAJ
    progressions_minor: Prog = POP_MIN
    sevenths: bool = False
    comp: str = "block"  # how the chord instrument plays (see _compose._comp_hits)
    bass: str = "root"  # how the bass plays (see _compose._play_bass)
    melody_density: float = 0.4  # 0..1, share of eighth slots carrying a note
    reverb: float = 0.35
    chord_bars: int = 1  # bars per chord
    metre: str = "4/4"
    textures: tuple[str, ...] = ()
    harmonic_v: bool = False  # minor keys always use the major dominant (flamenco, tango)
    pump: float = 0.0  # sidechain depth on the pads and chords (dance music)
    note: str = ""  # what makes it recognisable


def _s(name: str, label: str, keywords: str, tempo: tuple[int, int], minor: float,
       roles: str, drums: str, note: str, **kw: object) -> StyleSpec:
    """Compact constructor: comma-separated keywords, ``role:instrument`` pairs by ``;``."""
    words = tuple(w.strip() for w in keywords.split(",") if w.strip())
    pairs = tuple(tuple(p.split(":")) for p in roles.split(";"))
    return StyleSpec(name, label, words, tempo, minor, pairs,  # type: ignore[arg-type]
                     drums, note=note, **kw)  # type: ignore[arg-type]


STYLES: dict[str, StyleSpec] = {
    s.name: s
    for s in (
        _s("lofi", "lo-fi hip hop",
           "lofi, lo-fi, lo fi, chillhop, beats to, jazzy beat, chill beat, study beats, "
           "lofi hip hop, lo-fi hip hop",
           (70, 88), 0.5, "pad:pads;chords:electric piano;bass:bass;lead:electric piano;drums:drums",
           "boombap", "Dusty boom-bap at 70-88 bpm, swung hats, jazzy seventh chords on a Rhodes, "
           "vinyl crackle and tape wow.", swing=0.28, progressions_major=JAZZ_MAJ,
           progressions_minor=((0, 5, 3, 4), (3, 6, 0, 0), (0, 3, 6, 2)), sevenths=True,
           melody_density=0.35, textures=("vinyl crackle", "lo-fi")),
        _s("hiphop", "hip hop (boom bap)",
           "hip hop, hiphop, hip-hop, boom bap, boom-bap, rap, rapper, old school, cypher, "
           "freestyle",
           (84, 96), 0.75, "chords:piano;bass:sub bass;lead:strings;drums:drums", "boombap",
           "A hard kick and snare on 2 and 4 at 84-96 bpm under a looped minor piano riff and "
           "a sub bass.", progressions_minor=MODAL_MIN, comp="block", bass="root",
           melody_density=0.3, reverb=0.25),
        _s("trap", "trap",
           "trap, 808, 808s, drill, phonk, trap beat, grime",
           (130, 150), 0.9, "pad:pads;arp:bells;bass:808;lead:bells;drums:808 kit", "trap",
           "Rolling sixteenth hats, a long gliding 808 bass and a dark bell melody, snare on "
           "beat 3 (half-time feel).", progressions_minor=MODAL_MIN, comp="sustain",
           bass="808", melody_density=0.3, reverb=0.35),
        _s("rnb", "R&B / soul",
           "r&b, rnb, r and b, soul, neo soul, neo-soul, motown, slow jam, quiet storm, doo-wop, "
           "doo wop, barbershop, sexy",
           (68, 92), 0.5, "pad:pads;chords:electric piano;bass:bass;lead:saxophone;drums:drums",
           "pop", "Warm Rhodes seventh chords, a round bass and a laid-back, lightly swung "
           "groove.", swing=0.15, progressions_major=JAZZ_MAJ, progressions_minor=JAZZ_MIN,
           sevenths=True, melody_density=0.4),
        _s("funk", "funk",
           "funk, funky, groovy, slap bass, james brown, p-funk",
           (98, 116), 0.4, "chords:guitar;bass:bass;lead:brass;counter:organ;drums:drums", "funk",
           "Syncopated sixteenth-note guitar chanks, a popping octave bass, horn stabs and a "
           "tight backbeat.", progressions_major=((0, 3), (0, 0, 3, 4)),
           progressions_minor=((0, 3), (0, 0, 3, 6)), sevenths=True, comp="chank", bass="funk",
           melody_density=0.45, reverb=0.2),
        _s("disco", "disco / funk-pop",
           "disco, nu disco, nu-disco, studio 54, boogie, roller disco",
           (114, 124), 0.4, "pad:strings;chords:guitar;bass:bass;lead:strings;counter:brass;"
           "drums:drums", "disco",
           "Four-on-the-floor with open hats on the off-beats, octave bass and string swells.",
           sevenths=True, comp="chank", bass="octave", melody_density=0.45),
        _s("pop", "pop",
           "pop, pop song, radio, catchy, chart, top 40, k-pop, kpop, j-pop, dance pop, hyperpop, "
           "city pop, bubblegum, boy band, girl group, anime opening, jingle, commercial, "
           "corporate, podcast intro, birthday, "
           "synthpop, synth pop, electropop",
           (96, 124), 0.3, "pad:pads;chords:piano;bass:synth bass;lead:synth lead;drums:drums",
           "pop", "Four-chord progression, bright synths over piano, a clap on the backbeat "
           "and a hooky lead.", comp="pulse", bass="root", melody_density=0.5),
        _s("indie", "indie pop / rock",
           "indie, indie rock, indie pop, alternative, garage, britpop, jangly, jangle, post-rock, "
           "math rock, dream pop, bedroom pop, "
           "shoegaze, pop rock",
           (104, 130), 0.35, "chords:guitar;bass:bass;lead:lead guitar;drums:drums", "rock",
           "Jangly strummed guitars, driving eighth-note bass and a straight rock backbeat.",
           comp="strum", bass="pulse", melody_density=0.45, reverb=0.3),
        _s("rock", "rock",
           "rock, rock and roll, rock 'n' roll, classic rock, hard rock, power chords, "
           "stadium rock, arena rock, grunge, surf rock, blues rock, southern rock, sports, "
           "stadium",
           (108, 140), 0.45, "chords:guitar;bass:bass;lead:lead guitar;drums:drums", "rock",
           "Overdriven power-chord guitars, a pounding backbeat and a singing lead guitar.",
           comp="power", bass="pulse", melody_density=0.4, reverb=0.25,
           textures=("distortion",)),
        _s("metal", "metal",
           "metal, heavy metal, thrash, death metal, metalcore, djent, doom metal",
           (140, 176), 0.95, "chords:guitar;bass:bass;lead:lead guitar;drums:drums", "metal",
           "Palm-muted, heavily distorted eighth-note riffs in minor, double kick and crashes.",
           progressions_minor=((0, 5, 6, 0), (0, 1, 0, 6)), comp="power", bass="pulse",
           melody_density=0.45, reverb=0.2, textures=("distortion",)),
        _s("punk", "punk",
           "punk, pop punk, pop-punk, hardcore punk, ska punk, emo, skate punk",
           (150, 176), 0.3, "chords:guitar;bass:bass;lead:lead guitar;drums:drums", "punk",
           "Fast, loud downstroked power chords over a relentless snare on 2 and 4.",
           comp="power", bass="pulse", melody_density=0.5, reverb=0.15,
           textures=("distortion",)),
        _s("house", "house / EDM",
           "house, deep house, edm, dance, club, festival, banger, electro house, tech house, "
           "four on the floor, electronic dance, eurodance, uk garage, 2-step, garage house, "
           "tropical house, afro house",
           (120, 128), 0.55, "pad:pads;chords:synth stabs;bass:synth bass;lead:synth lead;"
           "drums:drums", "house",
           "Kick on every beat, clap on 2 and 4, off-beat hats and bass, pumping stabs.",
           sevenths=True, comp="stab", bass="offbeat", melody_density=0.3, reverb=0.4,
           pump=0.55),
        _s("techno", "techno",
           "techno, minimal techno, industrial techno, acid, warehouse, berlin, hard techno, "
           "rave, hardstyle, gabber",
           (126, 136), 0.8, "pad:pads;chords:synth stabs;bass:synth bass;lead:synth;drums:drums",
           "techno", "Relentless four-on-the-floor kick, hypnotic one-chord stabs and an acid "
           "synth line.", progressions_minor=((0,), (0, 0, 5, 6)), comp="stab", bass="offbeat",
           melody_density=0.5, reverb=0.3, chord_bars=2, pump=0.4),
        _s("trance", "trance",
           "trance, uplifting trance, psytrance, psy trance, progressive trance, euphoric",
           (132, 140), 0.7, "pad:supersaw;arp:synth;bass:synth bass;lead:supersaw;drums:drums",
           "trance", "Supersaw pads and gated sixteenth arpeggios over a driving four-on-the-"
           "floor at 132-140.", comp="sustain", bass="offbeat", melody_density=0.4, reverb=0.5,
           pump=0.5),
        _s("dnb", "drum and bass / jungle",
           "drum and bass, drum n bass, drum & bass, drum'n'bass, dnb, d&b, jungle, liquid "
           "dnb, neurofunk, breakbeat",
           (170, 176), 0.75, "pad:pads;bass:reese bass;lead:synth lead;drums:drums", "dnb",
           "Fast two-step breakbeat at 170-176 bpm, snare on 2 and 4 and a rolling reese bass.",
           comp="sustain", bass="sustain", melody_density=0.3, reverb=0.4, chord_bars=2),
        _s("dubstep", "dubstep",
           "dubstep, brostep, riddim, wobble, wub",
           (138, 142), 0.9, "pad:pads;bass:wobble bass;lead:synth lead;drums:drums", "dubstep",
           "Half-time drums with the snare on beat 3 and a wobbling, LFO-gated bass.",
           progressions_minor=MODAL_MIN, comp="sustain", bass="wobble", melody_density=0.25,
           reverb=0.35, chord_bars=2),
        _s("synthwave", "synthwave",
           "synthwave, synth wave, retrowave, outrun, 80s, eighties, neon, vaporwave, "
           "darksynth, night drive",
           (90, 118), 0.7, "pad:pads;arp:synth;bass:synth bass;lead:synth lead;drums:drums",
           "synthwave", "Eighties drum machine with gated snare, octave-bouncing bass, "
           "sixteenth arpeggios and a bright lead.", progressions_major=((0, 4, 5, 3),
                                                                          (5, 3, 0, 4)),
           progressions_minor=((0, 5, 2, 6), (0, 6, 5, 6), (0, 5, 3, 4)), comp="sustain",
           bass="octave", melody_density=0.45, reverb=0.45, pump=0.3),
        _s("ambient", "ambient",
           "ambient, drone, atmospheric, ethereal, soundscape, new age, meditation, "
           "meditative, spa, dark ambient, chillwave, asmr, singing bowl, didgeridoo",
           (60, 80), 0.4, "pad:pads;arp:bells;bass:sub bass;lead:soft synth", "",
           "No drums: long evolving pads, sparse bell tones and lots of reverb.",
           progressions_major=((0, 3), (5, 3), (0, 4, 5, 3)),
           progressions_minor=((0, 5), (0, 3), (0, 5, 3, 6)), sevenths=True, comp="sustain",
           bass="sustain", melody_density=0.18, reverb=0.8, chord_bars=2),
        _s("chiptune", "chiptune",
           "chiptune, chip tune, 8-bit, 8 bit, 8bit, 16-bit, retro game, video game, arcade, nes, "
           "gameboy, "
           "game boy, pixel",
           (130, 160), 0.3, "arp:square arp;bass:triangle bass;lead:square lead;drums:noise drums",
           "chiptune", "Square-wave lead and arpeggios, a triangle bass and noise drums: an "
           "8-bit console.", progressions_major=((0, 4, 5, 3), (0, 5, 3, 4), (0, 3, 4, 0)),
           progressions_minor=((0, 5, 6, 0), (0, 3, 4, 0), (0, 6, 5, 4)), comp="arp",
           bass="octave", melody_density=0.6, reverb=0.1),
        _s("game", "game music (adventure / RPG)",
           "game music, rpg, boss fight, boss battle, level music, overworld, "
           "dungeon, quest, adventure game, jrpg, cartoon, fairy tale, whimsical",
           (108, 136), 0.5, "pad:strings;arp:marimba;bass:pizzicato;lead:flute;counter:harp;"
           "drums:orchestral drums", "cinematic",
           "A light orchestra: marimba and pizzicato ostinato, a flute melody over strings, "
           "timpani and toms.", progressions_major=POP_MAJ, comp="arp", bass="pulse",
           melody_density=0.5, reverb=0.45),
        _s("jazz", "jazz",
           "jazz, jazzy, bebop, smooth jazz, jazz trio, trio, lounge, speakeasy, cocktail, "
           "elevator music, easy listening, "
           "jazz club, cool jazz, hard bop",
           (96, 140), 0.35, "chords:piano;bass:upright bass;lead:vibraphone;drums:brush kit",
           "jazz", "Swung ride cymbal, a walking upright bass, ii-V-I seventh chords on piano.",
           swing=0.6, progressions_major=JAZZ_MAJ, progressions_minor=JAZZ_MIN, sevenths=True,
           comp="charleston", bass="walk", melody_density=0.5),
        _s("swing", "swing / big band",
           "swing, big band, big-band, jump blues, lindy hop, electro swing, charleston, "
           "roaring twenties, 1920s, 1930s, 1940s",
           (128, 160), 0.3, "chords:piano;bass:upright bass;lead:brass;counter:saxophone;"
           "drums:brush kit", "jazz", "Fast swung ride, walking bass, four-to-the-bar piano "
           "comping, a brass melody answered by saxophones.", swing=0.6, progressions_major=JAZZ_MAJ,
           progressions_minor=JAZZ_MIN, sevenths=True, comp="marcato", bass="walk",
           melody_density=0.55, reverb=0.3),
        _s("bossa", "bossa nova / samba",
           "bossa nova, bossa, samba, brazil, brazilian, ipanema, rio, mpb",
           (118, 140), 0.35, "chords:nylon guitar;bass:upright bass;lead:flute;drums:brush kit",
           "bossa", "Syncopated nylon-guitar comping, a root-fifth bass, rim clicks and a soft "
           "flute or sax.", progressions_major=JAZZ_MAJ, progressions_minor=JAZZ_MIN,
           sevenths=True, comp="bossa", bass="twostep", melody_density=0.4, reverb=0.3),
        _s("blues", "blues",
           "blues, bluesy, shuffle, delta blues, chicago blues, twelve bar, 12-bar, 12 bar, "
           "boogie woogie, boogie-woogie",
           (64, 84), 0.2, "chords:guitar;bass:bass;lead:harmonica;counter:piano;drums:drums",
           "shuffle", "A 12-bar I-IV-V in 12/8: shuffled long-short eighths, a boogie bass and "
           "a wailing harmonica or guitar.", progressions_major=BLUES, progressions_minor=BLUES,
           sevenths=True, comp="shuffle", bass="boogie", melody_density=0.35, metre="12/8"),
        _s("gospel", "gospel",
           "gospel, praise, worship, hallelujah, spiritual, sunday service, gospel choir",
           (70, 96), 0.2, "pad:choir;chords:organ;bass:bass;lead:piano;drums:drums", "gospel",
           "Hammond organ and a choir pad in 12/8, handclaps and tambourine on the backbeat.",
           progressions_major=((0, 3, 0, 4), (3, 0, 4, 0), (0, 5, 3, 4)), sevenths=True,
           comp="block", bass="root", melody_density=0.35, metre="12/8", reverb=0.5),
        _s("reggae", "reggae / ska",
           "reggae, dub, ska, rocksteady, roots reggae, dancehall, one drop, jamaica, jamaican, "
           "rastafari",
           (70, 86), 0.45, "chords:guitar;arp:organ;bass:bass;lead:melodica;drums:drums",
           "reggae", "One-drop drums (kick and rim on beat 3), off-beat guitar skanks and a deep, "
           "melodic bass.", progressions_major=((0, 3, 4, 3), (0, 5, 3, 4), (0, 3)),
           progressions_minor=((0, 6, 5, 6), (0, 3, 6, 4), (0, 3)),
           comp="skank", bass="reggae", melody_density=0.45, reverb=0.35),
        _s("latin", "latin / salsa",
           "salsa, latin, mambo, cha cha, cha-cha, rumba, son cubano, cuban, cuba, havana, mariachi, "
           "mexican, mexico, reggaeton, "
           "merengue, cumbia, bachata",
           (92, 108), 0.55, "chords:piano;bass:bass;lead:trumpet;counter:brass;"
           "drums:hand drums", "salsa", "Son clave, congas and cowbell, a syncopated piano "
           "montuno and tumbao bass, trumpet lines.", progressions_major=((0, 3, 4, 3),
                                                                           (0, 4, 4, 0)),
           progressions_minor=((0, 3, 4, 0), (0, 6, 5, 4)), harmonic_v=True, comp="montuno",
           bass="tumbao", melody_density=0.45, reverb=0.25),
        _s("flamenco", "flamenco / spanish guitar",
           "flamenco, spanish guitar, andalusian, sevillanas, rumba flamenca, spain, spanish, "
           "gipsy kings, bulerias",
           (100, 126), 0.95, "chords:nylon guitar;bass:bass;lead:nylon guitar;drums:hand drums",
           "flamenco", "The Andalusian cadence (i-VII-VI-V) on nylon guitar, rasgueado strums "
           "and palmas (hand claps) in 3/4.", progressions_minor=ANDALUSIAN,
           progressions_major=ANDALUSIAN, harmonic_v=True, comp="rasgueado", bass="root",
           melody_density=0.55, metre="3/4", reverb=0.3),
        _s("tango", "tango",
           "tango, argentine, argentina, buenos aires, milonga, bandoneon, piazzolla",
           (112, 126), 0.9, "chords:piano;bass:bass;lead:accordion;counter:violin;drums:drums",
           "tango", "Marcato chords on all four beats, the bandoneon (accordion) melody, a "
           "violin answer.", progressions_minor=((0, 4, 4, 0), (0, 3, 4, 0)), harmonic_v=True,
           comp="marcato", bass="marcato", melody_density=0.45, reverb=0.3),
        _s("afrobeat", "afrobeat / afro",
           "afrobeat, afrobeats, afro, afropop, highlife, fela, african, africa, amapiano, "
           "kalimba",
           (100, 116), 0.4, "chords:guitar;arp:kalimba;bass:bass;lead:brass;drums:hand drums",
           "afro", "Interlocking guitar and kalimba figures, congas and shaker, a syncopated "
           "bass and horn lines.", progressions_major=TWO_CHORD, progressions_minor=MODAL_MIN,
           comp="chank", bass="funk", melody_density=0.45, reverb=0.25),
        _s("caribbean", "calypso / steel band",
           "calypso, steel drum, steel drums, steelpan, steel pan, caribbean, tropical, "
           "soca, trinidad",
           (100, 120), 0.15, "chords:acoustic guitar;bass:bass;lead:steel drum;drums:hand drums",
           "afro", "Bright steel-drum melody, strummed guitar, congas: sunny, major and bouncy.",
           progressions_major=((0, 4, 0, 4), (0, 3, 4, 0)), comp="skank", bass="twostep",
           melody_density=0.5, reverb=0.3),
        _s("indian", "indian / bollywood",
           "indian, india, bollywood, raga, sitar, tabla, hindustani, carnatic, bhangra, desi, "
           "qawwali",
           (88, 112), 0.5, "pad:drone;bass:sub bass;lead:sitar;counter:flute;drums:tabla",
           "tabla", "A sitar melody over a tanpura-like drone and tabla rhythms.",
           progressions_major=((0,), (0, 6)), progressions_minor=((0,), (0, 6)), comp="sustain",
           bass="sustain", melody_density=0.55, reverb=0.35, chord_bars=2),
        _s("middle_eastern", "middle eastern",
           "middle eastern, arabic, arabian, oud, persian, turkish, desert, belly dance, klezmer, "
           "greek, "
           "egyptian, bazaar",
           (90, 112), 0.85, "pad:drone;bass:sub bass;lead:oud;counter:flute;drums:hand drums",
           "tabla", "An oud melody with a raised leading tone over a drone and darbuka-like "
           "hand drums.", progressions_minor=((0, 1, 0, 4), (0, 6, 5, 4)), harmonic_v=True,
           comp="sustain", bass="sustain", melody_density=0.55, reverb=0.35),
        _s("asian", "east asian",
           "japanese, japan, koto, shamisen, chinese, china, guzheng, zen, erhu, shakuhachi, "
           "gamelan, chinese new year, k-drama",
           (70, 96), 0.5, "pad:pads;chords:koto;lead:flute;drums:light percussion", "light",
           "Plucked koto arpeggios and a breathy bamboo flute, sparse and spacious.",
           progressions_major=((0, 5, 3, 4), (0, 1, 0, 5)), comp="arp", bass="",
           melody_density=0.35, reverb=0.55),
        _s("celtic", "celtic / irish",
           "celtic, irish, scottish, jig, reel, tin whistle, bagpipe, bagpipes, tavern, pub, "
           "medieval, highlands, bodhran, sea shanty, shanty, pirate, pirates",
           (100, 120), 0.3, "chords:acoustic guitar;bass:bass;lead:fiddle;counter:whistle;"
           "drums:hand drums", "celtic", "A jig in 6/8: fiddle and tin whistle over strummed "
           "guitar and a bodhran-like frame drum.", progressions_major=((0, 6, 0, 4),
                                                                         (0, 3, 0, 4)),
           progressions_minor=((0, 6, 5, 6), (0, 6, 0, 4)), comp="strum", bass="root",
           melody_density=0.7, metre="6/8"),
        _s("country", "country",
           "country, honky tonk, honky-tonk, nashville, western, cowboy, americana, zydeco, "
           "spaghetti western, "
           "country rock, line dance, pedal steel",
           (96, 124), 0.15, "chords:acoustic guitar;bass:bass;lead:fiddle;counter:steel guitar;"
           "drums:drums", "country", "Train-beat snare, boom-chick root-fifth bass, strummed "
           "acoustic and a fiddle or pedal steel.", progressions_major=((0, 3, 4, 0),
                                                                        (0, 0, 3, 4)),
           comp="strum", bass="twostep", melody_density=0.45, reverb=0.25),
        _s("bluegrass", "bluegrass",
           "bluegrass, banjo, appalachian, mountain music, hoedown, square dance, fiddle tune, "
           "old-time",
           (120, 150), 0.1, "chords:mandolin;arp:banjo;bass:upright bass;lead:fiddle", "",
           "Rolling banjo picking, mandolin chop on the off-beats, a fiddle tune over a "
           "root-fifth upright bass.", progressions_major=((0, 3, 0, 4), (0, 0, 4, 0)),
           comp="chop", bass="twostep", melody_density=0.6, reverb=0.2),
        _s("folk", "folk / acoustic",
           "folk, acoustic, campfire, singer-songwriter, unplugged, fingerpicking, pastoral, "
           "rustic, ballad, folk song, fado, portuguese, sea song",
           (84, 112), 0.25, "chords:acoustic guitar;bass:bass;lead:flute;drums:light percussion",
           "folk", "Fingerpicked acoustic guitar, a simple flute or voice tune, shaker and "
           "light kick.", progressions_major=((0, 3, 0, 4), (0, 4, 5, 3), (0, 3, 4, 0)),
           progressions_minor=((0, 6, 5, 6), (0, 3, 4, 0)), comp="arp", bass="root",
           melody_density=0.4, reverb=0.3),
        _s("piano", "solo piano / classical",
           "classical, solo piano, sonata, nocturne, etude, prelude, chopin, satie, debussy, "
           "mozart, beethoven, romantic, impromptu",
           (66, 96), 0.45, "chords:piano;lead:piano", "",
           "A solo piano: broken-chord left hand, a singing right-hand melody, rubato-free "
           "cadences.", progressions_major=CLASSIC_MAJ, progressions_minor=CLASSIC_MIN,
           comp="arp", bass="", melody_density=0.4, reverb=0.5, harmonic_v=True),
        _s("chamber", "string quartet / chamber",
           "string quartet, quartet, chamber, chamber music, string trio, strings only, "
           "string ensemble, haydn, schubert",
           (72, 108), 0.45, "chords:viola;bass:cello;lead:violin;counter:violin", "",
           "Four bowed voices: violin melody, second violin and viola inner parts, a cello "
           "bass line.", progressions_major=CLASSIC_MAJ, progressions_minor=CLASSIC_MIN,
           comp="bowed", bass="bowed", melody_density=0.45, reverb=0.45, harmonic_v=True),
        _s("baroque", "baroque / early music",
           "baroque, harpsichord, bach, vivaldi, handel, minuet, fugue, "
           "renaissance, early music, courtly, continuo",
           (84, 116), 0.4, "chords:harpsichord;bass:cello;lead:violin", "",
           "Harpsichord continuo in running sixteenths, a cello bass and a violin line; "
           "circle-of-fifths harmony.", progressions_major=((0, 3, 6, 2, 5, 1, 4, 0),
                                                             (0, 4, 5, 2, 3, 0, 3, 4)),
           progressions_minor=((0, 3, 6, 2, 5, 1, 4, 0), (0, 5, 3, 4)), comp="alberti",
           bass="walk", melody_density=0.6, reverb=0.35, harmonic_v=True),
        _s("cinematic", "orchestral / cinematic",
           "orchestral, orchestra, cinematic, film score, soundtrack, symphonic, score, "
           "fantasy, heroic, movie, film music, symphony",
           (70, 100), 0.7, "pad:strings;arp:strings;bass:low strings;lead:brass;counter:flute;"
           "drums:orchestral drums", "cinematic",
           "Strings ostinato, brass melody doubled by flutes, timpani and toms.",
           progressions_major=((0, 4, 5, 3), (3, 0, 4, 5)),
           progressions_minor=((0, 5, 2, 6), (0, 3, 5, 4), (5, 3, 0, 4)), comp="arp",
           bass="sustain", melody_density=0.3, reverb=0.6),
        _s("trailer", "epic trailer",
           "trailer, epic, epic trailer, battle, war, hybrid, blockbuster, taiko, action, "
           "apocalyptic, horror, halloween, spooky, suspense",
           (84, 100), 0.95, "pad:choir;arp:strings;bass:low strings;lead:brass;"
           "drums:orchestral drums", "trailer",
           "Taiko and timpani hits, a low brass theme, a choir pad and a build to the end.",
           progressions_minor=((0, 5, 2, 6), (0, 5, 3, 4)), comp="ostinato", bass="pulse",
           melody_density=0.25, reverb=0.6),
        _s("waltz", "waltz",
           "waltz, valse, ballroom, vienna, viennese, three-four, 3/4 time, musette, paris, "
           "french cafe, carousel, chanson",
           (132, 168), 0.3, "chords:piano;bass:cello;lead:violin;pad:strings;drums:light percussion",
           "waltz", "Oom-pah-pah in 3/4: a bass note on one, chords on two and three, a "
           "lilting violin.", progressions_major=CLASSIC_MAJ, progressions_minor=CLASSIC_MIN,
           comp="waltz", bass="waltz", melody_density=0.35, metre="3/4", reverb=0.45,
           harmonic_v=True),
        _s("choral", "choral / sacred",
           "choral, choir, chant, hymn, sacred, cathedral, requiem, mass, a cappella, "
           "gregorian, pipe organ, opera, operatic, funeral, carol, carols, christmas carol",
           (60, 80), 0.4, "pad:choir;chords:pipe organ;bass:pipe organ;lead:choir", "",
           "A choir on long vowels over a pipe organ, hymn-like cadences and a big hall reverb.",
           progressions_major=CLASSIC_MAJ, progressions_minor=CLASSIC_MIN, comp="sustain",
           bass="sustain", melody_density=0.25, reverb=0.9, harmonic_v=True),
        _s("lullaby", "lullaby",
           "lullaby, berceuse, cradle song, nursery, bedtime, goodnight, music box, baby",
           (48, 60), 0.1, "pad:soft synth;chords:harp;lead:music box", "",
           "A soft music box over harp arpeggios in a rocking 6/8, no drums, slow and quiet.",
           progressions_major=((0, 3, 0, 4), (0, 4, 3, 0)), comp="arp", bass="",
           melody_density=0.35, metre="6/8", reverb=0.6),
        _s("march", "march / marching band",
           "march, marching, marching band, military, parade, brass band, sousa, drum corps, "
           "fanfare, polka, circus, national anthem, oompah",
           (108, 124), 0.15, "chords:brass;bass:tuba;lead:trumpet;counter:glockenspiel;"
           "drums:marching", "march",
           "Snare drum rudiments, tuba on the beats, brass chords off the beat and a trumpet "
           "tune.", progressions_major=((0, 4, 4, 0), (0, 3, 4, 0)), comp="oompah",
           bass="march", melody_density=0.5, reverb=0.3),
    )
}

#: Words that place a prompt naming no style family, checked in order (first match wins):
#: instruments first (they say most about the sound), then settings, then moods.
FALLBACK: tuple[tuple[tuple[str, ...], str], ...] = (
    (("violin", "violins", "cello", "cellos", "viola", "string", "strings", "violinist",
      "cellist"), "chamber"),
    (("organ",), "choral"),
    (("saxophone", "sax", "trumpet", "upright bass", "double bass", "vibraphone", "vibes"), "jazz"),
    (("harmonica",), "blues"),
    (("fiddle", "mandolin"), "bluegrass"),
    (("accordion",), "tango"),
    (("ukulele", "marimba"), "caribbean"),
    (("harp", "celesta", "glockenspiel"), "lullaby"),
    (("choir", "voices"), "choral"),
    (("brass", "horns", "tuba", "trombone"), "march"),
    (("synth", "synths", "synthesizer", "arpeggiator"), "synthwave"),
    (("electric guitar", "distortion", "distorted", "riff", "riffs"), "rock"),
    (("guitar", "guitars", "acoustic guitar", "flute", "whistle"), "folk"),
    (("piano", "keys"), "piano"),
    (("beat", "beats", "drums", "drum machine"), "hiphop"),
    (("bass", "bassline"), "funk"),
    # Settings and uses.
    (("study", "studying", "focus", "homework", "coffee", "cafe", "rainy", "rain"), "lofi"),
    (("sleep", "sleepy", "bedtime", "baby", "child", "children", "kids", "cradle"), "lullaby"),
    (("beach", "island", "summer vibes", "sunshine", "palm"), "reggae"),
    (("space", "galaxy", "stars", "ocean", "underwater", "forest", "nature", "yoga", "zen",
      "calm", "relaxing", "peaceful", "floating", "dreamy"), "ambient"),
    (("city", "neon", "drive", "driving at night", "cyberpunk", "future", "futuristic"),
     "synthwave"),
    (("party", "workout", "gym", "running", "dancing", "dancefloor"), "house"),
    (("wedding", "elegant", "castle", "royal", "ballroom"), "waltz"),
    (("game", "gaming", "level", "quest", "retro"), "chiptune"),
    (("horror", "suspense", "tension", "tense", "thriller", "ominous", "war", "victory"),
     "trailer"),
    (("film", "scene", "hero", "journey", "fantasy", "kingdom", "dragon", "story"), "cinematic"),
    (("road trip", "farm", "prairie", "ranch", "truck"), "country"),
    (("christmas", "holiday", "celebration", "festive", "church"), "gospel"),
    (("smooth", "sexy", "love", "romance", "romantic", "late night"), "rnb"),
    # Moods.
    (("sad", "melancholic", "melancholy", "lonely", "nostalgic", "reflective", "thoughtful",
      "gentle", "tender"), "piano"),
    (("angry", "aggressive", "rage", "brutal"), "metal"),
    (("groovy", "funky"), "funk"),
    (("happy", "cheerful", "uplifting", "sunny", "bright", "fun", "playful"), "pop"),
    (("energetic", "hype", "intense", "powerful"), "rock"),
    (("dark", "mysterious", "eerie", "haunting"), "ambient"),
    (("chill", "mellow", "laid back", "laid-back", "cozy", "warm"), "lofi"),
)

#: Broad families a prompt with no recognisable word is spread over (by its seed).
NEUTRAL = ("pop", "piano", "ambient", "lofi", "folk", "cinematic", "indie")


@functools.lru_cache(maxsize=4096)
def _pattern(phrase: str) -> re.Pattern[str]:
    # More phrases than the re module's own cache holds: compile each once.
    return re.compile(r"(?<![a-z0-9])" + re.escape(phrase) + r"(?![a-z0-9])")


def has(text: str, phrase: str) -> bool:
    """Whether ``phrase`` occurs in ``text`` as whole words."""
    return phrase in text and _pattern(phrase).search(text) is not None


def count(text: str, phrases: tuple[str, ...]) -> int:
    """How many of ``phrases`` occur in ``text`` as whole words."""
    return sum(1 for p in phrases if has(text, p))


def pick_style(text: str, rng: random.Random) -> StyleSpec:
    """The style family of a normalized prompt (see the module docstring for the rules)."""
    scores = {name: _score(text, spec) for name, spec in STYLES.items()}
    best = max(scores.values())
    if best > 0:
        return STYLES[next(name for name, v in scores.items() if v == best)]
    for words, name in FALLBACK:
        if count(text, words):
            return STYLES[name]
    return STYLES[rng.choice(NEUTRAL)]


#: Keywords that hint at a family but are often used loosely ("a dance number", "epic"):
#: they count half, so a specific word elsewhere in the prompt wins.
GENERIC = frozenset({"dance", "club", "festival", "pop", "radio", "catchy", "chart", "acoustic",
                     "ballad", "epic", "score", "trio", "quartet", "spiritual", "western",
                     "latin", "drone", "acid", "rap", "tropical", "spanish", "retro game",
                     "arcade", "pixel", "movie", "action", "war", "romantic", "euphoric",
                     "groovy", "chamber", "wobble", "boogie", "africa", "japan", "spain",
                     "india", "desert", "baby", "nursery", "military", "parade", "hybrid"})


def _score(text: str, spec: StyleSpec) -> float:
    # A longer phrase is a more specific claim: "deep house" beats "house" beats "dance".
    return sum((0.5 if k in GENERIC else 1.0) + 0.1 * len(k.split())
               for k in spec.keywords if has(text, k))
