# Python 3.12+: PEP 695, type parameter lists on functions and classes.
def first[T](items: list[T]) -> T:
    return items[0]


class Registry[K, *Ts, **P]:
    def get(self, key: K) -> tuple[*Ts]: ...


def pick[S: str, N: (int, float)](s: S, n: N) -> S:
    return s
