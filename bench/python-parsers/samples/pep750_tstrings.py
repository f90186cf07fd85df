# Python 3.14+: PEP 750, template strings.
name = "world"
greeting = t"Hello {name}!"
pattern = rt"\d+ {name}"
aligned = t"{name!r:>{10}}"
