"""The JSON Schema of the codec vector files (``vectors/vectors.schema.json``), which
:mod:`juki_protocol.tools.vectors.codec_vectors` writes beside the vectors it generates."""

from __future__ import annotations

from typing import Any

VECTOR_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "urn:juki:vectors:codec:v1",
    "title": "Juki codec test vectors",
    "type": "object",
    "required": ["algorithm", "generatorVersion", "seed", "messageType", "numberOfTests",
                 "header", "notes", "testGroups"],
    "properties": {
        "algorithm": {"const": "JukiCodec"},
        "schema": {"type": "string"},
        "generatorVersion": {"type": "string"},
        "seed": {"type": "string"},
        "messageType": {"type": "string"},
        "numberOfTests": {"type": "integer", "minimum": 1},
        "header": {"type": "array", "items": {"type": "string"}},
        "notes": {"type": "object", "additionalProperties": {
            "type": "object", "required": ["bugType", "description"],
            "properties": {"bugType": {"type": "string"},
                           "description": {"type": "string"}}}},
        "testGroups": {"type": "array", "minItems": 1, "items": {
            "type": "object", "required": ["type", "messageType", "profile", "tests"],
            "properties": {
                "type": {"const": "CodecTest"},
                "messageType": {"type": "string"},
                "profile": {"enum": ["p2002", "current", None]},
                "tests": {"type": "array", "minItems": 1, "items": {
                    "type": "object",
                    "required": ["tcId", "comment", "flags", "value", "der", "result",
                                 "errorCode", "errorName"],
                    "additionalProperties": False,
                    "properties": {
                        "tcId": {"type": "integer", "minimum": 1},
                        "comment": {"type": "string"},
                        "flags": {"type": "array", "items": {"type": "string"}},
                        "value": {"type": ["object", "null"]},
                        "der": {"type": "string", "pattern": "^([0-9a-f]{2})*$"},
                        "result": {"enum": ["valid", "invalid", "acceptable"]},
                        "errorCode": {"type": ["integer", "null"],
                                      "minimum": 1000, "maximum": 9999},
                        "errorName": {"type": ["string", "null"]},
                    },
                    "allOf": [
                        {"if": {"properties": {"result": {"const": "valid"}}},
                         "then": {"properties": {"value": {"type": "object"},
                                                 "errorCode": {"type": "null"}}}},
                        {"if": {"properties": {"result": {"const": "invalid"}}},
                         "then": {"properties": {"value": {"type": "null"},
                                                 "errorCode": {"type": "integer"}}}},
                    ],
                }},
            }}},
    },
}


__all__ = ["VECTOR_SCHEMA"]
