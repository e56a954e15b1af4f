"""The Unicode bidirectional algorithm (UAX #9) for one line, mirroring included.

Why our own: the kiosk used python-bidi 0.6 (`get_display`), which reorders
well but skips rule L4, mirroring: a "(" resolved to a right-to-left level
must be drawn as ")", so "عمليات الفحص (3)" showed ")3( صحفلا تايلمع".
It exposes neither the resolved levels nor the order it chose, so the
brackets cannot be fixed afterwards, and swapping them before reordering
changes how rule N0 pairs them. Its older pure-Python algorithm mirrors but
knows no isolates (FSI ... PDI), which the kiosk puts around phone numbers
and codes. So this module resolves the levels itself (rules X1-X10, W1-W7,
N0-N2, I1-I2, L1), reorders (L2) and mirrors (L4). It passes Unicode's own
conformance test, BidiCharacterTest.txt (tests/ui/test_bidi_order.py).

Types are the bidi classes of Python's `unicodedata`; the mirror pairs are
Unicode's BidiMirroring.txt (python-bidi's table lacks 66 of its entries).
"""

from __future__ import annotations

import re
import unicodedata

# BidiMirroring.txt (15.0) as pairs; every entry there is mutual.
_MIRROR_PAIRS = (
    "0028-0029 003C-003E 005B-005D 007B-007D 00AB-00BB 0F3A-0F3B 0F3C-0F3D 169B-169C "
    "2039-203A 2045-2046 207D-207E 208D-208E 2208-220B 2209-220C 220A-220D 2215-29F5 "
    "221F-2BFE 2220-29A3 2221-299B 2222-29A0 2224-2AEE 223C-223D 2243-22CD 2245-224C "
    "2252-2253 2254-2255 2264-2265 2266-2267 2268-2269 226A-226B 226E-226F 2270-2271 "
    "2272-2273 2274-2275 2276-2277 2278-2279 227A-227B 227C-227D 227E-227F 2280-2281 "
    "2282-2283 2284-2285 2286-2287 2288-2289 228A-228B 228F-2290 2291-2292 2298-29B8 "
    "22A2-22A3 22A6-2ADE 22A8-2AE4 22A9-2AE3 22AB-2AE5 22B0-22B1 22B2-22B3 22B4-22B5 "
    "22B6-22B7 22B8-27DC 22C9-22CA 22CB-22CC 22D0-22D1 22D6-22D7 22D8-22D9 22DA-22DB "
    "22DC-22DD 22DE-22DF 22E0-22E1 22E2-22E3 22E4-22E5 22E6-22E7 22E8-22E9 22EA-22EB "
    "22EC-22ED 22F0-22F1 22F2-22FA 22F3-22FB 22F4-22FC 22F6-22FD 22F7-22FE 2308-2309 "
    "230A-230B 2329-232A 2768-2769 276A-276B 276C-276D 276E-276F 2770-2771 2772-2773 "
    "2774-2775 27C3-27C4 27C5-27C6 27C8-27C9 27CB-27CD 27D5-27D6 27DD-27DE 27E2-27E3 "
    "27E4-27E5 27E6-27E7 27E8-27E9 27EA-27EB 27EC-27ED 27EE-27EF 2983-2984 2985-2986 "
    "2987-2988 2989-298A 298B-298C 298D-2990 298E-298F 2991-2992 2993-2994 2995-2996 "
    "2997-2998 29A4-29A5 29A8-29A9 29AA-29AB 29AC-29AD 29AE-29AF 29C0-29C1 29C4-29C5 "
    "29CF-29D0 29D1-29D2 29D4-29D5 29D8-29D9 29DA-29DB 29E8-29E9 29F8-29F9 29FC-29FD "
    "2A2B-2A2C 2A2D-2A2E 2A34-2A35 2A3C-2A3D 2A64-2A65 2A79-2A7A 2A7B-2A7C 2A7D-2A7E "
    "2A7F-2A80 2A81-2A82 2A83-2A84 2A85-2A86 2A87-2A88 2A89-2A8A 2A8B-2A8C 2A8D-2A8E "
    "2A8F-2A90 2A91-2A92 2A93-2A94 2A95-2A96 2A97-2A98 2A99-2A9A 2A9B-2A9C 2A9D-2A9E "
    "2A9F-2AA0 2AA1-2AA2 2AA6-2AA7 2AA8-2AA9 2AAA-2AAB 2AAC-2AAD 2AAF-2AB0 2AB1-2AB2 "
    "2AB3-2AB4 2AB5-2AB6 2AB7-2AB8 2AB9-2ABA 2ABB-2ABC 2ABD-2ABE 2ABF-2AC0 2AC1-2AC2 "
    "2AC3-2AC4 2AC5-2AC6 2AC7-2AC8 2AC9-2ACA 2ACB-2ACC 2ACD-2ACE 2ACF-2AD0 2AD1-2AD2 "
    "2AD3-2AD4 2AD5-2AD6 2AEC-2AED 2AF7-2AF8 2AF9-2AFA 2E02-2E03 2E04-2E05 2E09-2E0A "
    "2E0C-2E0D 2E1C-2E1D 2E20-2E21 2E22-2E23 2E24-2E25 2E26-2E27 2E28-2E29 2E55-2E56 "
    "2E57-2E58 2E59-2E5A 2E5B-2E5C 3008-3009 300A-300B 300C-300D 300E-300F 3010-3011 "
    "3014-3015 3016-3017 3018-3019 301A-301B FE59-FE5A FE5B-FE5C FE5D-FE5E FE64-FE65 "
    "FF08-FF09 FF1C-FF1E FF3B-FF3D FF5B-FF5D FF5F-FF60 FF62-FF63 "
)
MIRROR: dict[str, str] = {}
for _pair in "".join(_MIRROR_PAIRS).split():
    _a, _b = (chr(int(half, 16)) for half in _pair.split("-"))
    MIRROR[_a], MIRROR[_b] = _b, _a

