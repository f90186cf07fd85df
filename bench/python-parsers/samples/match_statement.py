# Python 3.10+: PEP 634, structural pattern matching.
def describe(command):
    match command.split():
        case [action]:
            return action
        case ["go", ("north" | "south") as direction]:
            return direction
        case {"x": int(x), **rest} if x > 0:
            return rest
        case Point(x=0, y=0):
            return "origin"
        case [1, 2, *others]:
            return others
        case _:
            return None


match = 1  # `match` and `case` are soft keywords: plain names everywhere else
case = match
