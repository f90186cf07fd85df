# Python 3.9+: parenthesized context managers (accepted by 3.9's new parser, documented from 3.10).
with (
    open("a") as a,
    open("b") as b,
):
    pass
