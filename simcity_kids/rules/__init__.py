"""The monthly rules of MODEL_SPEC section 3, one module each: population turnover, governance, awareness,
needs and attendance, early childhood, learning and leaving school."""
