# Invalid in every Python 3: the Python 2 print statement.
print "hello"
