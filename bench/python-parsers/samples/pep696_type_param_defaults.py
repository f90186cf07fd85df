# Python 3.13+: PEP 696, defaults for type parameters.
class Box[T = int]:
    pass


def make[T = str, *Ts = *tuple[int, ...], **P = [int, str]]() -> None: ...


type Pair[T = bytes] = tuple[T, T]
