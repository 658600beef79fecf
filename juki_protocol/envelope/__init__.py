"""The envelope layer: CMS SignedData inside AuthEnvelopedData (cms, envelope,
envelope_parts), keys and certificates (keys, pki), revocation lists
(revocation) and which role may send which message type (routes)."""
