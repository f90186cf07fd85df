# Python 3.9+: PEP 614, any expression as a decorator.
handlers = [lambda f: f]


@handlers[0]
def first(): ...


@(lambda f: f)
def second(): ...


@handlers[0] if handlers else None
def third(): ...
