# Python 3.8+: PEP 572, assignment expressions.
import re

if (m := re.match(r"\d+", "42")) is not None:
    print(m.group())
while chunk := input():
    pass
doubled = [y for x in range(5) if (y := x * 2) > 2]
print(f"{(z := 10)}")
