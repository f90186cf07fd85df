# Python 3.12+: PEP 701, f-strings may reuse their own quotes inside replacement fields.
songs = ["Take me back to Eden", "Alkaline", "Ascensionism"]
print(f"This is the playlist: {", ".join(songs)}")
print(f"{f"{f"{1 + 1}"}"}")
point = {"x": 1}
print(f"{point["x"]}")
