import unicodedata


def search_key(text: str) -> str:
    """Lower-case, accent-free form of a name, stored beside it so that search is case- and
    accent-insensitive on every database with a plain (trigram-indexed) column."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(stripped.casefold().split())
