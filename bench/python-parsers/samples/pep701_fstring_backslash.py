# Python 3.12+: PEP 701, backslashes inside replacement fields.
words = ["a", "b"]
print(f"{'\n'.join(words)}")
