# Invalid in every Python 3: an unexpected indent.
def f():
    x = 1
        y = 2
    return x + y
