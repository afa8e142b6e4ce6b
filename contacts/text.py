import re
import unicodedata

_EMAIL_SEPARATORS = re.compile(r"[@.\-_+]")


def search_key(text: str) -> str:
    """Lower-case, accent-free form of a name, stored beside it so that search is case- and
    accent-insensitive on every database with a plain (trigram-indexed) column."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(stripped.casefold().split())


def details_search_key(email: str, company: str) -> str:
    """What search matches of a contact besides its name: the email and the company, folded
    like the name (an address's words split at @ . - _ + so that "acme" finds "j@acme.io")."""
    words = " ".join(part for part in _EMAIL_SEPARATORS.split(email or "") if part)
    return search_key(f"{words} {company or ''}")


def search_words(name_search: str, details_search: str) -> list[str]:
    """The words a contact is found by (contacts.ContactWord): those of its folded name, email
    and company (search_key and details_search_key), each once. A query word matches a contact
    when it is the start of one of them."""
    return sorted(set(name_search.split()) | set(details_search.split()))
