"""A sans-I/O SMPP 3.4 codec: PDUs, TLVs, framing, text encodings, segmentation, receipts."""
