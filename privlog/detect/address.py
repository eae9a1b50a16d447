"""Postal addresses in Latin, Greek and Cyrillic scripts, as whole blocks.

spaCy's small model tags a city or a street name now and then, but not the house number,
the flat, the postcode or an upper-case town line, so an address came out half replaced.
Here an address is found from a *street line* (a house number with a street word, a street
type, or a second number; a European street word; a P.O. box) and then grown over the
lines that follow it (flat or suite, town, region, country, postcode) as long as they are
separated the way address lines are: a line break, two spaces, a comma or a quote marker.
Postcodes after "ZIP"/"postcode" and bare unit lines ("Apt. 12") are caught on their own.
No list of places is used: the shapes are what make an address.
"""

from __future__ import annotations

import re
from typing import Any

from presidio_analyzer import LocalRecognizer, RecognizerResult

from privlog.detect.base import make_result

__all__ = ["AddressRecognizer"]

_UP = r"A-ZÀ-ÖØ-ÞĀĂĄĆĈĊČĎĐĒĔĖĘĚĜĞĠĢĤĦĨĪĬĮİĲĴĶĹĻĽĿŁŃŅŇŊŌŎŐŒŔŖŘŚŜŞŠŢŤŦŨŪŬŮŰŲŴŶŸŹŻŽΑ-ΩΆ-ΏА-ЯЁ"
_CAP = rf"[{_UP}][^\W\d_]*(?:['’.\-][^\W\d_]+)*\.?"  # Capitalised (or upper-case) word
_WORD = r"[^\W\d_][^\W\d_'’.\-]*(?:['’.\-][^\W\d_]+)*\.?"  # any word
_NUM = r"[0-9]{1,6}[A-Za-z]?(?![0-9])"
_ORD = r"[0-9]{1,3}(?:st|nd|rd|th)"
_SUFFIX = (
    r"(?:Street|St|Road|Rd|Avenue|Ave|Av|Lane|Ln|Boulevard|Blvd|Drive|Drives|Dr|Court|Courts|"
    r"Ct|Way|Ways|Place|Pl|Square|Sq|Terrace|Ter|Close|Crescent|Cres|Highway|Hwy|Parkway|"
    r"Pkwy|Row|Mews|Gardens|Hill|Hills|Walk|Circle|Circles|Cir|Estate|Estates|Forge|Forges|"
    r"Park|Trail|Trl|Loop|Alley|Path|Pike|Plaza|Point|Ridge|Run|Stravenue|Summit|Turnpike|"
    r"Union|Unions|Valley|View|Views|Village|Villages|Wells|Crossing|Creek|Cove|Meadow|"
    r"Meadows|Harbor|Harbour|Heights|Junction|Landing|Manor|Manors|Mill|Mills|Orchard|Pass|"
    r"Pines|Ranch|Shore|Shores|Spring|Springs|Stream|Track|Extension|Falls|Ferry|Field|Fields|"
    r"Flat|Flats|Ford|Fork|Forks|Fort|Freeway|Glen|Glens|Green|Greens|Grove|Groves|Haven|Isle|"
    r"Key|Keys|Knoll|Knolls|Lake|Lakes|Lodge|Motorway|Mount|Mountain|Oval|Prairie|Radial|Ramp|"
    r"Rapid|Rapids|Rest|Route|Shoal|Shoals|Skyway|Spur|Burg|Burgs|Bypass|Camp|Canyon|Cape|"
    r"Causeway|Center|Centre|Common|Corner|Corners|Curve|Dale|Dam|Divide|Expressway|Bridge|"
    r"Brook|Brooks|Bluff|Bluffs|Branch|Beach|Bend|Crest|Cliff|Cliffs|Ville|Vista|Wall|Well|"
    r"Port|Ports|Plains|Parks|Lights|Locks|Loaf|Light|Lock|Gateway|Garden|Inlet|Mountains|"
    r"Islands|Isles|Lanes|Roads|Streets|Squares|Trails|Ridges|Trace|Tracks|Viaduct|"
    r"Throughway|Crossroad|Crossroads|Passage|Quay|Wharf|Yard|Yards)"
)
_DIRECTION = r"(?:North|South|East|West|Northwest|Northeast|Southwest|Southeast|NW|NE|SW|SE)"
# Street words of other languages, as a word ending (Rooseveltlaan, Auerstrasse, Vesturgata)
# or a word of their own (Pernilles vei), and the ones that come first (Rua, Via, ul.).
_EU_END = (
    r"(?:straße|strasse|str\.|gasse|weg|vej|vei|veien|laan|steenweg|allee|platz|plein|gade|"
    r"gata|gatan|vägen|torget|katu|tie|utca|ulica|cesta|iela|gatve|straat|dreef|kade|gracht|"
    r"plass|vegur|braut|stræde|ringen|ring|damm|ufer|markt|wal)"
)
_EU_FIRST = (
    r"(?:Rua|Rue|Via|Viale|Vicolo|Calle|Avenida|Avda\.?|Av\.|Avenue|Piazza|Plaza|Paseo|Camino|"
    r"Carrer|Carretera|Travessa|Largo|Praça|Praca|Alameda|Ulica|ul\.|Strada|Str\.|Bulevar|"
    r"Boulevard|Chemin|Allée|Impasse|Quai|Cours|Rambla|Ronda|Passeig|C/|Οδός|Λεωφόρος|улица|"
    r"ул\.|rue)"
)
_UNIT = (
    r"(?:Apt|Apartment|Suite|Ste|Unit|Flat|Room|Rm|Floor|Fl|Bldg|Building|apt|suite|unit)"
    rf"\.?[ \t]*#?[ \t]*{_NUM}"
)