MAX_DEPTH = 125  # BD2
MAX_OPEN_BRACKETS = 63  # BD16
ISOLATE_INITIATORS = frozenset({"LRI", "RLI", "FSI"})
ISOLATE_CONTROLS = ISOLATE_INITIATORS | {"PDI"}
EMBEDDINGS = frozenset({"LRE", "RLE", "LRO", "RLO"})
REMOVED = EMBEDDINGS | {"PDF", "BN"}  # X9: take no part in rules W1-I2
NEUTRALS = frozenset({"B", "S", "WS", "ON"}) | ISOLATE_CONTROLS  # "NI" in N1


def bidi_class(char: str) -> str:
    return unicodedata.bidirectional(char) or "L"


def paired_bracket(char: str) -> str | None:
    """Bidi_Paired_Bracket: the opening and closing punctuation that has a
    mirror glyph (which is what BidiBrackets.txt lists)."""
    if unicodedata.category(char) in ("Ps", "Pe"):
        return MIRROR.get(char)
    return None


def _direction(level: int) -> str:
    return "R" if level % 2 else "L"


def _strong(kind: str) -> str | None:
    """Strong direction as rules N0 and N1 see it: numbers count as R."""
    return "L" if kind == "L" else "R" if kind in ("R", "AL", "EN", "AN") else None


def first_strong_level(types: list[str], start: int = 0, stop: int | None = None) -> int | None:
    """Rules P2-P3: 1 if the first strong character (outside isolates) is
    right to left, 0 if left to right, None if there is none."""
    depth = 0
    for kind in types[start:stop]:
        if kind in ISOLATE_INITIATORS:
            depth += 1
        elif kind == "PDI":
            depth = max(0, depth - 1)
        elif depth == 0 and kind == "L":
            return 0
        elif depth == 0 and kind in ("R", "AL"):
            return 1
    return None


def _matching_pdis(types: list[str]) -> dict[int, int]:
    """BD9: the PDI that closes each isolate initiator."""
    matches, open_isolates = {}, []
    for index, kind in enumerate(types):
        if kind in ISOLATE_INITIATORS:
            open_isolates.append(index)
        elif kind == "PDI" and open_isolates:
            matches[open_isolates.pop()] = index
    return matches


def _explicit_levels(types: list[str], base: int, matches: dict[int, int]) -> list[int]:
    """Rules X1-X8; applies directional overrides to `types` in place."""
    levels = [base] * len(types)
    stack = [(base, None, False)]  # (level, override, isolate)
    overflow_isolates = overflow_embeddings = valid_isolates = 0
    for index, kind in enumerate(types):
        level, override, _ = stack[-1]
        levels[index] = level
        if kind in EMBEDDINGS or kind in ISOLATE_INITIATORS:
            isolate = kind in ISOLATE_INITIATORS
            if isolate and override:
                types[index] = override
            if kind == "FSI":
                rtl = first_strong_level(types, index + 1, matches.get(index)) == 1
            else:
                rtl = kind[0] == "R"
            new_level = (level + 1) | 1 if rtl else (level + 2) & ~1
            if new_level <= MAX_DEPTH and not overflow_isolates and not overflow_embeddings:
                valid_isolates += isolate
                new_override = _direction(new_level) if kind.endswith("O") else None
                stack.append((new_level, new_override, isolate))
            elif isolate:
                overflow_isolates += 1
            elif not overflow_isolates:
                overflow_embeddings += 1
        elif kind == "PDI":
            if overflow_isolates:
                overflow_isolates -= 1
            elif valid_isolates:
                overflow_embeddings = 0
                while not stack[-1][2]:
                    stack.pop()
                stack.pop()
                valid_isolates -= 1
            levels[index], override, _ = stack[-1]
            if override:
                types[index] = override
        elif kind == "PDF":
            if overflow_isolates:
                pass
            elif overflow_embeddings:
                overflow_embeddings -= 1
            elif not stack[-1][2] and len(stack) > 1:
                stack.pop()
        elif kind == "B":
            levels[index] = base
        elif override and kind != "BN":
            types[index] = override
    return levels


