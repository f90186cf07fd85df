# Python 3.12+: PEP 701, replacement fields of a single-quoted f-string may span lines and hold comments.
values = [1, 2, 3]
print(f"total: {
    sum(values)  # a comment inside the replacement field
}")