_STREET = re.compile(
    rf"(?<![\w.])(?:"
    # the corner of Koepoortwal 115 and Hansen Street
    rf"(?i:corner[ \t]+of)[ \t]+[^\n,.;]{{2,40}}?[ \t]+and[ \t]+[^\n,;]{{2,40}}?(?=[.,;\n]|$)|"
    # 1432 Gemsbok St / 1707 6th Street Northwest / 04 320 St Marys Rd
    rf"{_NUM}[ \t]+(?:{_NUM}[ \t]+)?(?:(?:{_ORD}|{_CAP})[ \t]+){{1,4}}{_SUFFIX}\.?"
    rf"(?:[ \t]+{_DIRECTION})?"
    # 22 Bramstrup 21 / 74 Μεγάλη Άμμος 184 / 95 Joaquin Suarez 2906
    rf"|{_NUM}[ \t]+(?:{_CAP}[ \t]+){{1,3}}{_NUM}"
    # (32) Pernilles vei 115 / Auerstrasse 84 / machelsesteenweg 197
    rf"|(?:{_NUM}[ \t]+)?(?:{_WORD}[ \t]+){{0,2}}(?i:[^\W\d_]*{_EU_END})[ \t]+{_NUM}"
    # Rua Graciliano Ramos 1950 / ul. Północna 73 / 31 Rue Al Imam Al Bakri
    rf"|(?:{_NUM}[ \t]+)?{_EU_FIRST}[ \t]+(?:{_WORD}[ \t]+){{0,4}}{_WORD},?[ \t]+{_NUM}"
    rf"|{_NUM}[ \t]+(?:{_NUM}[ \t]+)?{_EU_FIRST}[ \t]+(?:{_WORD}[ \t]+){{0,4}}{_WORD}"
    # P.O. Box 149 / 80 p.o. box 15 / PSC 4095, Box 8316 / USNS Frías
    rf"|(?:{_NUM}[ \t]+)?(?i:p\.?[ \t]?o\.?[ \t]+box)[ \t]+{_NUM}"
    rf"|PSC[ \t]+[0-9]{{3,5}},?[ \t]+Box[ \t]+[0-9]{{3,5}}|(?:USNS|USS|USCGC)[ \t]+{_CAP}"
    rf")(?![\w])"
)
# Where a street line can start. ``_STREET`` tried at every position costs more than all
# other address rules together; these cheap patterns find every position where it can
# match (a digit, a leading keyword, or one of the four space-separated words before a
# European street word and its number), and ``_STREET`` is tried there only.
_STREET_KEYWORD = re.compile(
    rf"(?<![\w.])(?:[0-9]|(?i:corner)|{_EU_FIRST}|(?i:p\.?[ \t]?o\.?[ \t]+box)|PSC|USNS|USS|USCGC)"
)
_BEFORE_NUMBER = re.compile(r"[ \t]+(?=[0-9])")
_EU_END_HERE = re.compile(rf"(?i:{_EU_END})\Z")
_EU_END_LONGEST = max(len(w.replace("\\", "")) for w in _EU_END[3:-1].split("|"))
_WORD_START = re.compile(r"(?<![\w.])[^\W_]")


