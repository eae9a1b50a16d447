"""Generate the labelled development corpus ``eval/corpus.jsonl``.

    python eval/generate_corpus.py           # rewrite eval/corpus.jsonl
    python eval/generate_corpus.py --check   # exit 1 if the committed file differs

Every record is invented here: hand-written templates filled with values drawn from small
hand-written lists by a fixed-seed ``random.Random``. Nothing is copied or derived from any
other data set. Identifiers that carry a checksum (GB 11643 resident ids, GB 32100 credit
codes, Luhn card numbers, mod-97 IBANs) are generated valid. See ``eval/README.md`` for the
categories, labels and counts.

Standard library only, deterministic: the same script always writes the same bytes.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import json
import random
import re
import sys
import unicodedata
import urllib.parse
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

SEED = 20240611
CORPUS_PATH = Path(__file__).with_name("corpus.jsonl")

LABELS = (
    "PERSON",
    "EMAIL_ADDRESS",
    "PHONE_NUMBER",
    "LOCATION",
    "CREDIT_CARD",
    "IBAN_CODE",
    "IP_ADDRESS",
    "ID",
    "URL",
    "SECRET",
)
EVASION_FORMS = (
    "plain",
    "fullwidth_digits",
    "zero_width",
    "soft_hyphen",
    "spaced",
    "dotted",
    "dashed",
    "arabic_indic",
    "fullwidth_at",
    "base64",
    "urlencoded",
)
COUNTS = {"en_template": 600, "zh_template": 600, "mixed": 250, "benign_tech": 350}
EVASION_PER_FORM = 64  # 32 English + 32 Chinese records in every form

# ----------------------------------------------------------------------------- checksums

_ID_WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))  # GB 11643 MOD 11-2
_ID_CHECK = "10X98765432"
_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # GB 32100: no I, O, S, V, Z
_USCC_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)  # GB 11714 organisation code


def seeded(name: str) -> random.Random:
    """A generator seeded from SEED and ``name``: reproducible across runs and platforms
    (string seeds do not depend on PYTHONHASHSEED). Test data, not security."""
    return random.Random(f"{SEED}-{name}")  # noqa: S311


def luhn_complete(body: str) -> str:
    """``body`` followed by its Luhn check digit."""
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return body + str(-total % 10)


def iban_complete(country: str, bban: str) -> str:
    """An IBAN with ISO 13616 mod-97 check digits."""
    numeric = "".join(str(int(c, 36)) for c in bban + country + "00")
    return f"{country}{98 - int(numeric) % 97:02d}{bban}"


def resident_id_complete(body17: str) -> str:
    """GB 11643: the 17 digits followed by the MOD 11-2 check character."""
    total = sum(int(d) * w for d, w in zip(body17, _ID_WEIGHTS, strict=True))
    return body17 + _ID_CHECK[total % 11]


def org_code_complete(body8: str) -> str:
    """GB 11714: the 8-character organisation code body followed by its check character."""
    total = sum(int(c, 36) * w for c, w in zip(body8, _ORG_WEIGHTS, strict=True))
    check = 11 - total % 11
    return body8 + {10: "X", 11: "0"}.get(check, str(check))


def uscc_complete(body17: str) -> str:
    """GB 32100: the 17 characters followed by the mod-31 check character."""
    total = sum(_USCC_CHARS.index(c) * w for c, w in zip(body17, _USCC_WEIGHTS, strict=True))
    return body17 + _USCC_CHARS[-total % 31]


# ----------------------------------------------------------------------------- templates


@dataclass
class Value:
    """One filled slot: its text, its label (None for values that are not personal data),
    labelled sub-parts a template may quote (``{person:first}``) and private metadata that
    later slots of the same record derive from (an e-mail from the person's name)."""

    text: str
    label: str | None = None
    parts: dict[str, str] = field(default_factory=dict)
    meta: dict[str, str] = field(default_factory=dict)


Ctx = dict[str, Value]
Gen = Callable[[random.Random, Ctx, str], Value]
Span = tuple[int, int, str]
Piece = tuple[str, list[Span]]

_SLOT = re.compile(r"\{([a-z][a-z0-9_]*)(?::([a-z]+))?\}")


def _resolve(key: str, registry: dict[str, Gen]) -> tuple[str, str] | None:
    if key in registry:
        return key, ""
    base = key.rstrip("0123456789")
    if base in registry:
        return base, key[len(base) :]
    return None


def render(
    template: str, rng: random.Random, registry: dict[str, Gen], ctx: Ctx, *, strict: bool = True
) -> Piece:
    """Fill ``{kind}``, ``{kind2}`` and ``{kind:part}`` slots; the same key in one record
    (``ctx``) always gives the same value. With ``strict=False`` (code snippets) braces that
    name no registered kind are left as they are."""
    out: list[str] = []
    spans: list[Span] = []
    pos = last = 0
    for m in _SLOT.finditer(template):
        key, part = m.group(1), m.group(2)
        found = _resolve(key, registry)
        if found is None:
            if strict:
                raise KeyError(f"unknown slot {key!r} in {template[:60]!r}")
            continue
        kind, suffix = found
        literal = template[last : m.start()]
        out.append(literal)
        pos += len(literal)
        if key not in ctx:
            ctx[key] = registry[kind](rng, ctx, suffix)
        value = ctx[key]
        text = value.parts[part] if part else value.text
        if value.label is not None:
            spans.append((pos, pos + len(text), value.label))
        out.append(text)
        pos += len(text)
        last = m.end()
    out.append(template[last:])
    return "".join(out), spans


def join(pieces: Sequence[Piece], sep: str) -> Piece:
    parts: list[str] = []
    spans: list[Span] = []
    pos = 0
    for i, (text, piece_spans) in enumerate(pieces):
        if i:
            parts.append(sep)
            pos += len(sep)
        spans.extend((s + pos, e + pos, label) for s, e, label in piece_spans)
        parts.append(text)
        pos += len(text)
    return "".join(parts), spans


def _digits(rng: random.Random, n: int) -> str:
    return "".join(str(rng.randrange(10)) for _ in range(n))


def _fill(rng: random.Random, pattern: str) -> str:
    """Replace every ``#`` in ``pattern`` with a random digit."""
    return "".join(str(rng.randrange(10)) if c == "#" else c for c in pattern)


def _groups(value: str, size: int) -> list[str]:
    return [value[i : i + size] for i in range(0, len(value), size)]


def _ascii(name: str) -> str:
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return "".join(c for c in folded.lower() if c.isalnum())


def _pick(options: Sequence[str]) -> Gen:
    def gen(rng: random.Random, ctx: Ctx, suffix: str) -> Value:
        return Value(rng.choice(options))

    return gen


def _labelled(label: str, make: Callable[[random.Random], str]) -> Gen:
    def gen(rng: random.Random, ctx: Ctx, suffix: str) -> Value:
        return Value(make(rng), label)

    return gen


# ----------------------------------------------------------------------------- English values

_EN_FIRST = (
    "Jane", "Michael", "Priya", "Oluwaseun", "Wei", "Mei", "Carlos", "Sofia", "Ahmed", "Fatima",
    "Hiroshi", "Yuki", "Min-jun", "Ji-woo", "Dmitri", "Olga", "Liam", "Emma", "Noah", "Chloe",
    "Aisha", "Kwame", "Amara", "Mateo", "Lucía", "Giulia", "Luca", "Sven", "Ingrid", "Tomasz",
    "Agnieszka", "Rahul", "Ananya", "Minh", "Linh", "Thandiwe", "Siobhan", "Declan", "Zeynep",
    "Emre", "Rania", "Omar", "Kofi", "Nia", "Jamal", "Keisha", "Isabella", "Diego", "Camila",
    "Arjun", "Deepika", "Hana", "Kenji", "Elif", "Lars", "Astrid", "Pierre", "Camille", "Fiona",
    "Malik", "Chinedu", "Ngozi", "Grace", "Daniel", "Sarah", "David", "Laura", "Benjamin",
    "Olivia", "Samuel", "Hannah", "Joseph", "Esther", "Mohammed", "Leila", "Tariq", "Yasmin",
    "Javier", "Valentina", "Andrés", "Renata", "Bogdan", "Katarzyna", "Niamh", "Eoin", "Kai",
    "Leilani", "Mariam", "Yusuf", "Chiara", "Matteo", "Anders", "Freya", "Björn", "Rosa",
)  # fmt: skip
_EN_LAST = (
    "Okafor", "Smith", "Johnson", "Patel", "Nguyen", "Garcia", "Müller", "Rossi", "Kowalski",
    "Tanaka", "Kim", "Park", "Chen", "Wang", "O'Brien", "MacLeod", "Hernández", "Silva", "Santos",
    "Adeyemi", "Mensah", "Haddad", "Khan", "Ali", "Cohen", "Schwartz", "Andersson", "Nielsen",
    "Dubois", "Moreau", "Ferrari", "Novak", "Yilmaz", "Sato", "Suzuki", "Singh", "Gupta", "Iyer",
    "Nkosi", "Osei", "Baptiste", "Fitzgerald", "Walsh", "Thompson", "Robinson", "Clarke",
    "Hughes", "Lopez", "Ramirez", "Kaur", "Rahman", "Abdullah", "Petrov", "Horvat", "Jovanović",
    "Lindqvist", "van der Berg", "De Luca", "Brown", "Williams", "Martin", "Davies", "Evans",
    "Wilson", "Taylor", "Anderson", "Murphy", "Kelly", "Byrne", "Bianchi", "Costa", "Pereira",
    "Oliveira", "Fernandes", "Mwangi", "Otieno", "Abebe", "Tesfaye", "Hoang", "Tran", "Pham",
    "Yamamoto", "Nakamura", "Choi", "Sharma", "Reddy", "Bose", "Svensson", "Hansen", "Larsen",
    "Dlamini", "Kruger", "Cruz", "Reyes", "Morales", "Ortiz", "Achterberg", "Kariuki",
)  # fmt: skip
_INITIALS = "ABCDEFGHJKLMNPRSTW"


def en_person(rng: random.Random, ctx: Ctx, suffix: str) -> Value:
    first, last = rng.choice(_EN_FIRST), rng.choice(_EN_LAST)
    full = f"{first} {rng.choice(_INITIALS)}. {last}" if rng.random() < 0.12 else f"{first} {last}"
    return Value(
        full,
        "PERSON",
        parts={"first": first, "last": last},
        meta={"first": _ascii(first), "last": _ascii(last)},
    )


def en_first_name(rng: random.Random, ctx: Ctx, suffix: str) -> Value:
    return Value(rng.choice(_EN_FIRST), "PERSON")


_MAIL_DOMAINS = (
    "gmail.com", "outlook.com", "yahoo.com", "hotmail.co.uk", "proton.me", "icloud.com",
    "fastmail.com", "example.com", "example.org", "mail.com", "gmx.de", "live.com",
)  # fmt: skip
_WORK_DOMAINS = (
    "northwind-logistics.com", "bluefin-analytics.io", "harborpine.co", "greenleafdental.com",
    "brightpath.org", "copperline.net", "lumenhealth.org", "oakridge-pm.com", "acme-corp.com",
    "kestrel.ai", "tidewater.co.uk", "fieldstone.dev",
)  # fmt: skip
_HANDLE_WORDS = (
    "sky", "blue", "fox", "river", "maple", "nova", "pixel", "sunny", "owl", "cedar", "jade",
    "tiger", "moss", "ember", "lark", "coral", "storm", "quill",
)  # fmt: skip


def _local_from_name(rng: random.Random, first: str, last: str) -> str:
    patterns = (
        f"{first}.{last}",
        f"{first}{last}",
        f"{first[0]}.{last}",
        f"{first}_{last}",
        f"{first}.{last}{rng.randrange(70, 100)}",
        f"{first}{last[0]}",
        f"{last}.{first}",
        f"{first[0]}{last}{rng.randrange(1, 100)}",
    )
    return rng.choice(patterns)


def _handle(rng: random.Random) -> str:
    a, b = rng.sample(_HANDLE_WORDS, 2)
    return rng.choice(
        (f"{a}{b}{rng.randrange(10, 100)}", f"{a}.{b}", f"{a}_{b}{rng.randrange(10)}")
    )


_PERSON_KINDS = ("person", "cn_en_name", "zh_person")


def _person_meta(ctx: Ctx, suffix: str) -> dict[str, str] | None:
    """The name parts of the person most recently named in the record with the same slot
    suffix (``email2`` belongs to ``person2``), for e-mails, handles and profile links."""
    for key in reversed(ctx):
        if key in {kind + suffix for kind in _PERSON_KINDS} and ctx[key].meta:
            return ctx[key].meta
    return None


def en_email(rng: random.Random, ctx: Ctx, suffix: str) -> Value:
    meta = _person_meta(ctx, suffix)
    if meta and rng.random() < 0.75:
        local = _local_from_name(rng, meta["first"], meta["last"])
    else:
        local = _handle(rng)
    domain = rng.choice(_WORK_DOMAINS if rng.random() < 0.3 else _MAIL_DOMAINS)
    return Value(f"{local}@{domain}", "EMAIL_ADDRESS")


def work_email(rng: random.Random, ctx: Ctx, suffix: str) -> Value:
    meta = _person_meta(ctx, suffix)
    local = f"{meta['first']}.{meta['last']}" if meta else rng.choice(("support", "billing"))
    return Value(f"{local}@{rng.choice(_WORK_DOMAINS)}", "EMAIL_ADDRESS")


_US_AREAS = (
    "212", "213", "206", "303", "305", "312", "404", "412", "415", "503", "512", "602", "608",
    "612", "615", "617", "646", "702", "720", "919",
)  # fmt: skip


def us_phone_groups(rng: random.Random) -> list[str]:
    area = rng.choice(_US_AREAS)
    if rng.random() < 0.45:  # 555-0100 to 555-0199 are reserved for fiction
        return [area, "555", f"{rng.randrange(100, 200):04d}"]
    exchange = rng.choice([e for e in range(201, 1000) if e % 100 != 11 and e != 555])
    return [area, str(exchange), _digits(rng, 4)]


def us_phone_text(rng: random.Random) -> str:
    a, e, n = us_phone_groups(rng)
    return rng.choice(
        (
            f"({a}) {e}-{n}",
            f"{a}-{e}-{n}",
            f"{a}.{e}.{n}",
            f"+1 ({a}) {e}-{n}",
            f"+1 {a} {e} {n}",
            f"+1-{a}-{e}-{n}",
            f"{a}{e}{n}",
            f"1-{a}-{e}-{n}",
        )
    )


_UK_PATTERNS = (
    "020 7946 0###", "+44 20 7946 0###", "+44 (0)20 7946 0###", "07700 900###",
    "+44 7700 900###", "0161 496 0###", "+44 161 496 0###", "0113 496 0###", "020 8### ####",
    "+44 20 3### ####", "07### ######", "+44 7### ######", "0117 ### ####", "01632 960###",
)  # fmt: skip
_INTL_PATTERNS = (
    "+49 30 #### ####", "+49 151 ########", "+33 1 ## ## ## ##", "+33 6 ## ## ## ##",
    "+91 98### #####", "+91 7#### #####", "+61 2 #### ####", "+61 4## ### ###",
    "+81 3-####-####", "+81 90-####-####", "+234 803 ### ####", "+234 81# ### ####",
    "+52 55 #### ####", "+55 11 9####-####", "+254 7## ######", "+27 82 ### ####",
    "+34 6## ### ###", "+39 3## ### ####", "+31 6 ########", "+353 87 ### ####",
    "+64 21 ### ####", "+971 50 ### ####", "+82 10-####-####", "+65 9### ####",
)  # fmt: skip


def uk_phone_text(rng: random.Random) -> str:
    return _fill(rng, rng.choice(_UK_PATTERNS))


def intl_phone_text(rng: random.Random) -> str:
    return _fill(rng, rng.choice(_INTL_PATTERNS))


def _regional(rng: random.Random, label: str, *makers: Callable[[random.Random], str]) -> Value:
    """Half US, a quarter UK, a quarter elsewhere (``makers`` in that order)."""
    r = rng.random()
    us, uk, intl = makers
    return Value((us if r < 0.5 else uk if r < 0.75 else intl)(rng), label)


def en_phone(rng: random.Random, ctx: Ctx, suffix: str) -> Value:
    return _regional(rng, "PHONE_NUMBER", us_phone_text, uk_phone_text, intl_phone_text)


_STREETS = (
    "Birch", "Maple", "Oak", "Cedar", "Elm", "Willow", "Highland", "Lakeview", "Sunset", "Park",
    "Church", "Mill", "Station", "Victoria", "Riverside", "Orchard", "Meadow", "Hillcrest",
    "Chestnut", "Magnolia", "Juniper", "Harbor", "Ashford", "Kingsley", "Foxglove", "Beacon",
    "Primrose", "Walnut", "Larkspur", "Rosewood", "Granite", "Thornbury",
)  # fmt: skip
_US_SUFFIXES = ("Street", "St.", "Avenue", "Ave", "Lane", "Road", "Rd", "Drive", "Dr.", "Court",
                "Way", "Boulevard", "Place", "Terrace")  # fmt: skip
_UK_SUFFIXES = ("Road", "Street", "Lane", "Close", "Crescent", "Grove", "Gardens", "Mews",
                "Avenue", "Terrace")  # fmt: skip
_US_CITIES = (
    ("Springfield", "IL", "627"), ("Portland", "OR", "972"), ("Austin", "TX", "787"),
    ("Denver", "CO", "802"), ("Columbus", "OH", "432"), ("Madison", "WI", "537"),
    ("Raleigh", "NC", "276"), ("Sacramento", "CA", "958"), ("Oakland", "CA", "946"),
    ("Tucson", "AZ", "857"), ("Albany", "NY", "122"), ("Brooklyn", "NY", "112"),
    ("Boise", "ID", "837"), ("Savannah", "GA", "314"), ("Burlington", "VT", "054"),
    ("Ann Arbor", "MI", "481"), ("Pittsburgh", "PA", "152"), ("Seattle", "WA", "981"),
    ("Minneapolis", "MN", "554"), ("Nashville", "TN", "372"), ("Santa Fe", "NM", "875"),
)  # fmt: skip
_UK_TOWNS = (
    ("Leeds", "LS"), ("Manchester", "M"), ("Bristol", "BS"), ("Edinburgh", "EH"),
    ("Cardiff", "CF"), ("Brighton", "BN"), ("Oxford", "OX"), ("London", "SE"), ("London", "N"),
    ("Glasgow", "G"), ("York", "YO"), ("Norwich", "NR"), ("Sheffield", "S"), ("Bath", "BA"),
)  # fmt: skip
_POSTCODE_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"


def street_text(rng: random.Random) -> str:
    return f"{rng.randrange(1, 2400)} {rng.choice(_STREETS)} {rng.choice(_US_SUFFIXES)}"


def us_address_text(rng: random.Random) -> str:
    city, state, zip3 = rng.choice(_US_CITIES)
    street = street_text(rng)
    if rng.random() < 0.25:
        street += rng.choice(
            (
                f", Apt {rng.randrange(1, 40)}{rng.choice('ABCD')}",
                f" #{rng.randrange(100, 999)}",
                f", Unit {rng.randrange(1, 30)}",
            )
        )
    return f"{street}, {city}, {state} {zip3}{_digits(rng, 2)}"


def uk_address_text(rng: random.Random) -> str:
    town, area = rng.choice(_UK_TOWNS)
    letters = "".join(rng.choice(_POSTCODE_LETTERS) for _ in range(2))
    postcode = f"{area}{rng.randrange(1, 20)} {rng.randrange(1, 10)}{letters}"
    house = rng.choice(
        (str(rng.randrange(1, 200)), f"Flat {rng.randrange(1, 12)}, {rng.randrange(1, 90)}")
    )
    return f"{house} {rng.choice(_STREETS)} {rng.choice(_UK_SUFFIXES)}, {town} {postcode}"


def intl_address_text(rng: random.Random) -> str:
    n = rng.randrange(1, 180)
    options = (
        f"{rng.choice(('Linden', 'Garten', 'Schiller', 'Kastanien', 'Berg'))}straße {n}, "
        f"{rng.choice(('10', '80', '20', '50'))}{_digits(rng, 3)} "
        f"{rng.choice(('Berlin', 'München', 'Hamburg', 'Köln'))}",
        f"{n} rue {rng.choice(('des Lilas', 'Victor Hugo', 'de la République', 'du Moulin'))}, "
        f"{rng.choice(('750', '690', '130', '310'))}{_digits(rng, 2)} "
        f"{rng.choice(('Paris', 'Lyon', 'Marseille', 'Toulouse'))}",
        f"Calle de {rng.choice(('Alcalá', 'Toledo', 'Serrano', 'Atocha'))} {n}, "
        f"280{_digits(rng, 2)} Madrid",
        f"{n} {rng.choice(_STREETS)} {rng.choice(('Street', 'Avenue'))}, "
        f"{rng.choice(('Toronto, ON M5V', 'Vancouver, BC V6B', 'Ottawa, ON K1P'))} "
        f"{rng.randrange(1, 10)}{rng.choice('ABCEGHJ')}{rng.randrange(1, 10)}",
        f"{n} {rng.choice(_STREETS)} Street, "
        f"{rng.choice(('Melbourne VIC 3000', 'Sydney NSW 2000', 'Brisbane QLD 4000'))}",
        f"Flat {rng.randrange(101, 999)}, {rng.choice(('Lotus', 'Palm Grove', 'Sunrise'))} "
        f"Apartments, {rng.choice(('MG', 'Residency', 'Hosur'))} Road, "
        f"Bengaluru 5600{_digits(rng, 2)}",
        f"Rua {rng.choice(('das Flores', 'Augusta', 'do Carmo'))} {n}, "
        f"{rng.choice(('4050', '1200', '1100'))}-{_digits(rng, 3)} "
        f"{rng.choice(('Porto', 'Lisboa'))}",
    )
    return rng.choice(options)


def en_address(rng: random.Random, ctx: Ctx, suffix: str) -> Value:
    return _regional(rng, "LOCATION", us_address_text, uk_address_text, intl_address_text)


_CITIES = (
    "Springfield", "Portland", "Manchester", "Lagos", "Nairobi", "Mumbai", "São Paulo", "Toronto",
    "Melbourne", "Berlin", "Lyon", "Osaka", "Seoul", "Dublin", "Cape Town", "Mexico City",
    "Austin", "Leeds", "Hanoi", "Istanbul", "Cairo", "Accra", "Vancouver", "Auckland", "Kraków",
    "Lisbon", "Denver", "Edinburgh", "Bogotá", "Chicago", "Barcelona", "Singapore", "Boston",
)  # fmt: skip
_COUNTRIES = (
    "Canada", "Germany", "Nigeria", "India", "Brazil", "Japan", "Ireland", "Kenya", "Mexico",
    "Australia", "Portugal", "Vietnam", "Spain", "Ghana", "the Netherlands", "New Zealand",
)  # fmt: skip

_CARD_BRANDS = (
    (("4",), (16,)),
    (("51", "52", "53", "54", "55", "2221", "2720", "2300"), (16,)),
    (("34", "37"), (15,)),
    (("622202", "621700", "622848", "622588", "621661", "625826"), (16, 17, 18, 19)),
    (("6011", "65"), (16,)),
)


def card_digits(rng: random.Random, brand: int | None = None) -> str:
    prefixes, lengths = _CARD_BRANDS[rng.randrange(len(_CARD_BRANDS)) if brand is None else brand]
    prefix, length = rng.choice(prefixes), rng.choice(lengths)
    return luhn_complete(prefix + _digits(rng, length - len(prefix) - 1))


def card_groups(number: str) -> list[str]:
    if len(number) == 15:  # American Express prints 4-6-5
        return [number[:4], number[4:10], number[10:]]
    return _groups(number, 4)


def format_card(rng: random.Random, number: str) -> str:
    style = rng.random()
    if style < 0.45:
        return " ".join(card_groups(number))
    if style < 0.6 and len(number) == 16:
        return "-".join(card_groups(number))
    return number


def en_card(rng: random.Random, ctx: Ctx, suffix: str) -> Value:
    brand = rng.choices(range(len(_CARD_BRANDS)), weights=(40, 28, 14, 12, 6))[0]
    return Value(format_card(rng, card_digits(rng, brand)), "CREDIT_CARD")


_IBAN_SPECS = (
    ("DE", "n18"), ("GB", "B4n14"), ("FR", "n10c11n2"), ("ES", "n20"), ("IT", "a1n10c12"),
    ("NL", "B4n10"), ("BE", "n12"), ("CH", "n5c12"), ("AT", "n16"), ("PL", "n24"),
    ("IE", "B4n14"), ("SE", "n20"), ("PT", "n21"), ("NO", "n11"), ("DK", "n14"), ("FI", "n14"),
)  # fmt: skip
_IBAN_BANKS = {
    "GB": ("NWBK", "BARC", "LOYD", "HBUK", "MIDL"),
    "NL": ("ABNA", "INGB", "RABO", "TRIO"),
    "IE": ("AIBK", "BOFI", "IPBS"),
}
_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def iban_value(rng: random.Random, country: str | None = None) -> str:
    spec = dict(_IBAN_SPECS)[country] if country else None
    if spec is None:
        country, spec = rng.choice(_IBAN_SPECS)
    assert country is not None
    bban = []
    for kind, count in re.findall(r"([nacB])(\d+)", spec):
        n = int(count)
        if kind == "n":
            bban.append(_digits(rng, n))
        elif kind == "a":
            bban.append("".join(rng.choice(_UPPER) for _ in range(n)))
        elif kind == "B":
            bban.append(rng.choice(_IBAN_BANKS[country]))
        else:  # alphanumeric, mostly digits as in practice
            bban.append("".join(rng.choice("0123456789" * 12 + _UPPER) for _ in range(n)))
    return iban_complete(country, "".join(bban))


def en_iban(rng: random.Random, ctx: Ctx, suffix: str) -> Value:
    iban = iban_value(rng)
    text = " ".join(_groups(iban, 4)) if rng.random() < 0.55 else iban
    return Value(text, "IBAN_CODE")


def ipv4_text(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.25:
        return f"192.168.{rng.randrange(0, 20)}.{rng.randrange(2, 255)}"
    if r < 0.4:
        return f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
    if r < 0.5:
        return f"172.{rng.randrange(16, 32)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
    if r < 0.7:
        net = rng.choice(("203.0.113", "198.51.100", "192.0.2"))
        return f"{net}.{rng.randrange(1, 255)}"
    first = rng.choice((24, 31, 45, 62, 73, 81, 91, 104, 142, 151, 185, 212, 5, 88))
    return f"{first}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"


def ipv6_text(rng: random.Random) -> str:
    groups = [f"{rng.randrange(0x10000):x}" for _ in range(6)]
    r = rng.random()
    if r < 0.35:
        return "2001:db8:" + ":".join(groups)
    if r < 0.65:
        return f"2001:db8:{groups[0]}::{groups[1]}:{groups[2]}"
    if r < 0.85:
        return "fe80::" + ":".join(groups[:4])
    return f"2a02:{groups[0]}:{groups[1]}:{groups[2]}::{groups[3]}"


def ssn_groups(rng: random.Random) -> list[str]:
    area = rng.choice([a for a in range(1, 900) if a != 666])
    return [f"{area:03d}", f"{rng.randrange(1, 100):02d}", f"{rng.randrange(1, 10000):04d}"]


def ssn_text(rng: random.Random) -> str:
    groups = ssn_groups(rng)
    return rng.choice(("-", "-", "-", " ", "")).join(groups)


def passport_text(rng: random.Random) -> str:
    return rng.choice(
        (
            _digits(rng, 9),
            rng.choice("ACEFGHKLMNPRSTUXYZ") + _digits(rng, 8),
            "".join(rng.choice(_UPPER) for _ in range(2)) + _digits(rng, 7),
        )
    )


def ni_number_text(rng: random.Random) -> str:
    first = rng.choice("ABCEGHJKLMNOPRSTWXYZ")
    second = rng.choice("ABCEGHJKLMNPRSTWXYZ")
    body = f"{first}{second}{_digits(rng, 6)}{rng.choice('ABCD')}"
    if rng.random() < 0.5:
        return f"{body[:2]} {body[2:4]} {body[4:6]} {body[6:8]} {body[8]}"
    return body


_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
_B64 = _ALNUM + "+/"
_B64URL = _ALNUM + "-_"


def _rand(rng: random.Random, alphabet: str, n: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def aws_key_text(rng: random.Random) -> str:
    return rng.choice(("AKIA", "ASIA")) + _rand(rng, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16)


def aws_secret_text(rng: random.Random) -> str:
    return _rand(rng, _B64, 40)


def api_key_text(rng: random.Random) -> str:
    return rng.choice(
        (
            "sk-" + _rand(rng, _ALNUM, 48),
            "sk-proj-" + _rand(rng, _B64URL, 56),
            "sk-ant-api03-" + _rand(rng, _B64URL, 86) + "AA",
            "AIza" + _rand(rng, _B64URL, 35),
        )
    )


def github_token_text(rng: random.Random) -> str:
    return rng.choice(("ghp_", "gho_", "github_pat_11")) + _rand(rng, _ALNUM, 36)


def stripe_key_text(rng: random.Random) -> str:
    return rng.choice(("sk_live_", "rk_live_", "sk_test_")) + _rand(rng, _ALNUM, 24)


def slack_token_text(rng: random.Random) -> str:
    return f"xoxb-{_digits(rng, 12)}-{_digits(rng, 13)}-{_rand(rng, _ALNUM, 24)}"


def _b64url_json(payload: dict[str, object]) -> str:
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def jwt_text(rng: random.Random) -> str:
    header = _b64url_json({"alg": rng.choice(("HS256", "RS256")), "typ": "JWT"})
    issued = 1_700_000_000 + rng.randrange(60_000_000)
    payload = _b64url_json(
        {"sub": _digits(rng, 8), "iat": issued, "exp": issued + 3600, "scope": "user"}
    )
    return f"{header}.{payload}.{_rand(rng, _B64URL, 43)}"


_KEY_KINDS = (
    ("RSA PRIVATE KEY", "MIIEpAIBAAKCAQEA"),
    ("PRIVATE KEY", "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC"),
    ("EC PRIVATE KEY", "MHcCAQEEI"),
    ("OPENSSH PRIVATE KEY", "b3BlbnNzaC1rZXktdjEAAAAA"),
)


def private_key_text(rng: random.Random) -> str:
    kind, head = rng.choice(_KEY_KINDS)
    body = head + _rand(rng, _B64, 64 * rng.randrange(3, 8) + rng.randrange(8, 50) - len(head))
    lines = "\n".join(_groups(body, 64))
    return f"-----BEGIN {kind}-----\n{lines}\n-----END {kind}-----"


def secret_text(rng: random.Random) -> str:
    make = rng.choice(
        (aws_key_text, api_key_text, api_key_text, github_token_text, stripe_key_text,
         slack_token_text, jwt_text)
    )  # fmt: skip
    return make(rng)


def profile_url(rng: random.Random, ctx: Ctx, suffix: str) -> Value:
    meta = _person_meta(ctx, suffix) or {
        "first": rng.choice(_HANDLE_WORDS),
        "last": rng.choice(_HANDLE_WORDS),
    }
    first, last = meta["first"], meta["last"]
    return Value(
        rng.choice(
            (
                f"https://www.linkedin.com/in/{first}-{last}-{_rand(rng, 'abcdef0123456789', 6)}",
                f"https://github.com/{first[0]}{last}",
                f"https://{first}{last}.dev",
                f"https://twitter.com/{first}_{last}{rng.randrange(10, 100)}",
                f"https://www.instagram.com/{first}.{last}/",
                f"https://www.facebook.com/{first}.{last}.{_digits(rng, 3)}",
                f"https://about.me/{first}{last}",
            )
        ),
        "URL",
    )


_JOBS = (
    "senior data analyst", "registered nurse", "warehouse supervisor", "product designer",
    "high-school chemistry teacher", "line cook", "software engineer", "paralegal",
    "physical therapist", "project manager", "bookkeeper", "research assistant", "barista",
    "site electrician", "customer success lead", "veterinary technician",
)  # fmt: skip
_COMPANIES = (
    "Northwind Logistics", "Bluefin Analytics", "Harbor & Pine Realty", "Greenleaf Dental",
    "Summit Ridge Credit Union", "Brightpath Tutoring", "Copperline Telecom",
    "Lumen Health Clinic", "Oakridge Property Management", "Kestrel AI", "Fieldstone Bakery",
    "Tidewater Insurance", "Acme Corp", "Redwood Freight", "Silverline Gym",
)  # fmt: skip
_PRODUCTS = (
    "standing desk", "pair of noise-cancelling headphones", "4K monitor", "espresso machine",
    "pair of hiking boots", "air fryer", "ergonomic chair", "smartwatch", "robot vacuum",
    "mechanical keyboard", "baby stroller", "set of cast-iron pans",
)  # fmt: skip
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")  # fmt: skip


def _amount(rng: random.Random, ctx: Ctx, suffix: str) -> Value:
    cur = rng.choice(("$", "£", "€"))
    return Value(f"{cur}{rng.randrange(12, 4800):,}.{rng.randrange(100):02d}")


def _date(rng: random.Random, ctx: Ctx, suffix: str) -> Value:
    return Value(f"{rng.choice(_MONTHS)} {rng.randrange(1, 29)}")


def _dob(rng: random.Random, ctx: Ctx, suffix: str) -> Value:
    day = dt.date(1950, 1, 1) + dt.timedelta(days=rng.randrange(365 * 55))
    return Value(
        rng.choice((f"{day:%d/%m/%Y}", f"{day:%B} {day.day}, {day.year}", f"{day:%Y-%m-%d}"))
    )


def _order(rng: random.Random, ctx: Ctx, suffix: str) -> Value:
    return Value(
        rng.choice(
            (
                f"#{rng.randrange(100000, 999999)}",
                f"A-{rng.randrange(10000, 99999)}",
                f"ORD-{rng.randrange(1000, 9999)}",
            )
        )
    )


def _expiry(rng: random.Random, ctx: Ctx, suffix: str) -> Value:
    return Value(f"{rng.randrange(1, 13):02d}/{rng.randrange(26, 31)}")


EN_REGISTRY: dict[str, Gen] = {
    "person": en_person,
    "first_name": en_first_name,
    "email": en_email,
    "work_email": work_email,
    "phone": en_phone,
    "us_phone": _labelled("PHONE_NUMBER", us_phone_text),
    "uk_phone": _labelled("PHONE_NUMBER", uk_phone_text),
    "intl_phone": _labelled("PHONE_NUMBER", intl_phone_text),
    "address": en_address,
    "us_address": _labelled("LOCATION", us_address_text),
    "uk_address": _labelled("LOCATION", uk_address_text),
    "street": _labelled("LOCATION", street_text),
    "city": _labelled("LOCATION", lambda rng: rng.choice(_CITIES)),
    "country": _labelled("LOCATION", lambda rng: rng.choice(_COUNTRIES)),
    "card": en_card,
    "iban": en_iban,
    "ip": _labelled("IP_ADDRESS", ipv4_text),
    "ipv6": _labelled("IP_ADDRESS", ipv6_text),
    "ssn": _labelled("ID", ssn_text),
    "passport": _labelled("ID", passport_text),
    "ni": _labelled("ID", ni_number_text),
    "secret": _labelled("SECRET", secret_text),
    "aws_key": _labelled("SECRET", aws_key_text),
    "aws_secret": _labelled("SECRET", aws_secret_text),
    "api_key": _labelled("SECRET", api_key_text),
    "github_token": _labelled("SECRET", github_token_text),
    "stripe_key": _labelled("SECRET", stripe_key_text),
    "slack_token": _labelled("SECRET", slack_token_text),
    "jwt": _labelled("SECRET", jwt_text),
    "private_key": _labelled("SECRET", private_key_text),
    "profile_url": profile_url,
    "job": _pick(_JOBS),
    "company": _pick(_COMPANIES),
    "product": _pick(_PRODUCTS),
    "amount": _amount,
    "date": _date,
    "dob": _dob,
    "order": _order,
    "expiry": _expiry,
    "weekday": _pick(("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")),
    "time": _pick(("9:30", "10 am", "2:15 pm", "noon", "4 pm", "8:45")),
}


# ----------------------------------------------------------------------------- Chinese values

_ZH_SURNAMES = (
    ("王", "wang"), ("李", "li"), ("张", "zhang"), ("刘", "liu"), ("陈", "chen"), ("杨", "yang"),
    ("黄", "huang"), ("赵", "zhao"), ("吴", "wu"), ("周", "zhou"), ("徐", "xu"), ("孙", "sun"),
    ("马", "ma"), ("朱", "zhu"), ("胡", "hu"), ("郭", "guo"), ("何", "he"), ("高", "gao"),
    ("林", "lin"), ("罗", "luo"), ("郑", "zheng"), ("梁", "liang"), ("谢", "xie"), ("宋", "song"),
    ("唐", "tang"), ("许", "xu"), ("韩", "han"), ("冯", "feng"), ("邓", "deng"), ("曹", "cao"),
    ("彭", "peng"), ("曾", "zeng"), ("肖", "xiao"), ("田", "tian"), ("董", "dong"), ("袁", "yuan"),
    ("潘", "pan"), ("蒋", "jiang"), ("蔡", "cai"), ("余", "yu"), ("杜", "du"), ("叶", "ye"),
    ("程", "cheng"), ("苏", "su"), ("魏", "wei"), ("吕", "lv"), ("丁", "ding"), ("沈", "shen"),
    ("姚", "yao"), ("卢", "lu"), ("钟", "zhong"), ("谭", "tan"), ("陆", "lu"), ("范", "fan"),
    ("金", "jin"), ("廖", "liao"), ("贾", "jia"), ("夏", "xia"), ("付", "fu"), ("方", "fang"),
    ("白", "bai"), ("邹", "zou"), ("孟", "meng"), ("熊", "xiong"), ("秦", "qin"), ("邱", "qiu"),
    ("薛", "xue"), ("段", "duan"), ("雷", "lei"), ("侯", "hou"), ("龙", "long"), ("史", "shi"),
    ("黎", "li"), ("贺", "he"), ("顾", "gu"), ("毛", "mao"), ("龚", "gong"), ("邵", "shao"),
    ("钱", "qian"), ("严", "yan"), ("戴", "dai"), ("孔", "kong"), ("汤", "tang"), ("温", "wen"),
)  # fmt: skip
_ZH_COMPOUND_SURNAMES = (
    ("欧阳", "ouyang"), ("司马", "sima"), ("诸葛", "zhuge"), ("上官", "shangguan"),
    ("东方", "dongfang"), ("皇甫", "huangfu"), ("慕容", "murong"), ("令狐", "linghu"),
    ("夏侯", "xiahou"), ("公孙", "gongsun"), ("司徒", "situ"), ("端木", "duanmu"),
)  # fmt: skip
_ZH_GIVEN = (
    ("伟", "wei"), ("芳", "fang"), ("娜", "na"), ("秀英", "xiuying"), ("敏", "min"),
    ("静", "jing"), ("丽", "li"), ("强", "qiang"), ("磊", "lei"), ("军", "jun"), ("洋", "yang"),
    ("勇", "yong"), ("艳", "yan"), ("杰", "jie"), ("娟", "juan"), ("涛", "tao"), ("明", "ming"),
    ("超", "chao"), ("秀兰", "xiulan"), ("霞", "xia"), ("平", "ping"), ("刚", "gang"),
    ("桂英", "guiying"), ("子轩", "zixuan"), ("梓涵", "zihan"), ("浩然", "haoran"),
    ("雨桐", "yutong"), ("欣怡", "xinyi"), ("宇航", "yuhang"), ("思远", "siyuan"),
    ("佳怡", "jiayi"), ("俊杰", "junjie"), ("晓燕", "xiaoyan"), ("建国", "jianguo"),
    ("建华", "jianhua"), ("志强", "zhiqiang"), ("海燕", "haiyan"), ("文博", "wenbo"),
    ("一鸣", "yiming"), ("诗涵", "shihan"), ("梦瑶", "mengyao"), ("博文", "bowen"),
    ("天宇", "tianyu"), ("慧敏", "huimin"), ("国栋", "guodong"), ("婷婷", "tingting"),
    ("晨", "chen"), ("昊", "hao"), ("琳", "lin"), ("颖", "ying"), ("鑫", "xin"), ("凯", "kai"),
    ("倩", "qian"), ("雪", "xue"), ("晶", "jing"), ("鹏", "peng"), ("丹", "dan"),
    ("玉兰", "yulan"), ("春梅", "chunmei"), ("立新", "lixin"), ("若曦", "ruoxi"),
    ("沐阳", "muyang"), ("语嫣", "yuyan"), ("明轩", "mingxuan"), ("振华", "zhenhua"),
    ("嘉欣", "jiaxin"), ("子怡", "ziyi"), ("家豪", "jiahao"), ("美玲", "meiling"),
)  # fmt: skip


def zh_person(rng: random.Random, ctx: Ctx, suffix: str) -> Value:
    pool = _ZH_COMPOUND_SURNAMES if rng.random() < 0.12 else _ZH_SURNAMES
    (sur, sur_py), (given, given_py) = rng.choice(pool), rng.choice(_ZH_GIVEN)
    return Value(sur + given, "PERSON", meta={"first": given_py, "last": sur_py})


def _cn_en_name(rng: random.Random, ctx: Ctx, suffix: str) -> Value:
    """An English first name with a pinyin surname, as on many Chinese business cards."""
    first = rng.choice(("Kevin", "Cindy", "Eric", "Vivian", "Jason", "Grace", "Leo", "Coco",
                        "Tony", "Sunny", "Jack", "Amy", "Frank", "Irene"))  # fmt: skip
    sur, sur_py = rng.choice(_ZH_SURNAMES)
    text = f"{first} {sur_py.capitalize()}"
    return Value(text, "PERSON", meta={"first": first.lower(), "last": sur_py, "zh": sur})


# province, city ("" for the four municipalities), districts, roads
_ZH_PLACES = (
    ("浙江省", "杭州市", ("西湖区", "上城区", "拱墅区", "滨江区", "余杭区"),
     ("文三路", "天目山路", "学院路", "莫干山路", "江南大道", "文一西路")),
    ("北京市", "", ("朝阳区", "海淀区", "东城区", "西城区", "丰台区"),
     ("建国路", "中关村大街", "学院路", "朝阳门外大街", "西直门外大街", "望京街")),
    ("上海市", "", ("浦东新区", "徐汇区", "静安区", "黄浦区", "闵行区"),
     ("南京西路", "淮海中路", "世纪大道", "漕溪北路", "张江路", "虹桥路")),
    ("广东省", "深圳市", ("南山区", "福田区", "宝安区", "龙岗区"),
     ("科技园南路", "深南大道", "华强北路", "滨海大道", "宝安大道")),
    ("广东省", "广州市", ("天河区", "越秀区", "海珠区", "番禺区"),
     ("天河路", "中山五路", "江南大道中", "体育西路", "环市东路")),
    ("四川省", "成都市", ("武侯区", "锦江区", "青羊区", "成华区"),
     ("天府大道", "人民南路", "科华北路", "蜀都大道", "一环路南三段")),
    ("江苏省", "南京市", ("鼓楼区", "玄武区", "建邺区", "秦淮区"),
     ("中山路", "北京西路", "江东中路", "珠江路")),
    ("江苏省", "苏州市", ("姑苏区", "吴中区", "虎丘区"),
     ("星湖街", "干将路", "人民路", "金鸡湖大道")),
    ("湖北省", "武汉市", ("洪山区", "武昌区", "江汉区"),
     ("珞喻路", "中南路", "解放大道", "光谷大道")),
    ("陕西省", "西安市", ("雁塔区", "碑林区", "未央区"),
     ("小寨东路", "长安北路", "科技路", "未央路")),
    ("重庆市", "", ("渝中区", "江北区", "南岸区"), ("民族路", "建新北路", "南坪正街")),
    ("天津市", "", ("和平区", "南开区", "河西区"), ("南京路", "卫津路", "友谊路")),
    ("山东省", "青岛市", ("市南区", "崂山区", "市北区"), ("香港中路", "东海西路", "海尔路")),
    ("湖南省", "长沙市", ("岳麓区", "芙蓉区", "天心区"), ("麓山南路", "五一大道", "芙蓉中路")),
    ("福建省", "厦门市", ("思明区", "湖里区"), ("鹭江道", "湖滨南路", "嘉禾路")),
    ("河南省", "郑州市", ("金水区", "二七区", "中原区"), ("花园路", "文化路", "建设路")),
    ("辽宁省", "沈阳市", ("和平区", "沈河区"), ("青年大街", "中山路", "南京北街")),
    ("云南省", "昆明市", ("五华区", "盘龙区"), ("东风西路", "北京路", "人民中路")),
    ("安徽省", "合肥市", ("蜀山区", "包河区"), ("长江西路", "马鞍山路", "望江西路")),
    ("黑龙江省", "哈尔滨市", ("南岗区", "道里区"), ("西大直街", "中央大街", "红军街")),
)  # fmt: skip
_ZH_COMMUNITIES = (
    "阳光花园", "翠苑一区", "金色家园", "万科城", "紫金小区", "桂花园", "世纪新城", "锦绣江南",
    "和平里小区", "华侨新村", "幸福家园", "绿洲公寓", "明珠苑", "枫林湾",
)  # fmt: skip


def _zh_place(rng: random.Random) -> tuple[str, str, str, str]:
    province, city, districts, roads = rng.choice(_ZH_PLACES)
    return province, city, rng.choice(districts), rng.choice(roads)


def _zh_number(rng: random.Random) -> str:
    n = rng.randrange(1, 900)
    return f" {n} 号" if rng.random() < 0.25 else f"{n}号"


def _zh_building(rng: random.Random) -> str:
    return rng.choice(
        (
            f"{rng.choice(_ZH_COMMUNITIES)}{rng.randrange(1, 30)}栋{rng.randrange(1, 6)}单元"
            f"{rng.randrange(1, 33)}0{rng.randrange(1, 5)}室",
            f"{rng.choice(_ZH_COMMUNITIES)}{rng.randrange(1, 20)}幢{rng.randrange(1, 28)}0"
            f"{rng.randrange(1, 5)}室",
            f"{rng.choice('ABCD')}座{rng.randrange(2, 40)}{rng.randrange(1, 20):02d}",
            f"{rng.randrange(1, 12)}号楼{rng.randrange(1, 25)}{rng.randrange(1, 9):02d}",
        )
    )


def zh_address_text(rng: random.Random) -> str:
    province, city, district, road = _zh_place(rng)
    head = province + city
    r = rng.random()
    if r < 0.35:
        return head + district + road + _zh_number(rng) + _zh_building(rng)
    if r < 0.7:
        return (
            (head if rng.random() < 0.7 else city or province) + district + road + _zh_number(rng)
        )
    if r < 0.85:
        return district + road + _zh_number(rng) + (_zh_building(rng) if rng.random() < 0.5 else "")
    if r < 0.95:
        return (city or province) + district
    return head if city else province + district


def zh_city_text(rng: random.Random) -> str:
    province, city, _, _ = _zh_place(rng)
    name = city or province
    return name if rng.random() < 0.6 else name[:-1]


def zh_province_text(rng: random.Random) -> str:
    province = _zh_place(rng)[0]
    return province if rng.random() < 0.6 else province[:-1]


def zh_district_text(rng: random.Random) -> str:
    province, city, district, _ = _zh_place(rng)
    return (city or province) + district if rng.random() < 0.6 else district


def zh_road_text(rng: random.Random) -> str:
    _, _, _, road = _zh_place(rng)
    return road + _zh_number(rng)


_CN_MOBILE_PREFIXES = (
    "130", "131", "132", "133", "134", "135", "136", "137", "138", "139", "145", "147", "150",
    "151", "152", "153", "155", "156", "157", "158", "159", "166", "172", "173", "175", "176",
    "177", "178", "180", "181", "182", "183", "184", "185", "186", "187", "188", "189", "191",
    "195", "198", "199",
)  # fmt: skip


def cn_mobile_digits(rng: random.Random) -> str:
    return rng.choice(_CN_MOBILE_PREFIXES) + _digits(rng, 8)


def cn_mobile_text(rng: random.Random) -> str:
    d = cn_mobile_digits(rng)
    a, b, c = d[:3], d[3:7], d[7:]
    return rng.choice(
        (d, d, d, f"+86 {d}", f"+86 {a} {b} {c}", f"0086 {d}", f"0086-{d}", f"{a} {b} {c}",
         f"{a}-{b}-{c}", f"+86-{a}-{b}-{c}", f"+86{d}", f"(+86) {d}")
    )  # fmt: skip


_CN_AREA_CODES = (
    ("010", 8), ("020", 8), ("021", 8), ("022", 8), ("023", 8), ("024", 8), ("025", 8),
    ("027", 8), ("028", 8), ("029", 8), ("0571", 8), ("0755", 8), ("0512", 8), ("0532", 8),
    ("0731", 8), ("0871", 8), ("0591", 8), ("0592", 7), ("0551", 7), ("0451", 8),
)  # fmt: skip


def cn_landline_text(rng: random.Random) -> str:
    code, n = rng.choice(_CN_AREA_CODES)
    local = str(rng.randrange(2, 9)) + _digits(rng, n - 1)
    half = n - 4
    spaced = f"{local[:half]} {local[half:]}"
    return rng.choice(
        (f"{code}-{local}", f"{code}-{spaced}", f"({code}) {spaced}", f"{code} {local}",
         f"+86 {code[1:]} {spaced}", f"+86-{code[1:]}-{local[:half]}-{local[half:]}",
         f"{code}-{local[:half]}-{local[half:]}")
    )  # fmt: skip


# Real county-level division codes (GB/T 2260) for resident ids and credit codes.
_CN_AREAS = (
    "110101", "110105", "110108", "120101", "120104", "130102", "140105", "150102", "210102",
    "220102", "230103", "310101", "310104", "310115", "320102", "320505", "330102", "330106",
    "330203", "340104", "350203", "360102", "370202", "410105", "420106", "430104", "440103",
    "440106", "440305", "450103", "460106", "500103", "510107", "520102", "530102", "610113",
    "620102", "650102",
)  # fmt: skip


def cn_resident_id(rng: random.Random) -> str:
    born = dt.date(1950, 1, 1) + dt.timedelta(
        days=rng.randrange((dt.date(2005, 12, 31) - dt.date(1950, 1, 1)).days + 1)
    )
    return resident_id_complete(f"{rng.choice(_CN_AREAS)}{born:%Y%m%d}{_digits(rng, 3)}")


def cn_id_text(rng: random.Random) -> str:
    value = cn_resident_id(rng)
    if rng.random() < 0.1:
        return f"{value[:6]} {value[6:14]} {value[14:]}"
    return value


def uscc_text(rng: random.Random) -> str:
    if rng.random() < 0.6:  # issued since 2015: organisation code starting MA
        org = org_code_complete("MA" + _rand(rng, _USCC_CHARS[:10] * 3 + _USCC_CHARS[10:], 6))
    else:
        org = org_code_complete(_digits(rng, 8))
    kind = rng.choices(("91", "92", "93"), weights=(85, 10, 5))[0]
    return uscc_complete(kind + rng.choice(_CN_AREAS) + org)


_CN_BANKS = (
    ("中国工商银行", ("622202", "621226"), 19),
    ("中国建设银行", ("621700", "622700"), 19),
    ("中国农业银行", ("622848", "622845"), 19),
    ("招商银行", ("622588", "621483"), 16),
    ("中国银行", ("621661", "621785"), 19),
    ("交通银行", ("622262", "622260"), 17),
    ("浦发银行", ("622521", "621792"), 16),
    ("中国邮政储蓄银行", ("621799", "622188"), 19),
    ("平安银行", ("622155", "621626"), 16),
    ("兴业银行", ("622909", "622908"), 18),
)  # fmt: skip


def cn_card(rng: random.Random, ctx: Ctx, suffix: str) -> Value:
    bank = ctx.get("bank" + suffix)
    index = int(bank.meta["index"]) if bank else rng.randrange(len(_CN_BANKS))
    name, prefixes, length = _CN_BANKS[index]
    number = luhn_complete(rng.choice(prefixes) + _digits(rng, length - 7))
    text = " ".join(_groups(number, 4)) if rng.random() < 0.35 else number
    return Value(text, "CREDIT_CARD", meta={"bank": name, "index": str(index)})


def cn_bank(rng: random.Random, ctx: Ctx, suffix: str) -> Value:
    card = ctx.get("cn_card" + suffix)
    index = int(card.meta["index"]) if card else rng.randrange(len(_CN_BANKS))
    return Value(_CN_BANKS[index][0], meta={"index": str(index)})


_NO_IO = "ABCDEFGHJKLMNPQRSTUVWXYZ"


def cn_passport_text(rng: random.Random) -> str:
    return rng.choice(
        ("E" + _digits(rng, 8), "E" + rng.choice(_NO_IO) + _digits(rng, 7), "G" + _digits(rng, 8))
    )


def hk_permit_text(rng: random.Random) -> str:
    return rng.choice(("C" + _digits(rng, 8), "C" + rng.choice(_NO_IO) + _digits(rng, 7)))


def tw_permit_text(rng: random.Random) -> str:
    return "L" + _digits(rng, 8)


_PLATE_PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青川宁琼"
_PLATE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXY"


def plate_text(rng: random.Random) -> str:
    head = rng.choice(_PLATE_PROVINCES) + rng.choice(_PLATE_LETTERS[:12])
    tail = list(_digits(rng, 5))
    for _ in range(rng.choice((0, 0, 1, 2))):
        tail[rng.randrange(5)] = rng.choice(_PLATE_LETTERS)
    return head + rng.choice(("", "", "·", " ")) + "".join(tail)


def ev_plate_text(rng: random.Random) -> str:
    head = rng.choice(_PLATE_PROVINCES) + rng.choice(_PLATE_LETTERS[:12])
    second = rng.choice(_PLATE_LETTERS + "0123456789" * 2)
    return head + rng.choice(("", "", "·")) + rng.choice("DF") + second + _digits(rng, 4)


def qq_text(rng: random.Random) -> str:
    n = rng.choices(range(5, 12), weights=(2, 4, 8, 14, 14, 10, 3))[0]
    return str(rng.randrange(1, 10)) + _digits(rng, n - 1)


def wechat(rng: random.Random, ctx: Ctx, suffix: str) -> Value:
    meta = _person_meta(ctx, suffix)
    if meta is None or rng.random() < 0.3:
        return Value("wxid_" + _rand(rng, "abcdefghijklmnopqrstuvwxyz0123456789", 14), "ID")
    first, last = meta["first"], meta["last"]
    text = rng.choice(
        (
            f"{last}{first}_{rng.randrange(1975, 2006)}",
            f"{last}_{first}{rng.randrange(10, 100)}",
            f"{last[0]}{first[0]}{rng.randrange(1, 13):02d}{rng.randrange(1, 29):02d}",
            f"{first}{last}{_digits(rng, 3)}",
            f"{last}{first}-{rng.choice(('love', 'sky', 'cat', 'sun'))}",
        )
    )
    if len(text) < 6:
        text += _digits(rng, 6 - len(text))
    return Value(text, "ID")


_ZH_MAIL_DOMAINS = ("qq.com", "163.com", "126.com", "sina.com", "foxmail.com", "aliyun.com",
                    "139.com", "outlook.com", "gmail.com", "sohu.com")  # fmt: skip


def zh_email(rng: random.Random, ctx: Ctx, suffix: str) -> Value:
    meta = _person_meta(ctx, suffix)
    domain = rng.choice(_ZH_MAIL_DOMAINS)
    if rng.random() < 0.2:
        return Value(f"{qq_text(rng)}@qq.com", "EMAIL_ADDRESS")
    if meta is None or rng.random() < 0.2:
        return Value(f"{_handle(rng)}@{domain}", "EMAIL_ADDRESS")
    first, last = meta["first"], meta["last"]
    local = rng.choice(
        (
            f"{last}{first}",
            f"{last}.{first}",
            f"{first}.{last}",
            f"{last}{first}{rng.randrange(1970, 2006)}",
            f"{last}{first[0]}{_digits(rng, 3)}",
            f"{last}_{first}",
        )
    )
    if rng.random() < 0.15:
        domain = rng.choice(("xinghe-tech.cn", "yuntu.com.cn", "qimingdata.cn", "huixin.net"))
    return Value(f"{local}@{domain}", "EMAIL_ADDRESS")


def zh_profile_url(rng: random.Random, ctx: Ctx, suffix: str) -> Value:
    meta = _person_meta(ctx, suffix) or zh_person(rng, ctx, suffix).meta
    slug = meta["last"] + meta["first"]
    return Value(
        rng.choice(
            (
                f"https://weibo.com/u/{rng.randrange(1, 8)}{_digits(rng, 9)}",
                f"https://space.bilibili.com/{rng.randrange(1, 10)}{_digits(rng, 8)}",
                f"https://www.zhihu.com/people/{slug}-{_digits(rng, 2)}",
                f"https://github.com/{slug}",
                f"https://www.xiaohongshu.com/user/profile/{_rand(rng, '0123456789abcdef', 24)}",
                f"https://www.douban.com/people/{slug}/",
            )
        ),
        "URL",
    )


_ZH_COMPANY_HEADS = ("星河", "云图", "智联", "恒信", "博远", "新澜", "青禾", "华信", "金桥", "明德",
                     "远航", "聚源", "启明", "知微", "拓界", "瑞丰")  # fmt: skip
_ZH_INDUSTRIES = ("科技", "网络科技", "信息技术", "贸易", "餐饮管理", "文化传媒", "物流",
                  "建筑工程", "电子商务", "医疗器械", "教育咨询", "新能源")  # fmt: skip


def zh_company(rng: random.Random, ctx: Ctx, suffix: str) -> Value:
    form = rng.choice(("有限公司", "有限公司", "股份有限公司", "有限责任公司"))
    return Value(rng.choice(_ZH_COMPANY_HEADS) + rng.choice(_ZH_INDUSTRIES) + form)


def _zh_dob(rng: random.Random, ctx: Ctx, suffix: str) -> Value:
    ident = ctx.get("cn_id" + suffix)
    digits = ident.text.replace(" ", "") if ident else cn_resident_id(rng)
    y, m, d = digits[6:10], int(digits[10:12]), int(digits[12:14])
    return Value(rng.choice((f"{y}年{m}月{d}日", f"{y}-{m:02d}-{d:02d}", f"{y}.{m:02d}.{d:02d}")))


def _zh_amount(rng: random.Random, ctx: Ctx, suffix: str) -> Value:
    return Value(rng.choice((f"{rng.randrange(50, 20000)}元", f"¥{rng.randrange(50, 9999)}.00",
                             f"{rng.randrange(1, 30)}万元")))  # fmt: skip


def _zh_date(rng: random.Random, ctx: Ctx, suffix: str) -> Value:
    return Value(f"{rng.randrange(1, 13)}月{rng.randrange(1, 29)}日")


_ZH_JOBS = ("程序员", "护士", "会计", "中学老师", "设计师", "销售经理", "外卖骑手", "律师助理",
            "产品经理", "公务员", "厨师", "财务主管")  # fmt: skip
_ZH_PRODUCTS = ("扫地机器人", "空气净化器", "电动牙刷", "羽绒服", "笔记本电脑", "婴儿推车",
                "电饭煲", "蓝牙耳机", "跑步机")  # fmt: skip

ZH_REGISTRY: dict[str, Gen] = {
    "zh_person": zh_person,
    "cn_en_name": _cn_en_name,
    "zh_address": _labelled("LOCATION", zh_address_text),
    "zh_city": _labelled("LOCATION", zh_city_text),
    "zh_province": _labelled("LOCATION", zh_province_text),
    "zh_district": _labelled("LOCATION", zh_district_text),
    "zh_road": _labelled("LOCATION", zh_road_text),
    "cn_mobile": _labelled("PHONE_NUMBER", cn_mobile_text),
    "cn_landline": _labelled("PHONE_NUMBER", cn_landline_text),
    "cn_id": _labelled("ID", cn_id_text),
    "uscc": _labelled("ID", uscc_text),
    "cn_card": cn_card,
    "bank": cn_bank,
    "cn_passport": _labelled("ID", cn_passport_text),
    "hk_permit": _labelled("ID", hk_permit_text),
    "tw_permit": _labelled("ID", tw_permit_text),
    "plate": _labelled("ID", plate_text),
    "ev_plate": _labelled("ID", ev_plate_text),
    "qq": _labelled("ID", qq_text),
    "wechat": wechat,
    "zh_email": zh_email,
    "zh_profile_url": zh_profile_url,
    "zh_company": zh_company,
    "zh_dob": _zh_dob,
    "zh_amount": _zh_amount,
    "zh_date": _zh_date,
    "gender": _pick(("男", "女")),
    "zh_age": _pick(tuple(str(n) for n in range(22, 46))),
    "zh_job": _pick(_ZH_JOBS),
    "zh_dept": _pick(("市场部", "财务部", "技术部", "人事行政部", "客服中心", "采购部")),
    "zh_product": _pick(_ZH_PRODUCTS),
    "ip": _labelled("IP_ADDRESS", ipv4_text),
    "api_key": _labelled("SECRET", api_key_text),
    "aws_secret": _labelled("SECRET", aws_secret_text),
    "aliyun_key": _labelled("SECRET", lambda rng: "LTAI" + _rand(rng, _ALNUM, 20)),
    "zh_school": _pick(("实验小学", "第二中学", "外国语学校", "育才小学", "第一高级中学")),
}


# ----------------------------------------------------------------------------- English prompts

EN_TEMPLATES = (
    "Write a reference letter for {person}, who lives at {address}. They worked with me as a "
    "{job} at {company} for three years, and the landlord can reach me at {phone} if needed.",
    "Can you draft a polite email to {person} ({email}) reminding them that the invoice for the "
    "{product} is overdue? The order number is {order} and the balance is {amount}.",
    "Support ticket: customer {person} says the app charged their card {card} twice this month. "
    "Email on file: {email}. Phone: {phone}. Please summarize the issue for engineering.",
    "Please clean up the formatting of this form:\nName: {person}\nEmail: {email}\n"
    "Phone: {phone}\nAddress: {address}\nDate of birth: {dob}",
    "My name is {person} and I forgot my password. My registered email is {email} and my last "
    "login was from {ip}. What should I do?",
    'Translate this into Spanish: "Hi, this is {person:first}. Please call me back at {phone} '
    'about the apartment on {street}."',
    "Summarize this complaint: I ordered a {product} (order {order}) and it was delivered to "
    "{address} instead of my home. My name is {person} and my number is {phone}.",
    "I need to send money to my sister for her tuition. Her IBAN is {iban} and the account name "
    "is {person}. Can you write a clear payment reference?",
    "Our server at {ip} keeps rejecting connections from {ip2}. The admin contact is {person} "
    "<{email}>. Write a short incident summary.",
    "Help me write a cover letter. I'm {person}, a {job} based in {city}. List my contact "
    "details as {email} and {phone}.",
    "Is this a valid SSN format? {ssn}. It belongs to my client {person} and I'm filling in a "
    "W-9 for them.",
    "Draft a message to HR: employee {person} (SSN {ssn}) moved to {us_address} and the payroll "
    "address needs to be updated before the {date} run.",
    "I'm travelling to {country} next month. My passport number is {passport}, issued to "
    "{person}. Which visa form do I need?",
    "Debug this: my script fails with 401 when I call the API with key {api_key}. The account "
    "belongs to {email}.",
    "Why does boto3 reject my credentials?\naws_access_key_id = {aws_key}\n"
    "aws_secret_access_key = {aws_secret}\nregion = us-east-1",
    'Rewrite this text so it sounds friendlier: "{person:first}, the plumber is coming to '
    "{street} tomorrow at {time}, text me at {phone} if you can't be home.\"",
    "Make a packing list for a week in {city}. I'm staying with {person} at {address}.",
    "Create a JSON object for this contact: {person}, {email}, {phone}, {address}.",
    "I got a suspicious email from {email} claiming to be my bank and asking me to confirm my "
    "card number {card}. Is this phishing?",
    "Update my billing details: new card {card}, expiry {expiry}, billing address {address}.",
    "Write a LinkedIn recommendation for {person}, who was my {job} for two years. Their "
    "profile is {profile_url}.",
    "Here's my resume header, make it look more professional:\n{person}\n{address}\n"
    "{phone} | {email} | {profile_url}",
    "Please check whether this IBAN is correct before I send the rent: {iban} (landlord: "
    "{person}).",
    "My neighbour {person} at {street} keeps parking across my driveway. Help me write a polite "
    "note that doesn't sound passive-aggressive.",
    'Translate to French: "Please deliver the package to {person}, {address}. Phone {phone}."',
    "Generate a shipping label text for {person}, {address}, tel. {phone}.",
    "Our VPN logs show a login for {email} from {ip} and then from {ipv6} ten minutes later. "
    "Is that suspicious?",
    "Write a note to the parents of {person}, reminding them that the field trip form must be "
    "returned to {person2} by {weekday}. They can call the school office at {phone}.",
    "Can you turn these notes into meeting minutes? Attendees: {person}, {person2}, {person3}. "
    "Action items: {person2:first} sends the contract to {email2}; {person3:first} books the "
    "venue.",
    "My GitHub token {github_token} was accidentally pushed to a public repo. What are the "
    "steps to rotate it?",
    "Explain what this JWT contains and whether it has expired: {jwt}",
    "I pasted this into our config repo by mistake. Is it an RSA or an EC key, and what do I do "
    "now?\n{private_key}",
    "Please help me dispute a charge. Cardholder: {person}. Card number: {card}. Merchant: "
    "{company}. Amount: {amount}.",
    "Compose a birthday message for {person:first}. Mention that we'll meet at {street} in "
    "{city} on {weekday}.",
    "Write an apology email to {person} for the delayed order {order}. Their shipping address "
    "is {address}.",
    "Convert this to a table: {person} - {phone} - {city}; {person2} - {phone2} - {city2}; "
    "{person3} - {phone3} - {city3}.",
    "My landlord {person} wants my SSN ({ssn}) and a copy of my passport ({passport}) for the "
    "lease. Is that normal?",
    "Hi! I'm {person:first}. Can you recommend a few quiet restaurants near {address}?",
    "Draft an appointment request for my father {person}, born {dob}. The clinic can reach me "
    "on {phone} or at {email}.",
    "I run a small bakery in {city}. Write an Instagram bio and include our contact email "
    "{work_email} and phone {phone}.",
    "Check this payroll CSV for errors:\nname,ssn,iban\n{person},{ssn},{iban}\n"
    "{person2},{ssn2},{iban2}\n{person3},{ssn3},{iban3}",
    "My ex keeps messaging me from {phone}. How can I block the number on Android?",
    "Write a formal complaint to {company} about an unauthorized transfer from my account "
    "{iban}. My name is {person} and I live at {address}.",
    "What's the time difference between {city} and {city2}? I need to call {person} at "
    "{phone} before their morning stand-up.",
    "Please anonymize this before I share it: '{person} ({email}) reported that the kiosk at "
    "{address} was offline again.'",
    "Give me a short bio for the conference program: {person} is a {job} at {company}. "
    "Contact: {work_email}. Website: {profile_url}",
    "I received a letter addressed to {person} at my address, {address}. What should I do with it?",
    "Please write an out-of-office reply that tells people to contact {person} at {work_email} "
    "or {phone} while I'm away until {date}.",
    "The firewall flagged outbound traffic from {ip} to {ip2} on port 4444. The laptop belongs "
    "to {person}. Draft a ticket for the security team.",
    "Set up a Stripe webhook for me. My secret key is {stripe_key}; is that the right one to "
    "use in the browser?",
    'Here is a customer record that failed validation: {"name": "{person}", "email": '
    '"{email}", "phone": "{phone}", "card": "{card}"}. What\'s wrong with it?',
    "Please help me fill in the change of address form: {person}, National Insurance number "
    "{ni}, new address {uk_address}, phone {uk_phone}.",
    "I'm moving from {city} to {city2}. Write a letter to my bank asking them to update my "
    "address to {address} and keep {phone} as my contact number.",
    "Our Slack bot stopped posting. The token in the env file is {slack_token}. How do I check "
    "whether it was revoked?",
    "Write a short welcome email to our new hire {person}. Their first day is {date}; they "
    "should ask for {person2} at reception and can call {us_phone} if they get lost.",
    "I'm selling my car to {person}. Draft a simple bill of sale: buyer address {address}, "
    "buyer phone {phone}, price {amount}.",
    "Can you tell which country this IBAN is from and whether the check digits are right? {iban}",
    "Roleplay as a bank agent. I'm {person}, my card {card} was declined at {company} and I "
    "need to know why. My phone is {phone}.",
    "My tenant {person} gave me {ssn} as their SSN on the application but the credit check "
    "failed. Could it be a typo?",
    "Find the bug: user {email} can log in from {ip} but not from {ipv6}, both through the "
    "same proxy.",
    "Write a thank-you card to {person} and {person2} for hosting us at {address} last weekend.",
    "Remind me what to bring to the embassy appointment on {date}: passport {passport} "
    "(holder {person}), two photos, and the printed form.",
    "Which service is this credential for? I found {secret} in an old notebook of mine and "
    "want to rotate it before I throw the notebook away.",
    "My cousin {person} is visiting from {country} and her local number is {intl_phone}. How do I "
    "call it from abroad, and what time is it there now?",
    "Please write a short note thanking Dr. {person:last} for seeing my son on {date}. Mention "
    "that we will book the follow-up through the clinic line, {phone}.",
    "Please merge these duplicate contacts: {person} / {email} / {phone} and {person:first} / "
    "{email2} / {phone2}.",
)

EN_NO_PII = (
    "Write a haiku about autumn leaves.",
    "Explain the difference between a Roth IRA and a traditional IRA in simple terms.",
    "Give me a three-day meal plan for a vegetarian who trains for a half marathon.",
    "What are good questions to ask at the end of a job interview?",
    "Summarize the main causes of inflation in two short paragraphs.",
    "Draft a polite email declining a meeting invitation because of a scheduling conflict.",
    "How do I politely remind a coworker about an overdue task?",
    "Suggest five names for a grey cat that sleeps all day.",
    "Explain how vaccines train the immune system, for a ten-year-old.",
    "Write a short story about a robot who learns to garden.",
    "What should I pack for a two-week hiking trip in the mountains?",
    "Rewrite this sentence to be more concise: 'In order to make sure that we are able to meet "
    "the deadline, we need to start working on it as soon as possible.'",
    "Give me tips for fixing my sleep schedule after night shifts.",
    "Compare renting versus buying a home for someone in their thirties.",
    "Create a beginner workout plan with no equipment, three days a week.",
    "Help me write a thank-you note to my team after a successful product launch.",
    "What's a good way to learn a new language as an adult with a full-time job?",
    "List the pros and cons of remote work for a small design agency.",
    "Explain compound interest with a simple example.",
    "Write a toast for my sister's wedding that is funny but kind.",
    "How do I negotiate a higher salary without sounding rude?",
    "Give me a checklist for moving house.",
    "What is the difference between weather and climate?",
    "Write a product description for a handmade ceramic mug.",
    "Plan a rainy-day activity schedule for two kids aged six and nine.",
    "Explain the offside rule in football like I've never watched a match.",
    "Suggest a reading list for someone who wants to get into science fiction.",
    "Help me structure a five-minute talk about why sleep matters.",
)

EN_OPENERS = (
    "Hi!", "Hello,", "Quick question.", "Hey, can you help me with something?", "Good morning.",
    "I need a hand with this.", "Sorry if this is a silly question.", "Urgent:",
    "Context: I'm writing this from my phone, so excuse typos.", "Hi there, thanks in advance.",
)  # fmt: skip
EN_CLOSERS = (
    "Thanks!", "Please keep it under 150 words.", "Use a warm but professional tone.",
    "Format the answer as bullet points.", "Thanks in advance.", "Keep it short, please.",
    "Make it sound less formal.", "Can you also give me a subject line?", "Much appreciated!",
    "Please answer in plain English, no jargon.",
)  # fmt: skip
EN_PARAGRAPHS = (
    "Some background: we've been going back and forth on this for a couple of weeks and I'd "
    "like to close it out before the end of the quarter. The other side has been responsive, "
    "but the details keep changing, so I want something clear and easy to skim.",
    "For context, this is the third time this has happened. The first time I let it go, the "
    "second time I called and was told it would be fixed within a few business days. Nothing "
    "changed, and now I'd like a written record of the problem.",
    "I'm not a native speaker, so please fix any grammar mistakes you notice, and if a sentence "
    "sounds odd, rewrite it rather than just pointing it out. I'd rather the result read "
    "naturally than stay close to my wording.",
    "The deadline is tight. I need to send this today, ideally before lunch, and my manager "
    "will read it first. She prefers short paragraphs and no exclamation marks, and she "
    "doesn't like it when emails start with an apology.",
    "Please don't invent any details that aren't in my notes. If something is missing, leave "
    "a placeholder in square brackets so I can fill it in myself later.",
    "A bit more detail: the issue started after the last update. Before that everything worked "
    "fine for months. I already tried restarting, reinstalling and clearing the cache, and "
    "none of that helped. Support hasn't answered my last two messages.",
    "I'd also like a second version that is more formal, in case this ends up going to the "
    "legal department. Keep both versions under a page, and highlight the parts you changed "
    "between them.",
    "Last year we did something similar and it went badly because nobody knew who was "
    "responsible for what. This time I want every task to have one owner and a date, even if "
    "the date is only an estimate.",
)

EN_CATEGORY = "en_template"


# ----------------------------------------------------------------------------- Chinese prompts

ZH_TEMPLATES = (
    "帮我写一封推荐信，推荐人是{zh_person}，目前住在{zh_address}，联系电话{cn_mobile}。",
    "姓名：{zh_person}\n性别：{gender}\n身份证号：{cn_id}\n手机：{cn_mobile}\n住址：{zh_address}\n"
    "请帮我检查这份入职登记表有没有漏填的项目。",
    "我叫{zh_person}，快递三天了还没到，收货地址是{zh_address}，手机号{cn_mobile}，"
    "麻烦帮我写一段催件的话术。",
    "请把下面的信息整理成表格：{zh_person}，{cn_mobile}，{zh_city}；{zh_person2}，"
    "{cn_mobile2}，{zh_city2}；{zh_person3}，{cn_mobile3}，{zh_city3}。",
    "帮我给房东{zh_person}写一条微信，说这个月的房租{zh_amount}已经转到他的银行卡{cn_card}了，"
    "请他查收。",
    "我的身份证号是{cn_id}，帮我算一下我今年多大了？",
    "公司名称：{zh_company}\n统一社会信用代码：{uscc}\n开户行：{bank}\n账号：{cn_card}\n"
    "地址：{zh_address}\n电话：{cn_landline}\n请帮我把这些开票信息核对一下格式。",
    "请帮我写一份请假条，我是{zh_dept}的{zh_person}，家里有事需要请假三天，"
    "紧急联系人{zh_person2}，电话{cn_mobile}。",
    "我的车牌号是{plate}，昨天在{zh_district}被贴了罚单，怎么在网上处理？",
    "这是我朋友的QQ：{qq}，他说可以帮我代购，靠谱吗？",
    "加我微信：{wechat}，备注“租房”，我把合同发给你。",
    "请把简历发到{zh_email}谢谢，邮件标题写“应聘+姓名”。",
    "我要办理签证，护照号码{cn_passport}，姓名{zh_person}，出生日期{zh_dob}，"
    "请帮我写一份在职证明。",
    "港澳通行证号码{hk_permit}，持证人{zh_person}，帮我查一下续签需要准备什么材料。",
    "我下个月出行，往来台湾通行证号码是{tw_permit}，还需要提前办入台证吗？",
    "帮我润色一下这段自我介绍：大家好，我叫{zh_person}，来自{zh_province}，现在在{zh_city}"
    "工作，欢迎加我微信{wechat}交流。",
    "客户投诉：{zh_person}（手机{cn_mobile}）反映在{zh_address}的门店买的{zh_product}"
    "有质量问题，请生成一份工单摘要。",
    "物业报修：{zh_address}，卫生间漏水，业主{zh_person}，联系电话{cn_landline}。"
    "请帮我改写得正式一点。",
    "我在{zh_district}租了一套房子，合同上房东写的身份证号是{cn_id}，这个号码格式对吗？",
    "银行卡号：{cn_card}\n户名：{zh_person}\n开户行：{bank}\n请帮我生成一段转账说明。",
    "帮我给{zh_person}老师写一封感谢信，寄到{zh_address}。",
    "我们公司（{zh_company}，统一社会信用代码{uscc}）要申请高新技术企业，需要准备哪些材料？",
    "收货人：{zh_person}\n电话：{cn_mobile}\n地址：{zh_address}\n帮我把这个地址改成快递单的格式。",
    "请把这段聊天记录总结一下：\n{zh_person}：我明天到{zh_city}，住在{zh_address}。\n"
    "{zh_person2}：好的，到了给我打电话，我手机{cn_mobile}。",
    "我的QQ号{qq}被盗了，绑定的手机号是{cn_mobile}，怎么找回？",
    "我的手機號碼是{cn_mobile}，請幫我查詢上個月的帳單，謝謝。",
    "我家孩子{zh_person}在{zh_school}上三年级，帮我写一段给班主任的请假信息，家长电话{cn_mobile}。",
    "保险理赔申请：被保险人{zh_person}，身份证{cn_id}，事故地点{zh_address}，"
    "联系方式{cn_mobile}。请帮我写一段事故经过说明。",
    "我想给{zh_person}转账，他给了我一个卡号{cn_card}，但是位数好像不对，帮我看看。",
    "帮我写一段朋友圈文案，宣传我在{zh_district}新开的咖啡店，地址{zh_road}，"
    "订座电话{cn_landline}。",
    "请帮我起草租房合同的甲乙方信息：甲方{zh_person}，身份证号{cn_id}；"
    "乙方{zh_person2}，身份证号{cn_id2}；房屋地址{zh_address}。",
    "我的邮箱{zh_email}收不到验证码，手机号{cn_mobile}也收不到短信，怎么办？",
    "我在网上买了{zh_product}，卖家让我加他QQ{qq}私下交易，这样安全吗？",
    "请帮我把这个地址翻译成英文：{zh_address}",
    "车辆信息：车主{zh_person}，车牌{plate}，联系电话{cn_mobile}。帮我写一份车辆转让协议的开头。",
    "这是我们公司的营业执照信息：名称{zh_company}，统一社会信用代码{uscc}，"
    "法定代表人{zh_person}。帮我写一个公司简介。",
    "我叫{zh_person}，{zh_age}岁，在{zh_city}做{zh_job}，帮我写一份相亲用的自我介绍。",
    "下周去{zh_city}出差，酒店预订人{zh_person}，手机{cn_mobile}，邮箱{zh_email}，"
    "帮我写一封确认邮件。",
    "律师您好，我是{zh_person}，身份证号码{cn_id}，住址{zh_address}，想咨询劳动仲裁的问题。",
    "帮我写一份失物招领启事：今天在{zh_road}附近捡到一个钱包，里面有{zh_person}的身份证"
    "（{cn_id}），失主请联系{cn_mobile}。",
    "单位电话：{cn_landline}，传真同号。联系人：{zh_person}。请把这段改成名片的格式。",
    "我的微信号是{wechat}，QQ是{qq}，邮箱是{zh_email}，帮我做一张简单的个人联系卡片。",
    "新能源车{ev_plate}的充电桩要装在{zh_address}的车位，物业联系人{zh_person}"
    "说需要业主签字，申请怎么写？",
    "请帮我核对一下护照信息：姓名{zh_person}，护照号{cn_passport}，出生地{zh_province}。",
    "我在{zh_city}办了一张卡，卡号{cn_card}，现在人在国外，怎么挂失？",
    "老板让我把供应商{zh_company}（税号{uscc}）的发票信息发给财务{zh_person}，"
    "邮箱{zh_email}，帮我写封邮件。",
    "微信号 {wechat}\n手机 {cn_mobile}\n以上是我的联系方式，帮我写一个二手书转让的帖子。",
    "我爸{zh_person}的医保卡丢了，身份证号{cn_id}，户籍在{zh_province}，"
    "现在住{zh_address}，补办流程是什么？",
    "帮我回复这条消息：“您好，我是{zh_person}，上次面试的候选人，请问结果出来了吗？"
    "我的电话是{cn_mobile}。”",
    "小区门禁登记：{zh_person}，{zh_address}，车牌{plate}，手机{cn_mobile}。请检查是否有错别字。",
    "我的个人主页是{zh_profile_url}，帮我写一段简介放在上面。",
    "请把电话{cn_landline}和{cn_mobile}整理到通讯录里，联系人写{zh_person}。",
    "帮我给客户{zh_person}发一条短信，提醒他{zh_date}前把货款{zh_amount}"
    "打到对公账户，有问题打{cn_landline}。",
    "台胞证号码{tw_permit}的持证人{zh_person}要在{zh_city}开银行账户，需要带哪些材料？",
    "我家路由器的公网 IP 是{ip}，最近总有陌生设备连进来，"
    "管理员账号绑定的手机是{cn_mobile}，怎么排查？",
    "服务器{ip}一直在被{ip2}暴力破解 SSH，运维负责人{zh_person}让我写一份安全事件报告。",
    "不小心把 OpenAI 的 key {api_key} 发到工作群里了，怎么作废？"
    "群里还有{zh_person}和{zh_person2}。",
    "阿里云 AccessKey ID：{aliyun_key}\nAccessKey Secret：{aws_secret}\n"
    "这是同事{zh_person}离职前留下的，怎么判断还有没有在用？",
    "同学聚会名单：\n1. {zh_person}，{cn_mobile}\n2. {zh_person2}，{cn_mobile2}\n"
    "3. {zh_person3}，{cn_mobile3}\n帮我按姓氏拼音排个序。",
)

ZH_NO_PII = (
    "帮我写一首关于春天的诗。",
    "解释一下什么是通货膨胀，越通俗越好。",
    "给我推荐几本适合初学者的理财书。",
    "如何在三个月内提高英语口语？",
    "帮我写一段公司年会的开场白，要幽默一点。",
    "周末去爬山需要带什么东西？",
    "请用简单的话解释区块链是什么。",
    "帮我规划一个一周的减脂食谱。",
    "写一封辞职信的模板，语气委婉一些。",
    "孩子不爱写作业怎么办？",
    "请总结一下常见的时间管理方法。",
    "推荐几部适合全家一起看的电影。",
    "帮我把这句话改得更有礼貌：你们的服务太慢了。",
    "面试时被问到自己的缺点应该怎么回答？",
    "番茄炒蛋怎么做才好吃？",
    "帮我写一段产品介绍，产品是一款手工陶瓷杯。",
    "怎么跟领导提加薪比较合适？",
    "解释一下复利的概念，并举一个例子。",
    "请帮我列一个搬家需要注意的事项清单。",
    "帮我想五个适合宠物店的名字。",
    "长期熬夜对身体有哪些影响？",
    "写一段鼓励高三学生的话。",
    "如何培养孩子的阅读习惯？",
    "帮我把下面这段话翻译成英文：今天的会议推迟到下午三点。",
)

ZH_OPENERS = (
    "你好，", "麻烦问一下，", "急！", "请帮个忙：", "在吗？", "早上好，", "打扰一下，",
    "有个问题想请教：",
)  # fmt: skip
ZH_CLOSERS = (
    "谢谢！", "请用正式一点的语气。", "字数控制在300字以内。", "麻烦尽快回复，谢谢。",
    "语气轻松一点就行。", "分点列出来。", "辛苦了！", "不要太长。",
)  # fmt: skip
ZH_PARAGRAPHS = (
    "补充一下背景：这件事已经拖了两个多星期了，之前打过好几次电话，每次都说在处理，"
    "但是一直没有结果。我希望这次能有一个书面的说明，方便以后跟进。",
    "另外，我不太会写正式的文字，麻烦你帮我把语气调整得客气一点，但是该说清楚的要说清楚，"
    "不要写得太啰嗦，最好控制在一页纸以内。",
    "请注意不要编造我没有提供的信息，如果有缺少的内容，用方括号留出空白，我自己再补充。",
    "这个周五之前一定要交上去，领导会先看一遍，他比较喜欢条理清楚、分段明确的写法，"
    "不喜欢太多形容词。",
    "之前我自己试着写过一版，但是读起来很别扭，逻辑也有点乱。你可以完全重写，不用保留我原来的句子。",
    "如果可以的话，再给我一个简短的版本，方便直接发在群里。",
    "说明一下情况：上次我们也遇到过类似的问题，当时因为没有留下书面记录，后来双方各执一词，"
    "处理起来非常麻烦。所以这次我想从一开始就把每一步都写清楚，包括时间、经过和我们的诉求，"
    "避免以后再出现扯皮的情况。",
    "我对格式没有特别的要求，但是希望重点突出，开头一两句话就能让对方明白是什么事情。"
    "结尾的地方请加上礼貌的结束语，并且提醒对方在方便的时候尽快回复。",
    "顺便问一下，这类文字一般用什么样的称呼比较合适？是直接写名字，还是写职务？"
    "如果对方比我年长，是不是应该更客气一些？请在改写的同时给我一些建议。",
)

ZH_CATEGORY = "zh_template"


# ----------------------------------------------------------------------------- mixed-script prompts

MIXED_TEMPLATES = (
    (
        "zh",
        "帮我给 {person} 写一封英文邮件，他的邮箱是 {email}，告诉他 MacBook 的订单已经发到"
        "{zh_address}了。",
    ),
    ("zh", "我的 manager {person} 让我把 quarterly report 发到 {work_email}，帮我写个 draft。"),
    ("zh", "Hi，我是{zh_person}，我的 iPhone 丢了，Apple ID 是 {zh_email}，怎么远程锁定？"),
    (
        "zh",
        "帮我改改这段文案：欢迎来到{zh_district}的 Starbucks 星巴克门店，预约请致电 "
        "{cn_landline}。",
    ),
    (
        "zh",
        "我在 Airbnb 上订了{zh_city}的房子，房东 {person} 让我把护照号 {cn_passport} "
        "发给他，safe 吗？",
    ),
    (
        "zh",
        "请把这个 contact 加到 CRM：Name: {zh_person}，Mobile: {cn_mobile}，"
        "Email: {zh_email}，Company: {zh_company}",
    ),
    ("zh", "我的 LinkedIn 是 {profile_url}，帮我写一段 summary，突出我做 {job} 的经验。"),
    ("zh", "Zoom 会议链接发给 {person} 了吗？他的 email 是 {email}，手机 {phone}。"),
    ("zh", "帮我翻译成英文：我叫{zh_person}，住在{zh_address}，我的 WeChat 是 {wechat}。"),
    (
        "zh",
        "Uber Eats 的外卖送错地址了，应该送到{zh_address}，我手机 {cn_mobile}，"
        "帮我写个 complaint。",
    ),
    ("zh", "PayPal 要我验证 IBAN {iban}，这是我在 {country} 的账户，户名 {person}。"),
    (
        "zh",
        "我叫{zh_person}，英文名 {first_name}，在{zh_city}做 UI designer，"
        "帮我写个 LinkedIn headline。",
    ),
    ("zh", "{cn_en_name} 是我们的 sales，手机 {cn_mobile}，邮箱 {email}，帮我做一张 name card。"),
    (
        "zh",
        "请用 Markdown 表格整理：| {zh_person} | {cn_mobile} | {zh_email} |，"
        "再加一行 {person} 的信息 {phone}。",
    ),
    ("zh", "我用 Google Maps 搜不到{zh_address}，是不是应该写成拼音？"),
    ("zh", "帮我写一条 Slack 消息给 {person}：明天的 demo 改到下午，有事打我 {cn_mobile}。"),
    ("zh", "我的 Visa 卡 {card} 在 Amazon 上被拒了，是不是因为账单地址写的是{zh_address}？"),
    ("zh", "Boss 说 {cn_en_name} 的 offer letter 要寄到{zh_address}，帮我写一下 English 版本。"),
    ("zh", "我在 GitHub 上不小心提交了 AWS key {aws_key}，应该怎么 revoke？"),
    ("zh", "我室友 {first_name} 是美国人，她想用微信支付，但她的 SSN {ssn} 绑定不了，怎么办？"),
    (
        "zh",
        "帮我检查这个 shipping label：To: {person}, {address}. From: {zh_person}，"
        "{zh_address}，Tel {cn_mobile}。",
    ),
    ("zh", "明天和 client {person} 在{zh_district}的 WeWork 开会，帮我写个 agenda。"),
    ("zh", "请把 {person}（{email}）加到我们的 WeChat group，他的微信号是 {wechat}。"),
    (
        "zh",
        "我用 Excel 做了一份员工表，{zh_person} 的身份证号 {cn_id} 显示成了科学计数法，怎么改？",
    ),
    (
        "en",
        "My landlord {zh_person} asked me to transfer the deposit to his UnionPay card "
        "{cn_card}. Can you translate my message into Chinese?",
    ),
    (
        "en",
        "Please write an English cover letter for my friend {zh_person}; her address is "
        "{zh_address} and her mobile is {cn_mobile}.",
    ),
    ("en", "How do I pronounce {zh_person}'s name? We're meeting at {zh_address} tomorrow."),
    (
        "en",
        "My Chinese colleague {zh_person} ({zh_email}) needs an invitation letter for a "
        "visa; passport number {cn_passport}.",
    ),
    (
        "en",
        "Translate this shipping address to English: {zh_address}, recipient {zh_person}, "
        "phone {cn_mobile}.",
    ),
    ("en", "Is {cn_id} a valid Chinese resident ID? It belongs to my new employee {zh_person}."),
    (
        "en",
        "Our supplier {zh_company} sent their Unified Social Credit Code {uscc}. How do I "
        "verify it before we sign?",
    ),
    (
        "en",
        "I'm {person}, living in {zh_city} now. My WeChat is {wechat} and my Chinese number "
        "is {cn_mobile}. Write a short intro for a language exchange group.",
    ),
    (
        "en",
        "Draft a message in English to {zh_person} asking them to add me on WeChat "
        "({wechat}) or QQ ({qq}).",
    ),
    (
        "en",
        "The car with plate {plate} hit my bike near {zh_road}. How do I report it to the "
        "local police?",
    ),
    (
        "en",
        "Can you explain what 户口 means? My partner {zh_person} is registered in "
        "{zh_province} but we live at {zh_address}.",
    ),
    (
        "en",
        "My business partner {cn_en_name} (微信 {wechat}) wants me to wire the money to "
        "{cn_card} at {bank}. Is that a normal way to pay a supplier?",
    ),
    (
        "en",
        "Please format this for a Western address label: {zh_person}, {zh_address}, "
        "tel {cn_landline}.",
    ),
    (
        "en",
        "I'm booking a hotel in {zh_city} for {person}. The hotel asks for her passport "
        "{passport} and phone {phone}. What should I send?",
    ),
    (
        "en",
        "Write a thank-you note to {zh_person} for hosting our team in {zh_city}; sign it "
        "from {person} and me.",
    ),
    (
        "en",
        "Convert these contacts to vCard: {zh_person} 手机 {cn_mobile}; {person} mobile "
        "{phone}; {cn_en_name} email {zh_email}.",
    ),
    (
        "en",
        "My 港澳通行证 number is {hk_permit} and the name on it is {zh_person}. "
        "Which form do I fill in to renew it online?",
    ),
    (
        "en",
        "Explain this Chinese form to me: 姓名 {zh_person}，电话 {cn_mobile}，"
        "地址 {zh_address}。 Which fields are mandatory?",
    ),
    (
        "en",
        "I ordered from Taobao and the seller's QQ is {qq}. The parcel should go to "
        "{zh_address}. Can you write a polite follow-up in Chinese?",
    ),
    ("en", "Email {zh_email} bounced. Is there a typo? It's for {zh_person} at {zh_company}."),
)

MIXED_NO_PII = (
    ("zh", "帮我把这句 slogan 翻译成中文：Think big, start small."),
    ("zh", "用 PowerPoint 做 presentation 有什么 tips？"),
    ("zh", "我想学 Python，有没有适合 beginner 的 roadmap？"),
    ("en", "What's the difference between 的, 地 and 得? Give me examples."),
    ("en", "How do I say 'see you tomorrow' in Chinese, and when do people use 明天见?"),
    ("en", "Recommend a few Chinese dishes that are easy to cook, like 番茄炒蛋."),
    ("zh", "这个 brand name 翻译成中文好听吗：Brightpath？"),
    ("en", "Is 'Starbucks 星巴克' a transliteration or a translation?"),
)

MIXED_CATEGORY = "mixed"


# ----------------------------------------------------------------------------- evasion forms


@dataclass(frozen=True)
class Target:
    """One identifier of the evasion set, with its canonical digit/letter groups (empty for
    e-mails) and the template sentence every form of it is written into."""

    lang: str
    kind: str
    label: str
    plain: str
    groups: tuple[str, ...]
    template: str


_EVASION_TEMPLATES = {
    "us_phone": (
        "Please call me back on {v} after 6pm.",
        "Customer phone: {v}",
        "New contact number for the account: {v}. The old one is disconnected.",
        "The signup request was GET /api/register?phone={v}&lang=en and it failed, why?",
    ),
    "uk_phone": (
        "You can reach me on {v} most evenings.",
        "Update the emergency contact to {v}, please.",
        "Landline for deliveries: {v}",
    ),
    "email": (
        "Send the invoice to {v} please.",
        "My login is {v} but the reset link never arrives.",
        "Contact: {v}",
        "Why does the form reject ?email={v}&plan=pro as invalid?",
    ),
    "ssn": (
        "My SSN is {v}, please fill it into the W-4.",
        "SSN: {v}",
        "Use social security number {v} for the background check.",
    ),
    "card": (
        "Charge the deposit to card {v}.",
        "card number {v}, exp 09/27",
        "Can you tell me which bank issued the card {v}?",
    ),
    "iban": (
        "Please transfer the refund to IBAN {v}.",
        "IBAN: {v}",
        "The rent goes to {v} every month, is the format right?",
    ),
    "cn_mobile": (
        "我的手机号是{v}，有事打给我。",
        "联系电话：{v}",
        "请把验证码发到{v}，谢谢。",
        "收件人手机{v}，送到门口就行。",
        "注册接口 /api/register?mobile={v}&lang=zh 一直报错，为什么？",
    ),
    "cn_id": (
        "身份证号：{v}",
        "我的身份证号码是{v}，帮我填一下表。",
        "请核对身份证{v}是否正确。",
    ),
    "cn_card": (
        "银行卡号{v}，请把工资打到这张卡上。",
        "卡号：{v}",
        "退款请退到{v}这张卡。",
    ),
    "zh_email": (
        "简历请投递至{v}，谢谢。",
        "邮箱：{v}",
        "请发到{v}，我今晚查收。",
    ),
}
_EVASION_PLAN = {
    "en": (("us_phone", 6), ("uk_phone", 4), ("email", 6), ("ssn", 6), ("card", 5), ("iban", 5)),
    "zh": (("cn_mobile", 10), ("cn_id", 10), ("cn_card", 6), ("zh_email", 6)),
}
_BASE64_PREFIX = {
    "us_phone": "phone", "uk_phone": "phone", "email": "email", "ssn": "ssn", "card": "card",
    "iban": "iban", "cn_mobile": "手机", "cn_id": "身份证", "cn_card": "卡号", "zh_email": "邮箱",
}  # fmt: skip
_UK_EVASION_PATTERNS = ("020 7946 0###", "+44 20 7946 0###", "07700 900###", "+44 7700 900###",
                        "0161 496 0###", "+44 113 496 0###")  # fmt: skip


TargetValue = tuple[str, str, tuple[str, ...]]  # label, plain text, canonical groups


def _t_us_phone(rng: random.Random) -> TargetValue:
    a, e, n = us_phone_groups(rng)
    if rng.random() < 0.35:
        return "PHONE_NUMBER", f"+1 {a} {e} {n}", ("+1", a, e, n)
    return "PHONE_NUMBER", f"({a}) {e}-{n}", (a, e, n)


def _t_uk_phone(rng: random.Random) -> TargetValue:
    plain = _fill(rng, rng.choice(_UK_EVASION_PATTERNS))
    return "PHONE_NUMBER", plain, tuple(plain.split())


def _t_email(rng: random.Random) -> TargetValue:
    meta = en_person(rng, {}, "").meta
    domain = rng.choice([d for d in _MAIL_DOMAINS if "-" not in d])
    return "EMAIL_ADDRESS", _evasion_email(rng, meta, domain), ()


def _t_zh_email(rng: random.Random) -> TargetValue:
    meta = zh_person(rng, {}, "").meta
    return "EMAIL_ADDRESS", _evasion_email(rng, meta, rng.choice(_ZH_MAIL_DOMAINS)), ()


def _evasion_email(rng: random.Random, meta: dict[str, str], domain: str) -> str:
    """An address with digits in it, so that the digit forms change it too."""
    first, last = meta["first"], meta["last"]
    local = rng.choice(
        (f"{first}.{last}{rng.randrange(1970, 2006)}", f"{last}{first}{rng.randrange(10, 100)}",
         f"{first[0]}{last}{rng.randrange(1, 1000)}", f"{last}_{first}{rng.randrange(1, 13):02d}")
    )  # fmt: skip
    return f"{local}@{domain}"


def _t_ssn(rng: random.Random) -> TargetValue:
    groups = tuple(ssn_groups(rng))  # plain is not dashed, so that `dashed` differs from it
    return "ID", rng.choice((" ", "")).join(groups), groups


def _t_card(rng: random.Random) -> TargetValue:
    groups = tuple(card_groups(card_digits(rng, rng.choice((0, 0, 1, 2)))))
    return "CREDIT_CARD", " ".join(groups), groups


def _t_iban(rng: random.Random) -> TargetValue:
    groups = tuple(_groups(iban_value(rng), 4))
    return "IBAN_CODE", " ".join(groups), groups


def _t_cn_mobile(rng: random.Random) -> TargetValue:
    d = cn_mobile_digits(rng)
    groups = (d[:3], d[3:7], d[7:])
    if rng.random() < 0.3:
        return "PHONE_NUMBER", f"+86 {' '.join(groups)}", ("+86", *groups)
    return "PHONE_NUMBER", d, groups


def _t_cn_id(rng: random.Random) -> TargetValue:
    value = cn_resident_id(rng)
    return "ID", value, (value[:6], value[6:14], value[14:])


def _t_cn_card(rng: random.Random) -> TargetValue:
    number = cn_card(rng, {}, "").text.replace(" ", "")
    groups = tuple(_groups(number, 4))
    return "CREDIT_CARD", " ".join(groups) if rng.random() < 0.4 else number, groups


_TARGET_MAKERS: dict[str, Callable[[random.Random], TargetValue]] = {
    "us_phone": _t_us_phone,
    "uk_phone": _t_uk_phone,
    "email": _t_email,
    "ssn": _t_ssn,
    "card": _t_card,
    "iban": _t_iban,
    "cn_mobile": _t_cn_mobile,
    "cn_id": _t_cn_id,
    "cn_card": _t_cn_card,
    "zh_email": _t_zh_email,
}


def evasion_targets() -> list[Target]:
    targets: list[Target] = []
    for lang, plan in _EVASION_PLAN.items():
        rng = seeded(f"evasion-{lang}")
        for kind, count in plan:
            templates = _EVASION_TEMPLATES[kind]
            for i in range(count):
                label, plain, groups = _TARGET_MAKERS[kind](rng)
                targets.append(
                    Target(lang, kind, label, plain, groups, templates[i % len(templates)])
                )
    assert len(targets) == EVASION_PER_FORM
    return targets


_ZERO_WIDTH = ("\u200b", "\u200c", "\u2060")
_SOFT_HYPHEN = "\u00ad"


def _interleave(value: str, rng: random.Random, marks: Sequence[str], gaps: range) -> str:
    """Insert one of ``marks`` between characters, every ``gaps`` characters."""
    out: list[str] = []
    gap, since = rng.choice(gaps), 0
    for i, ch in enumerate(value):
        if i and since == gap:
            out.append(rng.choice(marks))
            gap, since = rng.choice(gaps), 0
        out.append(ch)
        since += 1
    return "".join(out)


def _fullwidth(ch: str) -> str:
    return chr(ord(ch) + 0xFEE0) if "!" <= ch <= "~" else ch


def _form_fullwidth_digits(t: Target, index: int, rng: random.Random) -> str:
    return "".join(_fullwidth(c) if c.isascii() and c.isdigit() else c for c in t.plain)


def _form_arabic_indic(t: Target, index: int, rng: random.Random) -> str:
    return "".join(chr(0x660 + int(c)) if c.isascii() and c.isdigit() else c for c in t.plain)


def _form_zero_width(t: Target, index: int, rng: random.Random) -> str:
    return _interleave(t.plain, rng, _ZERO_WIDTH, range(1, 4))


def _form_soft_hyphen(t: Target, index: int, rng: random.Random) -> str:
    return _interleave(t.plain, rng, (_SOFT_HYPHEN,), range(2, 5))


def _form_spaced(t: Target, index: int, rng: random.Random) -> str:
    return " ".join(t.plain if t.label == "EMAIL_ADDRESS" else "".join(t.groups))


def _form_dotted(t: Target, index: int, rng: random.Random) -> str:
    if t.label == "EMAIL_ADDRESS":
        local, domain = t.plain.split("@")
        return f"{local} [at] {domain.replace('.', ' [dot] ')}"
    return ".".join(t.groups)


def _form_dashed(t: Target, index: int, rng: random.Random) -> str:
    if t.label == "EMAIL_ADDRESS":
        local, domain = t.plain.split("@")
        return f"{local}-at-{domain.replace('.', '-dot-')}"
    return "-".join(t.groups)


def _form_fullwidth_at(t: Target, index: int, rng: random.Random) -> str:
    """E-mails: ＠ alone (even records) or every character full-width (odd records). Other
    values have no @: every other character full-width (mixed width)."""
    if t.label != "EMAIL_ADDRESS":
        return "".join(_fullwidth(c) if i % 2 == 0 else c for i, c in enumerate(t.plain))
    if index % 2 == 0:
        return t.plain.replace("@", "＠")
    return "".join(_fullwidth(c) for c in t.plain)


def _form_base64(t: Target, index: int, rng: random.Random) -> str:
    payload = t.plain if index % 2 == 0 else f"{_BASE64_PREFIX[t.kind]}: {t.plain}"
    return base64.b64encode(payload.encode()).decode()


def _form_urlencoded(t: Target, index: int, rng: random.Random) -> str:
    quoted = urllib.parse.quote(t.plain, safe="")
    if index % 2 == 0 and quoted != t.plain:
        return quoted
    return "".join(f"%{b:02X}" for b in t.plain.encode())


_FORMS: dict[str, Callable[[Target, int, random.Random], str]] = {
    "plain": lambda t, index, rng: t.plain,
    "fullwidth_digits": _form_fullwidth_digits,
    "zero_width": _form_zero_width,
    "soft_hyphen": _form_soft_hyphen,
    "spaced": _form_spaced,
    "dotted": _form_dotted,
    "dashed": _form_dashed,
    "arabic_indic": _form_arabic_indic,
    "fullwidth_at": _form_fullwidth_at,
    "base64": _form_base64,
    "urlencoded": _form_urlencoded,
}


def evasion_records() -> list[dict[str, object]]:
    records = []
    targets = evasion_targets()
    for form in EVASION_FORMS:
        for index, t in enumerate(targets):
            rng = seeded(f"evasion-{form}-{index}")
            shown = _FORMS[form](t, index, rng)
            start = t.template.index("{v}")
            text = t.template.replace("{v}", shown)
            spans = [(start, start + len(shown), t.label)]
            records.append(
                _record(
                    f"evasion-{form}-{index + 1:04d}",
                    text,
                    spans,
                    lang=t.lang,
                    category="evasion",
                    form=form,
                )
            )
    return records


# ----------------------------------------------------------------------------- benign tech text

_HEX = "0123456789abcdef"
_T0 = dt.datetime(2023, 1, 1)


def _uuid(rng: random.Random) -> str:
    h = _rand(rng, _HEX, 32)
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{rng.choice('89ab')}{h[17:20]}-{h[20:]}"


def _when(rng: random.Random) -> dt.datetime:
    return _T0 + dt.timedelta(seconds=rng.randrange(2 * 365 * 86400))


def _iso_ts(rng: random.Random) -> str:
    return f"{_when(rng):%Y-%m-%dT%H:%M:%S}.{rng.randrange(1000):03d}Z"


def _epoch(rng: random.Random) -> str:
    return str(int(_when(rng).replace(tzinfo=dt.UTC).timestamp()))


def _semver(rng: random.Random) -> str:
    base = f"{rng.randrange(0, 8)}.{rng.randrange(0, 30)}.{rng.randrange(0, 20)}"
    tag = rng.choice(("", "", "", f"-rc.{rng.randrange(1, 5)}", f"-beta.{rng.randrange(1, 4)}"))
    return rng.choice(("", "v")) + base + tag


_CAMEL = ("getUserName", "fetchOrderTotal", "parseConfigFile", "handleSubmit", "isValidPhone",
          "renderInvoiceTable", "computeChecksum", "loadFeatureFlags", "retryWithBackoff",
          "normalizeInput", "buildQueryString", "formatCurrency", "useDebouncedValue")  # fmt: skip
_SNAKE = ("user_email_field", "order_total", "parse_config", "retry_count", "created_at",
          "max_connections", "is_active", "fetch_orders", "build_index", "cache_ttl_seconds",
          "phone_number_column", "normalize_address", "batch_size")  # fmt: skip
_PASCAL = ("OrderService", "UserRepository", "PaymentGateway", "InvoiceRenderer", "CacheManager",
           "RetryPolicy", "ReportScheduler", "SessionStore", "FeatureFlagClient")  # fmt: skip
_KEBAB = ("order-service", "billing-worker", "auth-gateway", "report-cron", "search-indexer",
          "web-frontend", "notification-api", "etl-runner")  # fmt: skip
_PKGS = ("requests", "numpy", "pandas", "fastapi", "django", "react", "lodash", "express",
         "pydantic", "sqlalchemy", "celery", "webpack", "vite", "eslint", "pytest", "tokio",
         "serde", "spring-boot-starter-web", "axios", "torch")  # fmt: skip
_PATHS = ("/var/log/nginx/error.log", "src/components/UserCard.tsx", "app/models/order.py",
          "/etc/systemd/system/worker.service", "~/.config/nvim/init.lua", "./scripts/deploy.sh",
          "C:\\Program Files\\Git\\bin\\bash.exe", "/usr/local/lib/python3.11/site-packages",
          "services/billing/handlers.go", "infra/terraform/main.tf", "docs/api/openapi.yaml",
          "/opt/app/config/settings.toml")  # fmt: skip
_ERRORS = (
    "ModuleNotFoundError: No module named 'yaml'",
    "TypeError: Cannot read properties of undefined (reading 'map')",
    "Error: connect ECONNREFUSED on port 5432",
    "fatal: not a git repository (or any of the parent directories): .git",
    "SyntaxError: Unexpected token '}' in JSON at position 42",
    "java.lang.OutOfMemoryError: Java heap space",
    "panic: runtime error: index out of range [3] with length 3",
    "ERROR 1062 (23000): Duplicate entry '42' for key 'PRIMARY'",
    "OOMKilled: container exceeded its memory limit",
    "AssertionError: expected 3 items, got 2",
)
_COMMITS = ("fix: handle empty cart", "chore: bump dependencies", "feat(api): add pagination",
            "refactor: extract retry helper", "test: cover timezone edge cases",
            "perf: cache compiled regexes", "docs: explain config precedence")  # fmt: skip
_LEVELS = ("INFO", "INFO", "INFO", "DEBUG", "WARN", "ERROR")
_THREADS = ("main", "worker-3", "http-nio-8080-exec-7", "pool-2-thread-1", "asyncio-0", "celery-2")
_LOGGERS = ("c.e.orders.OrderService", "uvicorn.access", "app.worker", "db.pool", "scheduler",
            "http.client", "cache.redis")  # fmt: skip


_SLOW_QUERY = "SELECT * FROM orders WHERE status = $1"
_PY_LINES = (
    "result = handler(payload)",
    "return self._cache[key]",
    "rows = cursor.fetchall()",
    "data = json.loads(body)",
)


def _log_message(rng: random.Random) -> str:
    return rng.choice(
        (
            f"request completed status={rng.choice((200, 201, 204, 304))} "
            f"duration_ms={rng.randrange(3, 900)} request_id={_uuid(rng)}",
            f"cache miss key=order:{rng.randrange(1, 99999)}:summary ttl={rng.randrange(30, 600)}s",
            f"retrying job {rng.choice(_SNAKE)} attempt {rng.randrange(1, 5)}/5 after "
            f"{rng.randrange(100, 5000)}ms",
            f"connection pool exhausted (max={rng.choice((10, 20, 50))}, "
            f"waiting={rng.randrange(1, 40)})",
            f"GC pause {rng.randrange(5, 400)}ms heap={rng.randrange(200, 4000)}MB",
            f"scheduled task {rng.choice(_KEBAB)} finished in "
            f"{rng.randrange(1, 300)}.{rng.randrange(10)}s",
            f"upstream returned {rng.choice((429, 500, 502, 503, 504))} for GET "
            f"/api/v2/orders/{rng.randrange(1, 99999)}",
            f"loaded {rng.randrange(3, 90)} feature flags from config revision "
            f"{_rand(rng, _HEX, 7)}",
            f"slow query took {rng.randrange(500, 9000)}ms: " + _SLOW_QUERY,
            f"worker heartbeat ok pid={rng.randrange(1000, 65000)} "
            f"queue_depth={rng.randrange(0, 500)}",
        )
    )


def _log_block(rng: random.Random, ctx: Ctx, suffix: str) -> Value:
    t = _when(rng)
    lines = []
    for _ in range(rng.choice((3, 4, 5, 6, 8, 12, 16, 20))):
        t += dt.timedelta(milliseconds=rng.randrange(1, 90_000))
        lines.append(
            f"{t:%Y-%m-%d %H:%M:%S},{t.microsecond // 1000:03d} {rng.choice(_LEVELS):<5} "
            f"[{rng.choice(_THREADS)}] {rng.choice(_LOGGERS)} - {_log_message(rng)}"
        )
    return Value("\n".join(lines))


def _py_traceback(rng: random.Random, ctx: Ctx, suffix: str) -> Value:
    frames = []
    for _ in range(rng.randrange(2, 6)):
        module = rng.choice(("services/orders.py", "api/routes.py", "core/cache.py", "main.py",
                             "workers/sync.py", "db/session.py"))  # fmt: skip
        frames.append(
            f'  File "/app/{module}", line {rng.randrange(10, 800)}, in {rng.choice(_SNAKE)}\n'
            f"    {rng.choice(_PY_LINES)}"
        )
    error = rng.choice(("KeyError: 'qty'", "ValueError: invalid literal for int() with base 10: ''",
                        "AttributeError: 'NoneType' object has no attribute 'items'",
                        "json.decoder.JSONDecodeError: Expecting value: line 1 column 1 (char 0)",
                        "TimeoutError: timed out after 30.0s"))  # fmt: skip
    return Value("Traceback (most recent call last):\n" + "\n".join(frames) + "\n" + error)


def _java_trace(rng: random.Random, ctx: Ctx, suffix: str) -> Value:
    cls = rng.choice(_PASCAL)
    frames = "\n".join(
        f"\tat com.example.{rng.choice(('orders', 'billing', 'auth'))}.{rng.choice(_PASCAL)}."
        f"{rng.choice(_CAMEL)}({rng.choice(_PASCAL)}.java:{rng.randrange(20, 600)})"
        for _ in range(rng.randrange(3, 8))
    )
    return Value(
        f'Exception in thread "main" java.lang.NullPointerException: Cannot invoke '
        f'"String.length()" because "{rng.choice(_CAMEL)}" is null\n\tat com.example.{cls}.'
        f"{rng.choice(_CAMEL)}({cls}.java:{rng.randrange(20, 600)})\n{frames}"
    )


def _tech(make: Callable[[random.Random], str]) -> Gen:
    def gen(rng: random.Random, ctx: Ctx, suffix: str) -> Value:
        return Value(make(rng))

    return gen


_STATUSES = (200, 201, 204, 301, 400, 401, 403, 404, 409, 422, 429, 500, 502, 503, 504)
_PORTS = (3000, 5432, 6379, 8080, 8000, 9200, 27017, 5672, 443, 8443, 9090)

TECH_REGISTRY: dict[str, Gen] = {
    "uuid": _tech(_uuid),
    "sha": _tech(lambda rng: _rand(rng, _HEX, 40)),
    "short_sha": _tech(lambda rng: _rand(rng, _HEX, 7)),
    "digest": _tech(lambda rng: _rand(rng, _HEX, 64)),
    "iso_ts": _tech(_iso_ts),
    "epoch": _tech(_epoch),
    "epoch_ms": _tech(lambda rng: _epoch(rng) + f"{rng.randrange(1000):03d}"),
    "day": _tech(lambda rng: f"{_when(rng):%Y-%m-%d}"),
    "semver": _tech(_semver),
    "py_version": _pick(("3.11.7", "3.12.2", "3.10.13", "3.9.18", "3.13.0")),
    "node_version": _pick(("18.19.0", "20.11.1", "21.6.2", "22.2.0")),
    "pkg": _pick(_PKGS),
    "camel": _pick(_CAMEL),
    "snake": _pick(_SNAKE),
    "pascal": _pick(_PASCAL),
    "kebab": _pick(_KEBAB),
    "path": _pick(_PATHS),
    "status": _tech(lambda rng: str(rng.choice(_STATUSES))),
    "port": _tech(lambda rng: str(rng.choice(_PORTS))),
    "color": _tech(lambda rng: "#" + _rand(rng, _HEX, 6)),
    "lineno": _tech(lambda rng: str(rng.randrange(1, 900))),
    "col": _tech(lambda rng: str(rng.randrange(1, 80))),
    "ms": _tech(lambda rng: str(rng.randrange(12, 9000))),
    "num": _tech(lambda rng: str(rng.randrange(2, 64))),
    "mem": _pick(("256Mi", "512Mi", "1Gi", "2Gi", "4Gi")),
    "cron": _pick(("0 3 * * *", "*/15 * * * *", "30 2 * * 1-5", "0 0 1 * *", "5 4 * * sun")),
    "exit_code": _pick(("1", "2", "127", "137", "139", "143")),
    "hex_addr": _tech(lambda rng: "0x7f" + _rand(rng, _HEX, 10)),
    "inc": _tech(lambda rng: f"INC{rng.randrange(10**6):07d}"),
    "ord": _tech(lambda rng: f"ORD-{rng.randrange(2022, 2026)}-{rng.randrange(10**6):06d}"),
    "jira": _tech(
        lambda rng: f"{rng.choice(('PAY', 'OPS', 'WEB', 'DATA'))}-{rng.randrange(1, 9999)}"
    ),
    "error": _pick(_ERRORS),
    "commit_msg": _pick(_COMMITS),
    "image": _pick(
        ("postgres:16", "redis:7-alpine", "nginx:1.25", "node:20-slim", "python:3.12-slim")
    ),
    "logs": _log_block,
    "traceback": _py_traceback,
    "java_trace": _java_trace,
}

BENIGN_TEMPLATES = (
    (
        "en",
        "Why does this fail?\n```python\ndef {snake}(items):\n    total = 0\n    for item in "
        'items:\n        total += item["price"] * item["qty"]\n    return total\n```\n'
        "{traceback}",
    ),
    (
        "en",
        "Here are the logs from the {kebab} pod around the incident:\n{logs}\n"
        "What is the most likely root cause?",
    ),
    (
        "zh",
        "请帮我优化这段 SQL：\nSELECT o.id, o.created_at, SUM(i.amount) AS total\nFROM orders o\n"
        "JOIN order_items i ON i.order_id = o.id\nWHERE o.created_at >= '{day}' AND o.status = "
        "'PAID'\nGROUP BY o.id, o.created_at\nORDER BY total DESC\nLIMIT {num};",
    ),
    (
        "en",
        "```bash\ndocker run -d -p {port}:{port} --name {kebab} -e LOG_LEVEL=debug {image}\n```\n"
        "The container exits with code {exit_code} right after start. What's wrong?",
    ),
    (
        "en",
        "const {camel} = async (id) => {\n  const res = await fetch(`/api/v2/orders/${id}`);\n"
        "  if (res.status === {status}) return null;\n  return res.json();\n};\n"
        "Refactor this to use axios with a timeout of {ms} ms.",
    ),
    ("en", "{java_trace}\nThis started after we upgraded to {pkg} {semver}. Any idea?"),
    (
        "en",
        "git rebase -i {short_sha} stops with:\n"
        "error: could not apply {short_sha2}... {commit_msg}\n"
        'hint: Resolve all conflicts manually, mark them as resolved with "git add".\n'
        "How do I continue without losing my changes?",
    ),
    (
        "en",
        ".btn-primary {\n  background-color: {color};\n  border: 1px solid {color2};\n"
        "  padding: 8px 16px;\n}\nHow do I make the hover colour about 10% darker?",
    ),
    (
        "en",
        "After upgrading {pkg} from {semver} to {semver2}, pytest fails with ImportError on "
        "Python {py_version}. Should I pin the old version?",
    ),
    (
        "en",
        "curl -i http://localhost:{port}/healthz returns HTTP/1.1 {status} with an empty body. "
        "The service is {kebab} and the readiness probe runs every {num}s.",
    ),
    (
        "en",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {kebab}\nspec:\n"
        "  replicas: {num}\n  template:\n    spec:\n      containers:\n        - name: {kebab}\n"
        "          image: {image}\n          ports:\n            - containerPort: {port}\n"
        "          resources:\n            limits:\n              memory: {mem}\n"
        "Why does the pod get OOMKilled?",
    ),
    (
        "en",
        "Ticket {inc}: the nightly job {snake} failed at {iso_ts} with exit code {exit_code}. "
        "Could it be related to {ord}, which was reprocessed at the same time?",
    ),
    (
        "en",
        "Solve for x: {num}x + {num2} = {num3}. Then differentiate f(x) = x^3 - {num}x^2 + {num2}.",
    ),
    ("en", "Why doesn't this regex match usernames like ab_12? ^[a-z0-9_]{3,16}$"),
    (
        "en",
        "Explain this crontab line: {cron} /usr/local/bin/{kebab}.sh >> /var/log/{kebab}.log 2>&1",
    ),
    (
        "en",
        "FROM {image}\nWORKDIR /app\nCOPY requirements.txt .\nRUN pip install --no-cache-dir -r "
        'requirements.txt\nCOPY . .\nEXPOSE {port}\nCMD ["python", "-m", "app"]\n'
        "The image is 1.4 GB. How can I make it smaller?",
    ),
    (
        "en",
        "error[E0502]: cannot borrow `{snake}` as mutable because it is also borrowed as "
        "immutable\n --> src/main.rs:{lineno}:{col}\nHow do I restructure the loop?",
    ),
    ("zh", "这个报错怎么解决？\n{traceback}"),
    (
        "zh",
        "我们的接口在 {iso_ts} 之后 P99 延迟一直在 {ms} ms 上下波动，日志如下：\n{logs}\n"
        "帮我分析一下可能的原因。",
    ),
    ("zh", "请解释一下 Python 里 {snake} 用 dict.get 和直接下标访问这两种写法的区别。"),
    ("zh", "提交 {short_sha} 之后 CI 挂了，错误是 {error}，怎么排查？"),
    (
        "en",
        '{"service": "{kebab}", "port": {port}, "retries": {num}, "timeout_ms": {ms}, '
        '"feature_flags": {"use_cache": true, "dry_run": false}}\nIs this config valid JSON?',
    ),
    (
        "en",
        "Convert epoch {epoch} to ISO 8601 in UTC, and explain why {epoch_ms} has three more "
        "digits.",
    ),
    ("en", "What's the difference between UUID v4 and v7? For example {uuid} looks random to me."),
    (
        "en",
        "Our build artifact hash is sha256:{digest}. How do I pin it in the deployment manifest?",
    ),
    (
        "en",
        "npm ERR! code ERESOLVE\nnpm ERR! While resolving: {kebab} {semver}\n"
        "npm ERR! Found: react version {semver2}\nnpm ERR! Could not resolve dependency: "
        "peer react version 17\nHow do I fix this without --force?",
    ),
    (
        "en",
        "find . -name '*.log' -mtime +{num} -exec gzip {} \\;\nWill this also touch files in "
        "node_modules? How do I exclude it?",
    ),
    (
        "en",
        "df.groupby('{snake}')['{snake2}'].agg(['mean', 'max']) gives a MultiIndex. How do I "
        "flatten the columns?",
    ),
    (
        "en",
        "CREATE TABLE user_profile (\n  id BIGSERIAL PRIMARY KEY,\n  user_email_field "
        "VARCHAR(255) NOT NULL,\n  phone_number_column VARCHAR(32),\n  created_at TIMESTAMPTZ "
        "DEFAULT now()\n);\nShould user_email_field have a unique index?",
    ),
    ("zh", "帮我写一个 shell 脚本，每天凌晨 {num} 点备份 /data/{kebab} 目录，保留最近 {num2} 天。"),
    (
        "zh",
        "这段 CSS 在 Safari 上显示不正常：\n.card { display: grid; gap: 12px; color: {color}; }\n"
        "是不是 gap 的兼容性问题？",
    ),
    (
        "en",
        "HTTP/1.1 {status}\nContent-Type: application/json\nX-Request-Id: {uuid}\n"
        'ETag: "{short_sha}"\nCache-Control: max-age={num}\nWhy does the browser ignore the cache?',
    ),
    (
        "en",
        "TS2345: Argument of type 'string' is not assignable to parameter of type 'number'.\n"
        "  {path}({lineno},{col})\nThe function is {camel}. How do I type it properly?",
    ),
    (
        "en",
        'resource "aws_s3_bucket" "logs" {\n  bucket = "{kebab}-logs"\n  tags = {\n'
        '    Environment = "staging"\n  }\n}\nterraform plan wants to recreate it every time.',
    ),
    (
        "en",
        "server {\n  listen {port};\n  server_name _;\n  location /static/ { root /srv/{kebab}; }\n"
        "}\nnginx returns {status} for every file under /static/.",
    ),
    ("zh", "MySQL 报错 {error}，怎么处理？表名是 {snake}。"),
    ("zh", '帮我把这个 JSON 转成 YAML：{"name": "{kebab}", "replicas": {num}, "port": {port}}'),
    (
        "en",
        "BenchmarkParse-8   {num}00000   {ms} ns/op   {num2}4 B/op   {num3} allocs/op\n"
        "Is that allocation count reasonable for a JSON tokenizer?",
    ),
    (
        "en",
        "Segmentation fault at address {hex_addr} in {camel} (thread {num}). Core dumped. "
        "How do I get a backtrace with gdb?",
    ),
    ("zh", "版本号 {semver} 和 {semver2} 哪个更新？按照语义化版本规则怎么比较？"),
    ("en", "Running {pkg} on Node {node_version}: {error}\nIt works on my laptop but not in CI."),
    ("zh", "{java_trace}\n线上环境偶尔出现这个空指针异常，{pascal} 是单例，会不会是并发问题？"),
    (
        "en",
        "Can you explain what {camel} does? It's called from {path} line {lineno} and seems "
        "to run {num} times per request.",
    ),
    (
        "en",
        "Jira {jira} says the {kebab} deploy on {day} broke retries. The diff between {short_sha} "
        "and {short_sha2} only touched {path}.",
    ),
    (
        "zh",
        "Redis 里 key 的 TTL 设成 {num} 秒，但是 {iso_ts} 之后大量 key 同时过期，"
        "导致缓存雪崩，怎么避免？",
    ),
    ("zh", "我用 Python {py_version} 跑 {pkg} 的时候报 {error}，已经重装过虚拟环境了。"),
    (
        "en",
        "Rename {snake} to a camelCase name in this TypeScript interface and keep "
        "{camel} as is; the linter complains about naming-convention.",
    ),
    (
        "en",
        "git show {sha} --stat lists 40 changed files. How do I split that commit into "
        "smaller ones without rewriting the history before {short_sha}?",
    ),
    ("zh", "工单 {inc} 说订单 {ord} 重复扣款了，日志在这里：\n{logs}\n请帮我找出重复请求的证据。"),
)

BENIGN_EXTRAS = (
    ("en", "I'm on macOS 14 with Docker Desktop, if that matters."),
    ("en", "Please explain step by step; I'm new to this."),
    ("en", "We can't upgrade the runtime this quarter, so a workaround would be ideal."),
    ("en", "It only happens under load, never locally."),
    ("zh", "我是新手，麻烦讲详细一点。"),
    ("zh", "线上环境不能随便重启，有没有不停机的办法？"),
    ("zh", "测试环境是好的，只有生产环境有问题。"),
)

BENIGN_CATEGORY = "benign_tech"
_DOTTED_QUAD = re.compile(r"\d+\.\d+\.\d+\.\d+")


# ----------------------------------------------------------------------------- assembling


def _record(
    rid: str, text: str, spans: Iterable[Span], *, lang: str, category: str, form: str = "plain"
) -> dict[str, object]:
    return {
        "id": rid,
        "text": text,
        "spans": [{"start": s, "end": e, "label": label} for s, e, label in spans],
        "lang": lang,
        "category": category,
        "form": form,
    }


@dataclass(frozen=True)
class Dressing:
    """PII-free text that surrounds a prompt: openers, closers and whole paragraphs."""

    openers: tuple[str, ...]
    closers: tuple[str, ...]
    paragraphs: tuple[str, ...]
    inline: str  # between an opener or closer and the prompt


DRESSING = {
    "en": Dressing(EN_OPENERS, EN_CLOSERS, EN_PARAGRAPHS, " "),
    "zh": Dressing(ZH_OPENERS, ZH_CLOSERS, ZH_PARAGRAPHS, ""),
}


def _plain(text: str) -> Piece:
    return text, []


def dress(rng: random.Random, lang: str, body: Piece, extra: Callable[[], Piece]) -> Piece:
    """Wrap a prompt: nothing, an opener or closer, a paragraph of background, a second
    prompt, or (about one record in eight) several paragraphs up to about 2 KB."""
    d = DRESSING[lang]
    inline = "\n" if "\n" in body[0] else d.inline
    r = rng.random()
    if r < 0.4:
        return body
    if r < 0.55:
        return join([_plain(rng.choice(d.openers)), body], d.inline)
    if r < 0.68:
        return join([body, _plain(rng.choice(d.closers))], inline)
    if r < 0.8:
        return join([body, _plain(rng.choice(d.paragraphs))], "\n\n")
    if r < 0.88:
        return join([body, extra()], "\n\n")
    paras = rng.sample(d.paragraphs, rng.randrange(3, len(d.paragraphs) + 1))
    pieces = [_plain(rng.choice(d.openers)), _plain(paras[0]), body, _plain(paras[1]), extra()]
    if rng.random() < 0.5:
        pieces.append(extra())
    pieces += [_plain(p) for p in paras[2:]] + [_plain(rng.choice(d.closers))]
    return join(pieces, "\n\n")


def _cycle(rng: random.Random, n: int) -> Callable[[], int]:
    """Indexes 0..n-1 in a fresh random order every round, so every template is used."""
    order: list[int] = []

    def nxt() -> int:
        if not order:
            order.extend(rng.sample(range(n), n))
        return order.pop()

    return nxt


@dataclass(frozen=True)
class PromptSet:
    category: str
    id_prefix: str
    templates: tuple[tuple[str, str], ...]  # (lang, template)
    no_pii: tuple[tuple[str, str], ...]
    no_pii_every: tuple[int, int]  # record i has no personal data when i % b < a
    registry: dict[str, Gen]


Prompt = tuple[str, Piece, Callable[[], Piece]]  # lang, body, a second prompt on demand


def _pii_free_prompt(rng: random.Random, ps: PromptSet) -> Prompt:
    lang = rng.choice([lg for lg, _ in ps.no_pii])
    pool = [t for lg, t in ps.no_pii if lg == lang]
    chosen = rng.sample(pool, rng.choice((1, 1, 1, 2, 3)))
    rest = [t for t in pool if t not in chosen]
    return lang, _plain(DRESSING[lang].inline.join(chosen)), lambda: _plain(rng.choice(rest))


def _template_prompt(rng: random.Random, ps: PromptSet, lang: str, template: str) -> Prompt:
    others = [t for lg, t in ps.templates if lg == lang and t != template]
    body = render(template, rng, ps.registry, {})
    return lang, body, lambda: render(rng.choice(others), rng, ps.registry, {})


def prompt_records(ps: PromptSet, count: int) -> list[dict[str, object]]:
    rng = seeded(ps.category)
    next_template = _cycle(rng, len(ps.templates))
    share, every = ps.no_pii_every
    records = []
    for i in range(count):
        if (i * 7) % every < share:  # exactly share/every of the records, spread out
            lang, body, extra = _pii_free_prompt(rng, ps)
        else:
            lang, template = ps.templates[next_template()]
            lang, body, extra = _template_prompt(rng, ps, lang, template)
        text, spans = dress(rng, lang, body, extra)
        records.append(
            _record(f"{ps.id_prefix}-{i + 1:04d}", text, spans, lang=lang, category=ps.category)
        )
    return records


def benign_records(count: int) -> list[dict[str, object]]:
    rng = seeded(BENIGN_CATEGORY)
    next_template = _cycle(rng, len(BENIGN_TEMPLATES))
    records = []
    for i in range(count):
        lang, template = BENIGN_TEMPLATES[next_template()]
        text, spans = render(template, rng, TECH_REGISTRY, {}, strict=False)
        r = rng.random()
        if r < 0.25:
            extra = rng.choice([t for lg, t in BENIGN_EXTRAS if lg == lang])
            text = f"{text}\n{extra}" if lang == "zh" else f"{text} {extra}"
        elif r < 0.35:
            more = rng.choice([t for lg, t in BENIGN_TEMPLATES if lg == lang])
            text += "\n\n" + render(more, rng, TECH_REGISTRY, {}, strict=False)[0]
        assert not spans
        records.append(
            _record(f"benign-tech-{i + 1:04d}", text, [], lang=lang, category=BENIGN_CATEGORY)
        )
    return records


EN_SET = PromptSet(
    EN_CATEGORY,
    "en-template",
    tuple(("en", t) for t in EN_TEMPLATES),
    tuple(("en", t) for t in EN_NO_PII),
    (3, 20),
    EN_REGISTRY,
)
ZH_SET = PromptSet(
    ZH_CATEGORY,
    "zh-template",
    tuple(("zh", t) for t in ZH_TEMPLATES),
    tuple(("zh", t) for t in ZH_NO_PII),
    (3, 20),
    ZH_REGISTRY,
)
MIXED_SET = PromptSet(
    MIXED_CATEGORY,
    "mixed",
    MIXED_TEMPLATES,
    MIXED_NO_PII,
    (2, 25),
    {**EN_REGISTRY, **ZH_REGISTRY},
)


def check_record(record: dict[str, object]) -> None:
    """Invariants every record keeps; raises AssertionError with the record id."""
    text, spans, rid = record["text"], record["spans"], record["id"]
    assert isinstance(text, str), rid
    assert isinstance(spans, list), rid
    end = 0
    for span in spans:
        start, stop, label = span["start"], span["end"], span["label"]
        assert end <= start < stop <= len(text), (rid, span)
        assert label in LABELS, (rid, label)
        value = text[start:stop]
        assert value == value.strip(), (rid, value)
        end = stop
    if record["category"] == BENIGN_CATEGORY:
        assert not spans, rid
        assert "@" not in text, rid
        assert not _DOTTED_QUAD.search(text), rid
        assert not _SLOT.search(text.replace("${id}", "")), (rid, _SLOT.search(text))


def build_corpus() -> list[dict[str, object]]:
    records = (
        prompt_records(EN_SET, COUNTS[EN_CATEGORY])
        + prompt_records(ZH_SET, COUNTS[ZH_CATEGORY])
        + prompt_records(MIXED_SET, COUNTS[MIXED_CATEGORY])
        + evasion_records()
        + benign_records(COUNTS[BENIGN_CATEGORY])
    )
    ids = [r["id"] for r in records]
    assert len(set(ids)) == len(ids), "duplicate ids"
    for record in records:
        check_record(record)
    return records


def render_corpus() -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in build_corpus())


def summary(records: Iterable[dict[str, object]]) -> dict[str, Counter[str]]:
    out: dict[str, Counter[str]] = {
        "category": Counter(),
        "lang": Counter(),
        "form": Counter(),
        "label": Counter(),
        "no_spans": Counter(),
    }
    for r in records:
        category = str(r["category"])
        out["category"][category] += 1
        out["lang"][f"{category}/{r['lang']}"] += 1
        if category == "evasion":
            out["form"][str(r["form"])] += 1
        spans = r["spans"]
        assert isinstance(spans, list)
        out["label"].update(s["label"] for s in spans)
        if not spans:
            out["no_spans"][category] += 1
    return out


def label_table(records: Iterable[dict[str, object]]) -> str:
    """Spans per label and category as the Markdown table in eval/README.md."""
    categories = (EN_CATEGORY, ZH_CATEGORY, MIXED_CATEGORY, "evasion", BENIGN_CATEGORY)
    counts: Counter[tuple[str, str]] = Counter()
    for r in records:
        spans = r["spans"]
        assert isinstance(spans, list)
        counts.update((s["label"], str(r["category"])) for s in spans)
    rows = [
        "| label | " + " | ".join(categories) + " | total |",
        "|---|" + "---:|" * (len(categories) + 1),
    ]
    for label in (*LABELS, None):
        cells = [sum(n for (lb, c), n in counts.items() if c == cat and label in (lb, None))
                 for cat in categories]  # fmt: skip
        name = label or "**all**"
        rows.append(f"| {name} | " + " | ".join(f"{n:,}" for n in [*cells, sum(cells)]) + " |")
    return "\n".join(rows)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check", action="store_true", help="exit 1 if the committed corpus differs"
    )
    args = parser.parse_args(argv)
    text = render_corpus()
    if args.check:
        current = CORPUS_PATH.read_text(encoding="utf-8") if CORPUS_PATH.exists() else ""
        if current != text:
            print(f"{CORPUS_PATH} is out of date: run python eval/generate_corpus.py",
                  file=sys.stderr)  # fmt: skip
            return 1
        print(f"{CORPUS_PATH} is up to date")
        return 0
    CORPUS_PATH.write_text(text, encoding="utf-8", newline="\n")
    records = [json.loads(line) for line in text.splitlines()]
    print(f"wrote {len(records)} records to {CORPUS_PATH}")
    for name, counter in summary(records).items():
        print(f"{name}: " + ", ".join(f"{k}={v}" for k, v in sorted(counter.items())))
    print(label_table(records))
    return 0


if __name__ == "__main__":
    sys.exit(main())
