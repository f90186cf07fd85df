# Python 3.8+: PEP 570, positional-only parameters.
def f(a, b, /, c, d=4, *, e, f=6):
    return a, b, c, d, e, f


g = lambda x, /, y: x + y
