# Python 3.14+: PEP 758, `except` may list several exceptions without parentheses (when there is no `as`).
try:
    pass
except ValueError, TypeError:
    pass
