# Python 3.11+: PEP 654, exception groups and `except*`.
try:
    raise ExceptionGroup("group", [ValueError(1), TypeError(2)])
except* ValueError as group:
    print(group.exceptions)
except* (TypeError, KeyError):
    pass
