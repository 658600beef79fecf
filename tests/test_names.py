"""Names are carried code point for code point (spec/names.md, R-NAME-02): variation
sequences and compatibility ideographs survive the codec both ways, and names compare
without normalisation."""

from __future__ import annotations

import dataclasses
import json
import unicodedata
from pathlib import Path

import pytest

from juki_protocol.codec import codec
from juki_protocol.fixtures.samples import VARIATION_TYPES, variation_names, variation_samples
from juki_protocol.machines.stores import four_items
from juki_protocol.messages import IdentityInfoUpdate, Profile
from juki_protocol.tools.vectors.codec_vectors import file_name

VECTORS = Path(__file__).resolve().parent.parent / "vectors"


@pytest.mark.parametrize("type_name", VARIATION_TYPES)
def test_variation_sequences_survive_both_ways(type_name: str) -> None:
    for sample in variation_samples(type_name, "t"):
        der = codec.encode(sample.message, sample.profile)
        back = codec.decode(der, type_name, sample.profile)
        assert back == sample.message
        assert codec.from_json_text(type_name, codec.dumps(sample.message)) == sample.message


def test_the_vectors_hold_the_code_points_unchanged() -> None:
    wanted = {name.kanji for _, name in variation_names()}
    for type_name in VARIATION_TYPES:
        doc = json.loads((VECTORS / file_name(type_name)).read_text("utf-8"))
        found = {json.dumps(t["value"], ensure_ascii=False) for g in doc["testGroups"]
                 for t in g["tests"] if "VariationSequence" in t["flags"]}
        assert len(found) == len(wanted)
        for kanji in wanted:
            assert sum(kanji in text for text in found) == 1, (type_name, kanji)
            assert kanji.encode("utf-8") in b"".join(
                bytes.fromhex(t["der"]) for g in doc["testGroups"] for t in g["tests"]
                if "VariationSequence" in t["flags"])


def test_a_compatibility_ideograph_is_not_normalised() -> None:
    name = next(n for label, n in variation_names() if "U+FA19" in label)
    assert unicodedata.normalize("NFC", name.kanji) != name.kanji   # NFC would change it
    sample = next(s for s in variation_samples("IdentityInfoUpdate", "t")
                  if "U+FA19" in s.label)
    back = codec.decode(codec.encode(sample.message, Profile.CURRENT))
    assert isinstance(back, IdentityInfoUpdate)
    assert back.identity_info.name.kanji == name.kanji


def test_four_items_compare_code_points_without_folding() -> None:
    sample = variation_samples("IdentityInfoUpdate", "t")[0]
    assert isinstance(sample.message, IdentityInfoUpdate)
    info = sample.message.identity_info
    plain = info.name.kanji.replace("\U000E0100", "")
    other = type(info.name)(kanji=plain, kana=info.name.kana)
    assert four_items(info) != four_items(dataclasses.replace(info, name=other))
