"""Typed interface of fractale's compiled core."""

__version__: str

class FractaleError(Exception):
    """Base class of every fractale error."""

    file: str | None
    location: str | None
    expected: str | None

class JGFError(FractaleError):
    """A JSON Graph Format document that is not a valid resource graph."""

class JobspecError(FractaleError):
    """A jobspec that breaks the canonical jobspec rules."""

class MatchError(FractaleError):
    """A matching request that cannot be acted on."""
