"""The codec layer: DER rules (der), the compiled ASN.1 schema (schema), frames on
the wire (wire), and the one boundary between DER/JSON and the message types
(codec, jer)."""