def _street_starts(text: str) -> list[int]:
    starts = {m.start() for m in _STREET_KEYWORD.finditer(text)}
    for space in _BEFORE_NUMBER.finditer(text):
        word_end = space.start()
        if not _EU_END_HERE.search(text, max(0, word_end - _EU_END_LONGEST), word_end):
            continue
        # The street word and up to three words before it (two words and a number),
        # separated by spaces or tabs on the same line.
        line = text.rfind("\n", 0, word_end) + 1
        first = word_end
        for word in range(4):
            while first > line and text[first - 1] not in " \t":
                first -= 1
            gap = first
            while gap > line and text[gap - 1] in " \t":
                gap -= 1
            if word == 3 or gap in (first, line):
                break
            first = gap
        starts.update(m.start() for m in _WORD_START.finditer(text, first, space.end()))
    return sorted(starts)


def _streets(text: str) -> list[re.Match[str]]:
    """``_STREET.finditer(text)``, tried only where a match can start."""
    found: list[re.Match[str]] = []
    end = 0
    for start in _street_starts(text):
        if start < end:
            continue
        match = _STREET.match(text, start)
        if match is not None:
            found.append(match)
            end = match.end()
    return found


_ZIP = r"(?:[0-9]{4,6}(?:-[0-9]{3,4})?|[A-Z]{1,2}[0-9][A-Z0-9]?[ \t]?[0-9][A-Z]{2})(?![\w])"
# What separates address lines: a line break (with e-mail quote markers), two spaces, a
# comma, a quote marker.
_NEWLINE = r"(?:(?:[ \t]*(?:\r?\n|\\n)){1,2}[ \t>?,]*)"
_SOFT = r"(?:[ \t]{2,}|[ \t]*,[ \t]*|[ \t]*>[ \t]*)"
_TOWN_WORD = rf"(?:{_CAP}|[{_UP}]{{2,}})"
_LINK = r"(?:u|nad|am|an|im|de|la|le|les|del|do|da|di|near|NEAR|upon|sur|sous|and|of|the)"
_REGION = rf"(?:[ \t]*\([^()\n]{{1,24}}\))?(?:,?[ \t]+[A-Z]{{2}})?(?:[ \t]+{_ZIP})?"
_TOWN = rf"{_TOWN_WORD}(?:[ \t\-](?:{_LINK}[ \t\-])*{_TOWN_WORD}){{0,5}}{_REGION}"
# On its own line any word goes (lower-case address blocks); after a comma or two spaces
# only capitalised words continue an address.
_PROSE = (
    r"(?i:i|he|she|it|we|you|they|my|his|her|our|your|their|this|that|is|are|was|were|to|"
    r"said|says|hello|hi|dear|thanks|thank|please|regards|best|sincerely|cheers|yes|no|ok)"
)
_LINE_WORD = rf"(?!{_PROSE}(?![\w]))[^\W\d_][^\W\d_'’.\-]*(?:['’.\-][^\W\d_]+)*\.?"
_LINE = rf"{_LINE_WORD}(?:[ \t\-]{_LINE_WORD}){{0,5}}{_REGION}(?=[ \t]*(?:\r?\n|\\n|$|[.,;!?]))"
_MILITARY = rf"(?:APO|FPO|DPO)[ \t]+(?:AA|AE|AP)[ \t]+{_ZIP}"
_TAIL = re.compile(
    rf"(?:[ \t]*|{_NEWLINE}|{_SOFT})(?:{_UNIT})(?![\w])"
    rf"|{_NEWLINE}(?:{_MILITARY}|{_ZIP}|{_LINE})(?![\w])"
    rf"|{_SOFT}(?:{_MILITARY}|{_ZIP}|{_TOWN})(?![\w])"
)
# After a unit ("Apt. 889 SAUMUR Andorra") the town may follow a single space.
_AFTER_UNIT = re.compile(rf"[ \t]+{_TOWN}(?![\w])")
_UNIT_ALONE = re.compile(rf"(?<![\w]){_UNIT}(?![\w])")
_ZIP_CONTEXT = re.compile(
    rf"(?i:zip(?:[ \t]?code)?|postal[ \t]?code|post[ \t]?code|postcode|plz|cep)[ \t]*"
    rf"(?:[:#]|(?i:is))?[ \t]*"
    rf"(?P<zip>{_ZIP})"
)
_MAX_TAIL = 6
# A place named right after words that lead to one: "I am in TYSTBERGA", "flew to Horten",
# "grew up in Ústí nad Labem", "home city Havndal".
_NOT_PLACE = (
    r"(?:January|February|March|April|May|June|July|August|September|October|November|"
    r"December|Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday|The|A|An|My|Our|"
    r"Your|His|Her|Their|This|That|Time|Love|Trouble|Charge|Touch|Person)(?![\w])"
)
_PLACE_CUE = re.compile(
    r"(?:(?i:\b(?:I\s+am|I'm|we\s+are|we're|he\s+is|she\s+is|they\s+are|currently)\s+in)"
    r"|(?i:\b(?:flew|fly|flying|travel(?:l?ed|l?ing)?|drove|driving|moved(?:\s+here)?|moving|"
    r"relocat(?:ed|ing)|went|going|headed|heading)\s+(?:to|from))"
    r"|(?i:\b(?:grew\s+up|born|raised|lives?|lived|living|resides?|residing|based|located|"
    r"stationed|stays?|staying)\s+in)"
    r"|(?i:\barrived\s+(?:at|in))|(?i:\bhome\s*(?:city|town))|(?i:\bWhere:))[ \t]+"
    rf"(?P<place>(?!{_NOT_PLACE}){_TOWN_WORD}(?:[ \t\-](?:{_LINK}[ \t\-])*{_TOWN_WORD}){{0,3}})"
    r"(?![\w])"
)


