# Invalid in every Python 3: a parenthesis that is never closed.
total = (1 + 2
print(total)