def _isolating_run_sequences(classes: list[str], levels: list[int],
                             matches: dict[int, int]) -> list[list[int]]:
    """BD13/X10: level runs, chained from an isolate initiator to its PDI."""
    runs: list[list[int]] = []
    for index, kind in enumerate(classes):
        if kind in REMOVED:
            continue
        if runs and levels[runs[-1][-1]] == levels[index]:
            runs[-1].append(index)
        else:
            runs.append([index])
    run_at = {run[0]: run for run in runs}
    sequences, chained = [], set()
    for run in runs:
        if run[0] in chained:
            continue
        sequence = list(run)
        while classes[sequence[-1]] in ISOLATE_INITIATORS and matches.get(sequence[-1]) in run_at:
            chained.add(matches[sequence[-1]])
            sequence += run_at[matches[sequence[-1]]]
        sequences.append(sequence)
    return sequences


def _weak_types(seq: list[int], types: list[str], classes: list[str], sos: str) -> None:
    """Rules W1-W7 on one isolating run sequence."""
    kinds = [types[i] for i in seq]
    for k, kind in enumerate(kinds):  # W1
        if kind == "NSM":
            before = classes[seq[k - 1]] if k else None
            kinds[k] = sos if k == 0 else "ON" if before in ISOLATE_CONTROLS else kinds[k - 1]
    last_strong = sos
    for k, kind in enumerate(kinds):  # W2, W3
        if kind in ("L", "R", "AL"):
            last_strong = kind
        elif kind == "EN" and last_strong == "AL":
            kinds[k] = "AN"
    kinds = ["R" if kind == "AL" else kind for kind in kinds]
    for k in range(1, len(kinds) - 1):  # W4
        before, after = kinds[k - 1], kinds[k + 1]
        if before == after and (kinds[k], before) in {("ES", "EN"), ("CS", "EN"), ("CS", "AN")}:
            kinds[k] = before
    k = 0
    while k < len(kinds):  # W5
        end = k
        while end < len(kinds) and kinds[end] == "ET":
            end += 1
        if end > k and ((k and kinds[k - 1] == "EN") or (end < len(kinds) and kinds[end] == "EN")):
            kinds[k:end] = ["EN"] * (end - k)
        k = max(end, k + 1)
    kinds = ["ON" if kind in ("ES", "ET", "CS") else kind for kind in kinds]  # W6
    last_strong = sos
    for k, kind in enumerate(kinds):  # W7
        if kind in ("L", "R"):
            last_strong = kind
        elif kind == "EN" and last_strong == "L":
            kinds[k] = "L"
    for i, kind in zip(seq, kinds):
        types[i] = kind


def _bracket_pairs(seq: list[int], types: list[str], text: str) -> list[tuple[int, int]]:
    """BD16: positions in `seq` of paired brackets, sorted by the opening one.
    U+2329/232A pair with their canonical equivalents U+3008/3009."""
    open_brackets: list[tuple[str, int]] = []
    pairs = []
    for k, i in enumerate(seq):
        mate = paired_bracket(text[i]) if types[i] == "ON" else None
        if mate is None:
            continue
        if unicodedata.category(text[i]) == "Ps":
            if len(open_brackets) == MAX_OPEN_BRACKETS:
                break
            open_brackets.append((unicodedata.normalize("NFD", mate), k))
            continue
        closing = unicodedata.normalize("NFD", text[i])
        for depth in range(len(open_brackets) - 1, -1, -1):
            if open_brackets[depth][0] == closing:
                pairs.append((open_brackets[depth][1], k))
                del open_brackets[depth:]
                break
    return sorted(pairs)


def _paired_brackets(seq: list[int], types: list[str], classes: list[str],
                     text: str, embedding: str, sos: str) -> None:
    """Rule N0: a bracket pair takes the embedding direction if its content
    has a strong character of that direction, else the opposite direction
    if its content and the text before it agree on that."""
    for opening, closing in _bracket_pairs(seq, types, text):
        inside = {_strong(types[seq[k]]) for k in range(opening + 1, closing)} - {None}
        if not inside:
            continue
        direction = embedding
        if embedding not in inside:
            before = (_strong(types[seq[k]]) for k in range(opening - 1, -1, -1))
            direction = next((d for d in before if d), sos)
        for k in (opening, closing):
            types[seq[k]] = direction
            k += 1
            while k < len(seq) and classes[seq[k]] == "NSM":
                types[seq[k]] = direction
                k += 1


