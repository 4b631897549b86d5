"""Fallback senders: the HTTP/XML/SOAP provider APIs behind one small interface (`base`)."""
