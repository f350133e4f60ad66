"""What the user asked a `dfcc -t` target for (the command line's -o, --input, --json, ...)."""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class TargetRequest:
    """What the user asked for on the command line, for the target to act on."""

    output: str | None = None
    input: str | None = None
    json: bool = False
    plot: str | None = None
    options: dict[str, str] = field(default_factory=dict)
