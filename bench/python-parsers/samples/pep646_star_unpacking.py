# Python 3.11+: PEP 646, star expressions in subscripts and in the annotation of *args.
def call(*args: *Ts) -> tuple[int, *Ts]: ...


shape: Array[*Shape, int]