def _neutral_types(seq: list[int], types: list[str], embedding: str, sos: str, eos: str) -> None:
    """Rules N1-N2: neutrals between two of one direction take it, others
    the embedding direction."""
    k = 0
    while k < len(seq):
        if types[seq[k]] not in NEUTRALS:
            k += 1
            continue
        end = k
        while end < len(seq) and types[seq[end]] in NEUTRALS:
            end += 1
        before = _strong(types[seq[k - 1]]) if k else sos
        after = _strong(types[seq[end]]) if end < len(seq) else eos
        for i in seq[k:end]:
            types[i] = before if before == after else embedding
        k = end


def _paragraph_levels(text: str, base: int | None) -> list[int]:
    """The resolved level of each character of one paragraph (rules P2-L1)."""
    classes = [bidi_class(char) for char in text]
    types = list(classes)
    matches = _matching_pdis(classes)
    if base is None:
        base = first_strong_level(classes) or 0
    explicit = _explicit_levels(types, base, matches)
    levels = list(explicit)  # resolved below; sos and eos compare explicit levels
    kept = [i for i, kind in enumerate(classes) if kind not in REMOVED]
    position = {i: k for k, i in enumerate(kept)}
    for seq in _isolating_run_sequences(classes, levels, matches):
        level = explicit[seq[0]]  # one level for the whole sequence
        before, after = position[seq[0]] - 1, position[seq[-1]] + 1
        sos = _direction(max(level, explicit[kept[before]] if before >= 0 else base))
        next_level = base
        if after < len(kept) and classes[seq[-1]] not in ISOLATE_INITIATORS:
            next_level = explicit[kept[after]]
        eos = _direction(max(level, next_level))
        _weak_types(seq, types, classes, sos)
        _paired_brackets(seq, types, classes, text, _direction(level), sos)
        _neutral_types(seq, types, _direction(level), sos, eos)
        for i in seq:  # I1, I2
            if level % 2 == 0:
                levels[i] += {"R": 1, "AN": 2, "EN": 2}.get(types[i], 0)
            elif types[i] in ("L", "EN", "AN"):
                levels[i] += 1
    previous = base
    for i, kind in enumerate(classes):  # removed characters go with the one before
        if kind in REMOVED:
            levels[i] = previous
        previous = levels[i]
    trailing = True  # L1: separators and the whitespace before them (or at the end)
    for i in range(len(text) - 1, -1, -1):
        if classes[i] in ("B", "S"):
            levels[i], trailing = base, True
        elif classes[i] in ("WS", *ISOLATE_CONTROLS, *REMOVED):
            if trailing:
                levels[i] = base
        else:
            trailing = False
    return levels


def _paragraphs(text: str) -> list[str]:
    """The text cut after each paragraph separator (rule P1)."""
    return re.findall(r"[^\n\r\x1c-\x1e\x85\u2029]*(?:\r\n|[\n\r\x1c-\x1e\x85\u2029])?", text)[:-1] or [text]


def resolved_levels(text: str, base: int | None = 1) -> list[int]:
    """The embedding level of each character: even left to right, odd right
    to left. `base` is the paragraph level, None to take it from the first
    strong character."""
    return [level for paragraph in _paragraphs(text) for level in _paragraph_levels(paragraph, base)]


def visual_order(levels: list[int]) -> list[int]:
    """Rule L2: indices in display order, left to right. From the highest level
    down to the lowest odd one, every run at that level or above is reversed."""
    order = list(range(len(levels)))
    odd = [level for level in levels if level % 2]
    for level in range(max(levels, default=0), min(odd, default=1) - 1, -1):
        k = 0
        while k < len(order):
            end = k
            while end < len(order) and levels[order[end]] >= level:
                end += 1
            order[k:end] = reversed(order[k:end])
            k = max(end, k + 1)
    return order


def display(text: str, base: int | None = 1) -> str:
    """`text` in display order, each paragraph one line, with rule L4: a
    character with the Bidi_Mirrored property at an odd (right-to-left)
    level is drawn as its mirror, so "(3)" in Arabic still opens on the right."""
    shown = []
    for paragraph in _paragraphs(text):
        levels = _paragraph_levels(paragraph, base)
        shown += (MIRROR.get(paragraph[i], paragraph[i]) if levels[i] % 2 else paragraph[i]
                  for i in visual_order(levels))
    return "".join(shown)