class AddressRecognizer(LocalRecognizer):
    """LOCATION spans for whole address blocks, unit lines and labelled postcodes."""

    def __init__(self) -> None:
        super().__init__(
            supported_entities=["LOCATION"],
            supported_language="en",
            name="privlog.address",
            context=["address", "live", "lives", "located", "ship", "deliver", "resides"],
        )
        self._source = ("privlog.address", str(self.id))

    def load(self) -> None:
        """Nothing to load."""

    def _result(self, start: int, end: int, score: float, rule: str) -> RecognizerResult:
        return make_result(
            self._source, entity_type="LOCATION", start=start, end=end, score=score, rule_id=rule
        )

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: Any = None
    ) -> list[RecognizerResult]:
        if entities and "LOCATION" not in entities:
            return []
        results = []
        for match in _streets(text):
            end = match.end()
            after_unit = False
            for _ in range(_MAX_TAIL):
                tail = _TAIL.match(text, end)
                if tail is None and after_unit:
                    tail = _AFTER_UNIT.match(text, end)
                if tail is None:
                    break
                after_unit = _UNIT_ALONE.search(tail.group()) is not None
                end = tail.end()
            results.append(self._result(match.start(), end, 0.75, "address.block"))
        for match in _UNIT_ALONE.finditer(text):
            results.append(self._result(match.start(), match.end(), 0.6, "address.unit"))
        for match in _PLACE_CUE.finditer(text):
            start, end = match.span("place")
            results.append(self._result(start, end, 0.65, "address.place_after_cue"))
        for match in _ZIP_CONTEXT.finditer(text):
            start, end = match.span("zip")
            results.append(self._result(start, end, 0.75, "address.postcode"))
        return results
