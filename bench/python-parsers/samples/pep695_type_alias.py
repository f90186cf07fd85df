# Python 3.12+: PEP 695, the `type` statement.
type Point = tuple[float, float]
type ListOrSet[T] = list[T] | set[T]
type = "still a name"  # `type` is a soft keyword: a plain name everywhere else
print(type)
