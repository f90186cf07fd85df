# Invalid in every Python 3: a dedent to a column that no enclosing block started at.
if True:
        x = 1
    y = 2
